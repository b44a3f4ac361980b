local seen
hooks.after("json.encode", function(call, result) seen = call.point .. " " .. call.args[1] .. " -> " .. result end)
json.encode("x")
return seen
