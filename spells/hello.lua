-- hello: the smallest spell. Prints a line, logs, returns a value.
local who = spell.args.who or "world"
print("hello, " .. who .. " from " .. spell.engine)
log.debug("said hello", { who = who })
return { greeted = who }
