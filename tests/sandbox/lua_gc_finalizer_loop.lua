-- expect: sandbox.denied
-- Finalizers run with Lua's hooks off, where no limit could stop them.
setmetatable({}, { __gc = function() while true do end end })
collectgarbage()
