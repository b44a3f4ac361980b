state.set("k", 1);
export default [state.delete("k"), state.delete("k"), state.get("k", "gone")];
