-- expect: limit.memory
-- A reader that never ends: the chunk grows to the cap, which ends the
-- spell (load does not return it as a message).
local f = load(function() return "1" end)
return "survived"
