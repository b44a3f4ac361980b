local seen = {}
events.on("a.*", function(e) seen[#seen + 1] = "a.* " .. e.topic end)
events.on("*", function(e) seen[#seen + 1] = "* " .. e.topic end)
events.emit("a.b")
events.emit("b.a")
return seen
