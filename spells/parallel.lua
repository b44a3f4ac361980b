-- parallel: model calls that wait at the same time; results in order.
local function ask(topic)
  return function()
    return llm.chat("One word for " .. topic .. ".", {max_tokens = 8, temperature = 0}).text
  end
end
local words = workflow.parallel({ask("red"), ask("cold"), ask("fast")})
for i, w in ipairs(words) do print(i .. ": " .. w) end
local sizes = workflow.map({"ant", "whale"}, function(animal)
  return llm.chat("Is a " .. animal .. " big or small? One word.", {max_tokens = 4, temperature = 0}).text
end, {concurrency = 2})
print(table.concat(sizes, " / "))
return #words + #sizes
