// streaming: pieces as they arrive; returning false stops the stream.
const opts = {system: "Answer briefly.", max_tokens: 40, temperature: 0};
let pieces = 0;
const whole = await llm.stream("Count from one to five in words.", opts, (piece) => {
  pieces++;
});
print(whole.text);
const first = [];
const cut = await llm.stream("List three fruits.", opts, (piece) => {
  first.push(piece);
  return first.length < 3;
});
print(`stopped after ${first.length} pieces: ${cut.text}`);
export default {pieces, stopped_at: first.length};
