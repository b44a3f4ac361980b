let calls = 0;
hooks.before("state.set", (call) => {
  calls += 1;
  state.set("audit/" + call.args[0], true);
});
state.set("a", 1);
export default [calls, state.keys()];
