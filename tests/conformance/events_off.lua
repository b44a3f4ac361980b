local n = 0
local id = events.on("tick", function() n = n + 1 end)
events.emit("tick")
local removed = events.off(id)
events.emit("tick")
return { n, removed, events.off(id) }
