// parallel: model calls that wait at the same time; results in order.
const ask = (topic) => async () =>
  (await llm.chat("One word for " + topic + ".", {max_tokens: 8, temperature: 0})).text;
const words = await workflow.parallel([ask("red"), ask("cold"), ask("fast")]);
words.forEach((w, i) => print(`${i + 1}: ${w}`));
const sizes = await workflow.map(["ant", "whale"], async (animal) =>
  (await llm.chat("Is a " + animal + " big or small? One word.", {max_tokens: 4, temperature: 0})).text,
  {concurrency: 2});
print(sizes.join(" / "));
export default words.length + sizes.length;
