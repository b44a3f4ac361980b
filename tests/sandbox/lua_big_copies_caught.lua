-- expect: limit.time
-- A pcall around the copies cannot catch the stop: once the run is
-- stopped every allocation fails, and the failure is the stop's reason.
local s = string.rep("a", 2^20)
while true do
  pcall(function() return s .. s end)
  pcall(string.rep, s, 2)
end
