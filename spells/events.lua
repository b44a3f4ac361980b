-- events: watch what the runtime and the spell itself do.
events.on("state.*", function(e) print("saw " .. e.topic .. " " .. e.data.key) end)
events.on("job.*", function(e) print("saw " .. e.topic .. " #" .. e.data.id) end)
state.set("events/last", "now")
events.emit("job.done", { id = 7 })
state.delete("events/last")
return "done"
