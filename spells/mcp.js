// mcp: an MCP server's tools, prompts and resources, as the spell's own.
// [mcp.everything] in llmspell.toml runs MCP's reference server.
const offered = tool.list().filter((t) => t.server === "everything").length;
print(`everything offers ${offered} tools`);
print(await tool.call("everything/echo", {message: "hello, MCP"}));
print(await tool.call("everything/get-sum", {a: 19, b: 23}));
// Structured results come as values.
const weather = await tool.call("everything/get-structured-content", {location: "New York"});
print(`humidity ${weather.humidity}%`);
const prompt = await mcp.prompt("everything", "args-prompt", {city: "Lisbon"});
print(`${prompt.messages[0].role}: ${prompt.messages[0].content}`);
const docs = await mcp.resources("everything");
const text = await mcp.read("everything", docs[0].uri);
export default {resources: docs.length, first: docs[0].name, heading: text.split("\n")[0]};
