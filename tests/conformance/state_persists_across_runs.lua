local runs = state.update("runs", function(n) return (n or 0) + 1 end)
return { runs = runs, note = state.get("note") }
