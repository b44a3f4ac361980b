// expect: limit.time
// One long straight-line source, evaled again and again: QuickJS's parser
// runs to its end even when allocations fail, and its interrupt handler
// gets a turn only every 10,000 ticks. A stopped run brings that turn to
// the next tick.
const src = "x=1;".repeat(1 << 16);
for (;;) {
  try { eval(src); } catch (e) {}
}
