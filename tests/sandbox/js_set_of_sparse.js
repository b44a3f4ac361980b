// expect: limit.time
new Set(new Array(2 ** 32 - 1));
