-- expect: limit.time
table.remove(setmetatable({}, { __len = function() return math.maxinteger // 2 end }), 1)
