// tools: define one, call it, offer it to a model (llm.chat does not run it).
const weather = tool.define({
  name: "weather", description: "today's weather in a city",
  params: {type: "object", properties: {city: {type: "string"}}, required: ["city"]},
  run: (args) => ({city: args.city, sky: "clear", celsius: 21}),
});
print(json.encode(await tool.call(weather, {city: "Oslo"})));
print(json.encode(await tool.call("calculator", {expression: "(3 + 4) * 6"})));
try { await tool.call("weather", {town: "Oslo"}); } catch (e) { print(e.code); }
// With a worked example first: small local models need one to call tools.
const reply = await llm.chat([
  {role: "user", content: "What is the weather in Rome?"},
  {role: "assistant", content: "", tool_calls: [{id: "ex1", name: "weather", arguments: {city: "Rome"}}]},
  {role: "user", content: "What is the weather in Paris?"},
], {
  system: "Use the weather tool.", tools: [weather], max_tokens: 60, temperature: 0,
});
print("the model asked for: " + reply.tool_calls.map((c) => c.name).join(", "));
export default tool.list().length;
