export default state.get("k");
