local calls = 0
hooks.before("state.set", function(call)
  calls = calls + 1
  state.set("audit/" .. call.args[1], true)
end)
state.set("a", 1)
return { calls, state.keys() }
