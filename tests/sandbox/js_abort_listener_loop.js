// expect: limit.time
// An abort listener that loops runs inside the loop's limits too.
const ac = new AbortController();
ac.signal.addEventListener("abort", () => { for (;;); });
setTimeout(() => ac.abort(), 1);
