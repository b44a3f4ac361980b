state.set("k", 1)
local ok, err = pcall(state.update, "k", function(old) error("nope") end)
return { ok, state.get("k") }
