tool.define({name: "boom", run: () => { throw new Error("kaput"); }});
const msg = async (p) => { try { await p(); return "none"; } catch (e) { return e.message; } };
const e1 = await msg(() => tool.call("boom"));
const e2 = await msg(() => tool.call("read_file", {path: "x.txt"}));
const e3 = await msg(() => tool.call("http_get", {url: "http://example.com/"}));
const e4 = await msg(() => tool.define({name: "calculator", run: () => 1}));
export default {e1: e1.slice(0, 29), e2: e2.slice(0, 15), e3: e3.slice(0, 15), e4: e4.slice(0, 13)};
