-- tools: define one, call it, offer it to a model (llm.chat does not run it).
local weather = tool.define{
  name = "weather", description = "today's weather in a city",
  params = {type = "object", properties = {city = {type = "string"}}, required = {"city"}},
  run = function(args) return {city = args.city, sky = "clear", celsius = 21} end,
}
print(json.encode(tool.call(weather, {city = "Oslo"})))
print(json.encode(tool.call("calculator", {expression = "(3 + 4) * 6"})))
local ok, err = pcall(tool.call, "weather", {town = "Oslo"})
print(err:match("^[%w._]+"))
-- With a worked example first: small local models need one to call tools.
local reply = llm.chat({
  {role = "user", content = "What is the weather in Rome?"},
  {role = "assistant", content = "", tool_calls = {{id = "ex1", name = "weather", arguments = {city = "Rome"}}}},
  {role = "user", content = "What is the weather in Paris?"},
}, {
  system = "Use the weather tool.", tools = {weather}, max_tokens = 60, temperature = 0,
})
local asked = {}
for _, c in ipairs(reply.tool_calls) do asked[#asked + 1] = c.name end
print("the model asked for: " .. table.concat(asked, ", "))
return #tool.list()
