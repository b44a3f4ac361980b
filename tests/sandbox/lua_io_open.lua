-- expect: sandbox.denied
return io.open("/etc/passwd"):read("a")
