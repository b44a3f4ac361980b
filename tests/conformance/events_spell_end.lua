events.on("spell.end", function(e) print("end ok=" .. tostring(e.data.ok)) end)
print("main")
