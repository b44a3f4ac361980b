hooks.before("state.set", (call) => ({ args: ["prefixed/" + call.args[0], call.args[1]] }));
state.set("k", 1);
export default state.keys();
