-- expect: limit.time
table.concat(setmetatable({}, { __len = function() return math.maxinteger end, __index = function() return "" end }))
