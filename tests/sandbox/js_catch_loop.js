// expect: limit.time
while (true) {
  try { while (true) {} } catch (e) {}
}
