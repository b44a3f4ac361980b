local fns = {
  function() workflow.sleep(300); state.set("late", true); return 1 end,
  function() error("tool.failed: second broke") end,
}
local ok, err = pcall(workflow.parallel, fns)
workflow.sleep(400)
local settled = workflow.parallel(fns, {settle = true})
return {ok = ok, err = err, late = state.get("late"), settled = settled}
