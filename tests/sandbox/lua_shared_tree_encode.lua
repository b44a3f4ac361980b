-- expect: limit.memory
local x = {1}
for i = 1, 22 do x = {x, x} end
json.encode(x)
