// expect: limit.time
new Function("while (true) {}")();
