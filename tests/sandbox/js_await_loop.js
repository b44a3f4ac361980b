// expect: limit.time
// Each await is a separate job; the limit must hold across them.
while (true) { await null; }
