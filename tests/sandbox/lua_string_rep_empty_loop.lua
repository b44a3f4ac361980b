-- expect: limit.time
-- Each call returns at once (an empty piece repeated is empty), so only
-- the loop around it runs into the limit.
for i = 1, math.maxinteger do string.rep("", math.maxinteger, "") end
