const h = tool.define({name: "greet", description: "greets", params: {type: "object", properties: {who: {type: "string"}}, required: ["who"]},
  run: (args) => "hello " + args.who});
const seen = [];
events.on("tool.*", (e) => { seen.push(e.topic + ":" + e.data.name); });
const out = await tool.call(h, {who: "Ada"});
let bad = "", missing = "";
try { await tool.call("greet", {who: 3}); } catch (e) { bad = e.message.slice(0, 40); }
try { await tool.call("nope", {}); } catch (e) { missing = e.message.slice(0, 31); }
const names = tool.list().map((t) => t.name + (t.builtin ? "*" : ""));
export default {h, out, bad, missing, names, seen, calc: await tool.call("calculator", {expression: "2 ^ 10 - 24"})};
