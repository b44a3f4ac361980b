hooks.before("state.set", function(call) error("writes are frozen") end)
state.set("k", 1)
