-- expect: limit.time
-- The hook must cover coroutines the spell makes, and resume must not catch the limit.
local co = coroutine.create(function() while true do end end)
while true do coroutine.resume(co) end
