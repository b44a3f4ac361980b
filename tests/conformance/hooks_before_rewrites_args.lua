hooks.before("state.set", function(call)
  return { args = { "prefixed/" .. call.args[1], call.args[2] } }
end)
state.set("k", 1)
return state.keys()
