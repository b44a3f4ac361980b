local id = hooks.before("json.encode", function() return { result = "hooked" } end)
local a = json.encode(1)
local removed = hooks.remove(id)
return { a, json.encode(1), removed, hooks.remove(id) }
