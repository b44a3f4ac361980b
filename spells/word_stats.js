// @tool word_stats: Counts the words and lines of a text, finds its longest
//   word and its most frequent ones.
// @param text string: the text
// @param top? integer: how many of the most frequent words to list (3)
// Served to MCP clients by `llmspell mcp serve spells/word_stats.js`.
const text = spell.args.text, top = spell.args.top ?? 3;
const counts = new Map();
let words = 0, longest = "";
for (const word of text.toLowerCase().match(/[a-z]+/g) ?? []) {
  words += 1;
  counts.set(word, (counts.get(word) ?? 0) + 1);
  if (word.length > longest.length) longest = word;
}
const lines = text.split("\n").length;
const ranked = [...counts].map(([word, count]) => ({word, count}))
  .sort((a, b) => b.count - a.count || (a.word < b.word ? -1 : 1));
print(`${words} words on ${lines} lines`);
export default {words, lines, longest, top: ranked.slice(0, top)};
