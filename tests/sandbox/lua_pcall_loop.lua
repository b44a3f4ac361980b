-- expect: limit.time
-- Catching the limit error must not let the spell go on.
while true do
  pcall(function() while true do end end)
end
