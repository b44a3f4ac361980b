// expect: limit.memory
const keep = [];
async function grow(n) { keep.push("x".repeat(1024) + n); await null; return grow(n + 1); }
await grow(0);
