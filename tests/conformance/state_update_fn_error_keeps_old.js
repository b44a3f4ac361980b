state.set("k", 1);
let ok = true;
try { state.update("k", (old) => { throw new Error("nope"); }); } catch (e) { ok = false; }
export default [ok, state.get("k")];
