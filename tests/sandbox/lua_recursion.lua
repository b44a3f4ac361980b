-- expect: limit.depth
local function down(n) return down(n + 1) + 1 end
while true do pcall(down, 1) end
