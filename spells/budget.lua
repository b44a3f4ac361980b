-- budget: [limits] max_llm_calls (8 in this project) stops the call that would pass it.
local made = 0
local ok, err = pcall(function()
  for i = 1, 20 do
    llm.chat("Say the number " .. i .. ".", {max_tokens = 5, temperature = 0})
    made = made + 1
  end
end)
print("calls made: " .. made)
print(err:match("^[%w._]+"))
return made
