// expect: limit.time
while (true) {}
