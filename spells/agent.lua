-- agent: a model that calls tools until it has an answer.
tool.define{
  name = "stock", description = "how many of an item are in stock",
  params = {type = "object", properties = {item = {type = "string"}}, required = {"item"}},
  run = function(args) return ({apples = 12, pears = 0})[args.item] or 0 end,
}
events.on("agent.step", function(e)
  print("step " .. e.data.step .. ": " .. #e.data.tools .. " tool call(s)")
end)
-- A worked example to start from: small local models need one to call tools.
local example = {
  {role = "user", content = "How many pears are in stock?"},
  {role = "assistant", content = "", tool_calls = {{id = "ex1", name = "stock", arguments = {item = "pears"}}}},
}
local clerk = agent.new{
  name = "clerk", max_steps = 3, temperature = 0, history = example,
  system = "You answer stock questions. Use the stock tool, then answer in one sentence.",
  tools = {"stock", "calculator"},
}
local ok, answer = pcall(clerk.run, clerk, "How many apples are in stock?")
if ok then
  print("answer: " .. answer.text)
  print("tools used: " .. #answer.steps)
else
  print("gave up: " .. answer)
end
return {messages = #clerk:history()}
