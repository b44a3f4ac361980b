local running, most = 0, 0
local fns = {}
for i = 1, 6 do
  fns[i] = function()
    running = running + 1
    if running > most then most = running end
    workflow.sleep(100)
    running = running - 1
    return true
  end
end
workflow.parallel(fns)
local first = most
running, most = 0, 0
workflow.parallel(fns, {concurrency = 2})
return {all = most == 2 and first or most, note = "ok"}
