state.set("k", "v");
state.set("k", null);
export default state.keys();
