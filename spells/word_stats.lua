-- @tool word_stats: Counts the words and lines of a text, finds its longest
--   word and its most frequent ones.
-- @param text string: the text
-- @param top? integer: how many of the most frequent words to list (3)
-- Served to MCP clients by `llmspell mcp serve spells/word_stats.lua`.
local text, top = spell.args.text, spell.args.top or 3
local counts, words, longest = {}, 0, ""
for word in text:lower():gmatch("%a+") do
  words = words + 1
  counts[word] = (counts[word] or 0) + 1
  if #word > #longest then longest = word end
end
local _, breaks = text:gsub("\n", "")
local ranked = {}
for word, n in pairs(counts) do ranked[#ranked + 1] = {word = word, count = n} end
table.sort(ranked, function(a, b)
  if a.count ~= b.count then return a.count > b.count end
  return a.word < b.word
end)
local most = {}
for i = 1, math.min(top, #ranked) do most[i] = ranked[i] end
print(words .. " words on " .. breaks + 1 .. " lines")
return {words = words, lines = breaks + 1, longest = longest, top = most}
