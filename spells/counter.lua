-- counter: state that outlives the run. Each run adds one, atomically,
-- even when several spells of the project run at once.
local runs = state.update("counter/runs", function(n) return (n or 0) + 1 end)
print("this project's spells have counted " .. runs .. " runs")
return runs
