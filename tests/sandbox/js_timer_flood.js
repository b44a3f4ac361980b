// expect: limit.memory
// Timers set without end: each is charged to the memory cap.
for (;;) setTimeout(() => {}, 1e9);
