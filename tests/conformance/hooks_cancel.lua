hooks.before("state.set", function(call) error("writes are frozen") end)
local ok, err = pcall(state.set, "k", 1)
print(err:sub(1, 12))
return { ok, state.get("k", "none") }
