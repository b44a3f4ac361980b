-- expect: limit.memory
json.decode("[" .. string.rep("[1,2,3,4],", 3000000) .. "1]")
