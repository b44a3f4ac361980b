-- expect: limit.time
while true do end
