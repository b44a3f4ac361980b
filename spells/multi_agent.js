// multi_agent: one agent delegates to another through a tool.
const poet = agent.new({
  name: "poet", temperature: 0, max_steps: 2,
  system: "You write one short line of verse about the topic you are given.",
});
const editor = agent.new({
  name: "editor", temperature: 0, max_steps: 3,
  history: [
    {role: "user", content: "A line about the moon, please."},
    {role: "assistant", content: "", tool_calls: [{id: "ex1", name: "write_verse", arguments: {task: "the moon"}}]},
  ],
  system: "You get verse written by calling the write_verse tool with a task, then reply with the verse.",
  tools: [poet.as_tool({name: "write_verse", description: "asks the poet for a line of verse"})],
});
try {
  print((await editor.run("A line about the sea, please.")).text);
} catch (e) {
  print("gave up: " + e.message);
}
export default {editor: editor.history().length, poet: poet.history().length};
