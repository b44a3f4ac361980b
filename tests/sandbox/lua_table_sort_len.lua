-- expect: limit.time
table.sort(setmetatable({}, { __len = function() return 2^31 - 2 end, __index = type, __newindex = rawequal }))
