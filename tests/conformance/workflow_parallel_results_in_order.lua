local fns = {}
for i = 1, 4 do
  fns[i] = function() workflow.sleep(50 * (5 - i)); return i end
end
return workflow.parallel(fns)
