// expect: limit.time
// Each turn makes a long straight-line source and evals it: much work,
// few QuickJS ticks (the interrupt handler's turn comes every 10,000).
// The allocator reads the clock, and a stopped run soon cannot allocate.
for (;;) {
  try { eval("x=1;".repeat(1 << 16)); } catch (e) {}
}
