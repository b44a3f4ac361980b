hooks.before("json.encode", function() return 42 end)
json.encode(1)
