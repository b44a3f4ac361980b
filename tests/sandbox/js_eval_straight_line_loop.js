// expect: limit.time
// Each eval compiles a long straight-line source: much work, few QuickJS
// ticks (the interrupt handler's turn comes every 10,000). The allocator
// reads the clock, and a stopped run's compiles fail until the stop is
// raised.
const src = "x = 1;".repeat(1 << 16);
for (;;) {
  try { eval(src); } catch (e) {}
}
