hooks.before("state.get", function(call)
  if call.args[1] == "cached" then return { result = "from hook" } end
end)
state.set("real", "from store")
return { state.get("cached"), state.get("real") }
