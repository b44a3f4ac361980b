hooks.before("state.get", (call) => {
  if (call.args[0] === "cached") return { result: "from hook" };
});
state.set("real", "from store");
export default [state.get("cached"), state.get("real")];
