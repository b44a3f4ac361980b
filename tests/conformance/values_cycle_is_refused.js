const t = { name: "loop" };
t.self = { inner: t };
export default json.encode(t);
