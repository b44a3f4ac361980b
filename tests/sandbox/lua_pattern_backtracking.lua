-- expect: limit.time
-- Catastrophic backtracking inside one call of a built-in: Lua's own
-- matcher never returns to the VM, llmspell's asks the limits as it goes.
return string.find(string.rep("a", 100000), ".-.-.-.-.-b")
