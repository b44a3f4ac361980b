-- expect: limit.time
-- The limit is not caught by pcall around the long call.
while true do pcall(table.sort, setmetatable({}, { __len = function() return 2^31 - 2 end, __index = type, __newindex = rawequal })) end
