// expect: limit.time
[[new Array(2 ** 32 - 1)]].flat(Infinity);
