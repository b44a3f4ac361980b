-- expect: limit.time
local t = setmetatable({}, { __len = function() return math.maxinteger // 2 end })
table.insert(t, 1, "x")
