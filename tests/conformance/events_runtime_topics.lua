local seen = {}
events.on("state.*", function(e) seen[#seen + 1] = e.topic .. " " .. e.data.key end)
state.set("a", 1)
state.update("a", function(v) return v + 1 end)
state.delete("a")
state.delete("a")
return seen
