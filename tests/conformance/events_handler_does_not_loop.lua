local n = 0
events.on("*", function(e)
  n = n + 1
  events.emit("echo", { from = e.topic })
end)
events.emit("start")
return n
