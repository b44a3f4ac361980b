-- expect: limit.memory
-- A slow built-in that allocates in one call.
return #string.rep("x", 1e9)
