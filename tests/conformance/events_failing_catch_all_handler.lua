local calls = 0
events.on("*", function(e) calls = calls + 1 error("bad handler") end)
events.emit("a")
log.info("b")
return calls
