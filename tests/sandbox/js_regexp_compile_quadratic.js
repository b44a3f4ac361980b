// expect: limit.time
// Compiling a regular expression runs in C with no interrupt, and many
// alternatives (or many characters in one class) cost the square of
// their size: such patterns are refused before QuickJS compiles them.
const alternatives = "a|".repeat(1e6) + "b";
const chars = "[" + Array.from({ length: 60000 }, (_, i) => String.fromCharCode(0x100 + 2 * i)).join("") + "]";
for (;;) {
  for (const p of [alternatives, chars]) {
    try { new RegExp(p); } catch (e) { if (!(e instanceof SyntaxError)) throw e; }
    try { "x".match(p); } catch (e) { if (!(e instanceof SyntaxError)) throw e; }
  }
}
