const v = { list: [1, "two", { three: 3 }], map: { a: { b: { c: "deep" } } } };
const back = json.decode(json.encode(v));
export default [back.list[2].three, back.map.a.b.c, back.list.length];
