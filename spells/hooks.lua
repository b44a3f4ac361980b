-- hooks: change bridge calls on their way. Keys get a namespace before
-- they are written, and a secret never leaves json.decode.
hooks.before("state.set", function(c)
  return { args = { "hooks/" .. c.args[1], c.args[2] } }
end)
hooks.after("json.decode", function(c, result)
  if type(result) == "table" and result.api_key then result.api_key = "[redacted]" end
  return { result = result }
end)
state.set("greeting", "hi")
local cfg = json.decode('{"api_key": "sk-123", "model": "small"}')
print(cfg.api_key .. " " .. cfg.model)
return state.keys("hooks/")
