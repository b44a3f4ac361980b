// mcp_agent: an agent that answers with a tool of an MCP server.
// Models are offered an MCP tool as NAME__tool (their tool names allow no
// "/"), so a worked example names it that way.
/** @type {Message[]} */
const example = [
  {role: "user", content: "What is 2 plus 3?"},
  {role: "assistant", content: "", tool_calls: [{id: "ex1", name: "everything__get-sum", arguments: {a: 2, b: 3}}]},
];
const adder = agent.new({
  name: "adder", max_steps: 3, temperature: 0, history: example,
  system: "Call the everything__get-sum tool with a and b, then answer in one sentence.",
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
