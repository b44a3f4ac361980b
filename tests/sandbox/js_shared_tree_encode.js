// expect: limit.memory
// Twenty-two levels of one array shared twice: small in the engine, four
// million leaves once copied.
let x = [1];
for (let i = 0; i < 22; i++) x = [x, x];
json.encode(x);
