-- streaming: pieces as they arrive; returning false stops the stream.
local opts = {system = "Answer briefly.", max_tokens = 40, temperature = 0}
local pieces = 0
local whole = llm.stream("Count from one to five in words.", opts, function(piece)
  pieces = pieces + 1
end)
print(whole.text)
local first = {}
local cut = llm.stream("List three fruits.", opts, function(piece)
  first[#first + 1] = piece
  return #first < 3
end)
print("stopped after " .. #first .. " pieces: " .. cut.text)
return {pieces = pieces, stopped_at = #first}
