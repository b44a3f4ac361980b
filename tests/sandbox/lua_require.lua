-- expect: sandbox.denied
return require("socket")
