-- expect: limit.time
-- Each step copies megabytes in one instruction or one library call, so
-- thousands of steps pass between two instruction hooks: the allocator
-- reads the clock by the bytes allocated.
local s = string.rep("a", 2^20)
local src = string.rep("x=1 ", 2^16)
while true do
  local t = s .. s
  t = s:upper()
  t = string.format("%s%s", s, s)
  load(src)
end
