-- mcp: an MCP server's tools, prompts and resources, as the spell's own.
-- [mcp.everything] in llmspell.toml runs MCP's reference server.
local offered = 0
for _, t in ipairs(tool.list()) do
  if t.server == "everything" then offered = offered + 1 end
end
print("everything offers " .. offered .. " tools")
print(tool.call("everything/echo", {message = "hello, MCP"}))
print(tool.call("everything/get-sum", {a = 19, b = 23}))
-- Structured results come as values.
local weather = tool.call("everything/get-structured-content", {location = "New York"})
print("humidity " .. weather.humidity .. "%")
local prompt = mcp.prompt("everything", "args-prompt", {city = "Lisbon"})
print(prompt.messages[1].role .. ": " .. prompt.messages[1].content)
local docs = mcp.resources("everything")
local text = mcp.read("everything", docs[1].uri)
return {resources = #docs, first = docs[1].name, heading = text:match("^[^\n]+")}
