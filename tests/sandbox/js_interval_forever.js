// expect: limit.time
// An interval never cleared keeps the run going; the time limit ends it.
setInterval(() => {}, 1);
export default "the top level ends at once";
