hooks.before("print", function(call) return { args = { "[spell] " .. call.args[1] } } end)
print("hello")
