-- expect: sandbox.denied
-- Removing the instruction hook would switch the limits off.
debug.sethook()
while true do end
