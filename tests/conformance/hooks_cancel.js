hooks.before("state.set", (call) => { throw new Error("writes are frozen"); });
let ok = true;
try { state.set("k", 1); } catch (e) { ok = false; print(e.message.slice(0, 12)); }
export default [ok, state.get("k", "none")];
