-- mcp_agent: an agent that answers with a tool of an MCP server.
-- Models are offered an MCP tool as NAME__tool (their tool names allow no
-- "/"), so a worked example names it that way.
local example = {
  {role = "user", content = "What is 2 plus 3?"},
  {role = "assistant", content = "", tool_calls = {{id = "ex1", name = "everything__get-sum", arguments = {a = 2, b = 3}}}},
  {role = "tool", tool_call_id = "ex1", content = "The sum of 2 and 3 is 5."},
  {role = "assistant", content = "2 plus 3 is 5."},
}
local adder = agent.new{
  name = "adder", max_steps = 3, temperature = 0, history = example,
  system = "You add numbers with the get-sum tool, then answer in one sentence.",
  tools = {"everything/get-sum"},
}
local ok, answer = pcall(adder.run, adder, "What is 19 plus 23?")
if ok then
  for _, step in ipairs(answer.steps) do
    print(step.tool .. " said: " .. tostring(step.result))
  end
  print("answer: " .. answer.text)
else
  print("gave up: " .. answer)
end
return {messages = #adder:history()}
