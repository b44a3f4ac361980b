local seen = {}
events.on("job.done", function(e) seen[#seen + 1] = { topic = e.topic, data = e.data, has_time = e.time_ms > 0 } end)
events.emit("job.done", { id = 7 })
events.emit("job.other", { id = 8 })
return seen
