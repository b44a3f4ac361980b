-- expect: sandbox.denied
-- Source text through load runs in the same sandbox.
local f = load("return io.open('/etc/passwd')")
return f()
