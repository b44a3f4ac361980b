// structuredClone: deep copies that keep types, shared parts and cycles.
const shared = { v: 1 };
const o = {
  d: new Date(0), m: new Map([[1, { x: 2 }]]), s: new Set([1, 2]), r: /x/gi, arr: [1, , 3],
  n: null, u: undefined, big: 10n, e: new RangeError("bad", { cause: "c" }),
  t: new Uint8Array([1, 2]), a: shared, b: shared, boxed: Object("s"),
};
o.self = o;
const c = structuredClone(o);
print(c !== o, c.self === c, c.a === c.b, c.a !== shared);
print(c.d instanceof Date, c.d.getTime(), c.m.get(1).x, c.s.has(2), c.r.flags, c.r.lastIndex);
print(c.arr.length, 1 in c.arr, "u" in c, c.big, typeof c.boxed, String(c.boxed));
print(c.e instanceof RangeError, c.e.message, c.e.cause, c.t[1], c.t instanceof Uint8Array);
for (const bad of [() => 1, Symbol("s"), { f() {} }, Promise.resolve(), new WeakMap()]) {
  try {
    structuredClone(bad);
    print("cloned?");
  } catch (e) {
    print(e.name, e.message);
  }
}
class K {
  constructor() { this.v = 1; }
  get g() { return 2; }
}
const k = structuredClone(new K());
print(k instanceof K, k.v, k.g);
try {
  structuredClone();
} catch (e) {
  print(e.name);
}
const buf = new ArrayBuffer(4);
const moved = structuredClone(buf, { transfer: [buf] });
print(buf.byteLength, moved.byteLength);
const view = new Uint16Array([1, 2, 3, 4]).subarray(1, 3);
const copied = structuredClone(view);
print(copied.length, copied[0], copied.byteOffset, copied.buffer.byteLength);
