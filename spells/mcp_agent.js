// mcp_agent: an agent that answers with a tool of an MCP server.
// Models are offered an MCP tool as NAME__tool (their tool names allow no
// "/"), so a worked example names it that way.
/** @type {Message[]} */
const example = [
  {role: "user", content: "What is 2 plus 3?"},
  {role: "assistant", content: "", tool_calls: [{id: "ex1", name: "everything__get-sum", arguments: {a: 2, b: 3}}]},
  {role: "tool", tool_call_id: "ex1", content: "The sum of 2 and 3 is 5."},
  {role: "assistant", content: "2 plus 3 is 5."},
];
const adder = agent.new({
  name: "adder", max_steps: 3, temperature: 0, history: example,
  system: "You add numbers with the get-sum tool, then answer in one sentence.",
  tools: ["everything/get-sum"],
});
try {
  const answer = await adder.run("What is 19 plus 23?");
  for (const step of answer.steps) print(`${step.tool} said: ${step.result}`);
  print("answer: " + answer.text);
} catch (e) {
  print("gave up: " + e.message);
}
export default {messages: adder.history().length};
