// expect: limit.time
// JSON.stringify checks a replacer list for duplicates pairwise in C.
const names = [];
for (let i = 0; i < 300000; i++) names.push("k" + i);
for (;;) {
  try { JSON.stringify({ a: 1 }, names); } catch (e) { if (!(e instanceof RangeError)) throw e; }
}
