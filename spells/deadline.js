// deadline: give slow work a time limit and go on without it when the
// limit passes, with setTimeout and an AbortController; a model call gets
// one it meets.
async function within(ms, work) {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new Error(`over ${ms} ms`)), ms);
  try {
    return await work(ac.signal);
  } catch (e) {
    if (ac.signal.aborted) return `gave up (${e.message})`;
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

// workflow.sleep stands for work that takes ten seconds: the signal, given
// to the waiting call, stops it when the limit passes.
const slow = await within(50, async (signal) => {
  await workflow.sleep(10000, { signal });
  return "finished";
});
print(`slow step: ${slow}`);

const answer = await within(20000, async (signal) => {
  const reply = await llm.chat("Name one colour of the rainbow.", {
    system: "Answer in one word.", max_tokens: 8, temperature: 0, signal,
  });
  return reply.text;
});
print(`model: ${answer}`);
export default [slow, answer];
