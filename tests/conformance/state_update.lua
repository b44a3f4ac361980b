for i = 1, 10 do
  state.update("counter", function(old) return (old or 0) + 1 end)
end
local last = state.update("list", function(old)
  old = old or {}
  old[#old + 1] = "x"
  return old
end)
return { state.get("counter"), last }
