// agent: a model that calls tools until it has an answer.
tool.define({
  name: "stock", description: "how many of an item are in stock",
  params: {type: "object", properties: {item: {type: "string"}}, required: ["item"]},
  run: (args) => ({apples: 12, pears: 0})[args.item] ?? 0,
});
events.on("agent.step", (e) => {
  print(`step ${e.data.step}: ${e.data.tools.length} tool call(s)`);
});
// A worked example to start from: small local models need one to call tools.
// (The type, from `llmspell api --types ts`, is for editors; see the README.)
/** @type {Message[]} */
const example = [
  {role: "user", content: "How many pears are in stock?"},
  {role: "assistant", content: "", tool_calls: [{id: "ex1", name: "stock", arguments: {item: "pears"}}]},
];
const clerk = agent.new({
  name: "clerk", max_steps: 3, temperature: 0, history: example,
  system: "You answer stock questions. Use the stock tool, then answer in one sentence.",
  tools: ["stock", "calculator"],
});
try {
  const answer = await clerk.run("How many apples are in stock?");
  print("answer: " + answer.text);
  print("tools used: " + answer.steps.length);
} catch (e) {
  print("gave up: " + e.message);
}
export default {messages: clerk.history().length};
