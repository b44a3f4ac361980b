events.on("state.set", function() error("handler broke") end)
state.set("saved", "yes")
return state.get("saved")
