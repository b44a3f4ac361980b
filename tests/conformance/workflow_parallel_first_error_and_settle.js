const fns = [
  async () => { await workflow.sleep(300); state.set("late", true); return 1; },
  () => { const e = new Error("tool.failed: second broke"); throw e; },
];
let ok = true, err = null;
try { await workflow.parallel(fns); } catch (e) { ok = false; err = e.message; }
const settled = await workflow.parallel(fns, {settle: true});
export default {ok, err, late: state.get("late"), settled};
