// crypto.randomUUID and getRandomValues, and Math.random: their shapes (the
// numbers differ from run to run unless the run is given a seed).
const ids = new Set();
for (let i = 0; i < 100; i++) ids.add(crypto.randomUUID());
print(ids.size, [...ids].every((id) => /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(id)));
const v = crypto.getRandomValues(new Uint32Array(8));
print(v.length, v instanceof Uint32Array, new Set(v).size > 1);
const same = new Uint8Array(4);
print(crypto.getRandomValues(same) === same);
print(crypto.getRandomValues(new BigUint64Array(2)).length);
for (const bad of [new Float64Array(1), new Uint8Array(65537), [1, 2]]) {
  try {
    crypto.getRandomValues(bad);
  } catch (e) {
    print(e.name);
  }
}
let low = 1, high = 0;
for (let i = 0; i < 10000; i++) {
  const x = Math.random();
  if (x < low) low = x;
  if (x > high) high = x;
}
print(low >= 0 && low < 0.01, high < 1 && high > 0.99);
