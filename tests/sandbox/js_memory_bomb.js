// expect: limit.memory
const t = [];
for (let i = 0; ; i++) t.push("x".repeat(64) + i);
