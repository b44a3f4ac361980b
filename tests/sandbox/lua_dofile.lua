-- expect: sandbox.denied
return dofile("/etc/passwd")
