-- expect: sandbox.denied
return package.loadlib("libc.so.6", "system")
