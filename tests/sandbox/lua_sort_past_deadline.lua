-- expect: limit.time
-- Sorting a million numbers again and again: the deadline passes inside
-- a sort, which then ends with the limit, never with a result.
local t = {}
for i = 1, 1000000 do t[i] = (i * 7919) % 1000003 end
while true do table.sort(t, function(a, b) return a > b end); table.sort(t) end
