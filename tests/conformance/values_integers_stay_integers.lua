local big = 1 << 40
local back = json.decode(json.encode({ n = big, small = 3 }))
return { back.n, back.small, math.type(back.n), json.encode(7) }
