local v = { list = { 1, "two", { three = 3 } }, map = { a = { b = { c = "deep" } } } }
local back = json.decode(json.encode(v))
return { back.list[3].three, back.map.a.b.c, #back.list }
