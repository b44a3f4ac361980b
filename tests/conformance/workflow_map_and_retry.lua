local doubled = workflow.map({5, 6, 7}, function(x, i) return {x * 2, i} end, {concurrency = 2})
local tries = 0
local v = workflow.retry(function()
  tries = tries + 1
  if tries < 3 then error("llm.rate_limited: slow down") end
  return "done"
end, {backoff_ms = 1})
local other = 0
local ok, err = pcall(workflow.retry, function() other = other + 1; error("tool.failed: no") end, {backoff_ms = 1})
local chosen = 0
pcall(workflow.retry, function() chosen = chosen + 1; error("tool.failed: no") end, {backoff_ms = 1, attempts = 2, on = {"tool.failed"}})
return {doubled = doubled, v = v, tries = tries, other = other, err = err, chosen = chosen}
