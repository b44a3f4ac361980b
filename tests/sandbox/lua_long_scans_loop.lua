-- expect: limit.time
-- Scans of a long string that allocate nothing: a failed find (plain and
-- pattern), utf8.len, and comparisons, each one step of the VM.
local s = string.rep("a", 2^22)
local t = string.rep("a", 2^22)
local needle = string.rep("a", 2^16) .. "b"
while true do
  local _ = s:find("b", 1, true)
  _ = s:find(needle, 1, true)
  _ = s:find("b")
  _ = utf8.len(s)
  _ = utf8.offset(s, -1)
  _ = s < t
end
