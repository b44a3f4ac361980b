export default state.nope("x");
