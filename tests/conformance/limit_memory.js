const t = [];
for (let i = 0; i < 1e9; i++) t.push("x".repeat(64) + i);
