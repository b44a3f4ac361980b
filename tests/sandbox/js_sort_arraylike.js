// expect: limit.time
Array.prototype.sort.call({ length: 2 ** 32 - 1 });
