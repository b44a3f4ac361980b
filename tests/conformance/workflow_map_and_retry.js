const doubled = await workflow.map([5, 6, 7], (x, i) => [x * 2, i + 1], {concurrency: 2});
let tries = 0;
const v = await workflow.retry(() => {
  tries++;
  if (tries < 3) throw new Error("llm.rate_limited: slow down");
  return "done";
}, {backoff_ms: 1});
let other = 0, err = null;
try { await workflow.retry(() => { other++; throw new Error("tool.failed: no"); }, {backoff_ms: 1}); } catch (e) { err = e.message; }
let chosen = 0;
try { await workflow.retry(() => { chosen++; throw new Error("tool.failed: no"); }, {backoff_ms: 1, attempts: 2, on: ["tool.failed"]}); } catch (e) {}
export default {doubled, v, tries, other, err, chosen};
