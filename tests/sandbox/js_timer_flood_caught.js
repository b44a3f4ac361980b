// expect: limit.memory
// A spell that catches the refusal and goes on setting timers still ends.
for (;;) {
  try {
    setTimeout(() => {}, 1e9);
  } catch (_) {}
}
