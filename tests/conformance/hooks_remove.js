const id = hooks.before("json.encode", () => ({ result: "hooked" }));
const a = json.encode(1);
const removed = hooks.remove(id);
export default [a, json.encode(1), removed, hooks.remove(id)];
