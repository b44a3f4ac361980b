// hooks: change bridge calls on their way. Keys get a namespace before
// they are written, and a secret never leaves json.decode.
hooks.before("state.set", (c) => ({ args: ["hooks/" + c.args[0], c.args[1]] }));
hooks.after("json.decode", (c, result) => {
  if (result && typeof result === "object" && result.api_key) result.api_key = "[redacted]";
  return { result };
});
state.set("greeting", "hi");
const cfg = json.decode('{"api_key": "sk-123", "model": "small"}');
print(cfg.api_key + " " + cfg.model);
export default state.keys("hooks/");
