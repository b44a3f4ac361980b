// URL and URLSearchParams (WHATWG URL).
const u = new URL("https://user:pw@example.com:8080/a/b/../c?x=1&y=2#frag");
print(u.href, u.origin, u.protocol, u.username, u.password, u.host, u.hostname, u.port, u.pathname, u.search, u.hash);
print(new URL("../d?q", "https://e.com/a/b/c").href, new URL("HTTPS://EXAMPLE.com:443/").href);
try {
  new URL("nope");
} catch (e) {
  print(e.name, e.code, e.message, e.input);
}
try {
  new URL("/a", "also nope");
} catch (e) {
  print(e.name, e.code, e.input, e.base);
}
print(URL.canParse("x:"), URL.canParse("/a"), URL.canParse("/a", "http://h"));
u.searchParams.append("z", "a b&c");
print(u.search, u.href);
u.search = "?k=v";
print(u.searchParams.get("k"), [...u.searchParams].length);
u.hash = "h2";
u.pathname = "/new path";
u.port = "99";
u.protocol = "http";
u.hostname = "other.org";
print(u.href);
u.port = "abc";
print(u.port);
u.searchParams.delete("k");
print(u.href);
try {
  u.href = "not a url";
} catch (e) {
  print(e.name, e.code);
}
const p = new URLSearchParams("a=1&b=2&a=3");
print(p.getAll("a").join(), p.get("c"), p.has("b"), p.has("a", "3"), p.size, p.toString());
p.set("a", "9");
p.delete("b");
p.append("0", "x");
p.sort();
print(p.toString());
print(new URLSearchParams({ x: "1", y: "é ?" }).toString(), new URLSearchParams([["k", "v"]]).toString(), new URLSearchParams("?q=%20+x").get("q"));
const seen = [];
new URLSearchParams("b=1&a=2").forEach((v, k) => seen.push(k + v));
print(seen.join(), [...new URLSearchParams("a=1&b=2").keys()].join(), [...new URLSearchParams("a=1&b=2").values()].join());
print(JSON.stringify({ u: new URL("http://a.com/x") }), String(new URL("http://a.com")));
print(new URL("http://münchen.de/").hostname, new URL("file:///tmp/x").pathname, new URL("http://[::1]:80/").host);
print(URL.parse("nope"), URL.parse("/x", "http://h.com").href);
