// expect: limit.memory
// QuickJS lets a script catch out-of-memory; the cap must still stop it.
while (true) {
  try {
    const t = [];
    for (let i = 0; ; i++) t.push("x".repeat(64) + i);
  } catch (e) {}
}
