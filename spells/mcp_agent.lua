-- mcp_agent: an agent that answers with a tool of an MCP server.
-- Models are offered an MCP tool as NAME__tool (their tool names allow no
-- "/"), so a worked example names it that way.
local example = {
  {role = "user", content = "What is 2 plus 3?"},
  {role = "assistant", content = "", tool_calls = {{id = "ex1", name = "everything__get-sum", arguments = {a = 2, b = 3}}}},
}
local adder = agent.new{
  name = "adder", max_steps = 3, temperature = 0, history = example,
  system = "Call the everything__get-sum tool with a and b, then answer in one sentence.",
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
