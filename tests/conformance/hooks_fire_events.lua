local seen = {}
events.on("hook.*", function(e) seen[#seen + 1] = e.topic .. " " .. e.data.point end)
hooks.before("json.encode", function() end)
hooks.after("json.encode", function() end)
json.encode(1)
return seen
