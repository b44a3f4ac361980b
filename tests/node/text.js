// TextEncoder and TextDecoder.
const enc = new TextEncoder();
print(enc.encoding, Array.from(enc.encode("héllo €😀")).join(" "));
print(Array.from(enc.encode("a\ud800b")).join(" "), enc.encode().length);
const into = new Uint8Array(5);
const r = enc.encodeInto("héllo", into);
print(r.read, r.written, Array.from(into).join(" "));
const r2 = enc.encodeInto("😀", new Uint8Array(3));
print(r2.read, r2.written);
const dec = new TextDecoder();
print(dec.encoding, dec.fatal, dec.ignoreBOM, dec.decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x68, 0x69])));
print(JSON.stringify(dec.decode(new Uint8Array([0x61, 0xff, 0x62, 0xe2, 0x82]))));
try {
  new TextDecoder("utf-8", { fatal: true }).decode(new Uint8Array([0xff]));
} catch (e) {
  print(e.name, e.code, e.message);
}
try {
  new TextDecoder("no-such-thing");
} catch (e) {
  print(e.name, e.code, e.message);
}
const stream = new TextDecoder();
const euro = enc.encode("€");
print(stream.decode(euro.subarray(0, 1), { stream: true }) + "|" + stream.decode(euro.subarray(1), { stream: true }) + "|" + stream.decode());
print(new TextDecoder().decode(euro.buffer), new TextDecoder().decode(new DataView(euro.buffer)), JSON.stringify(new TextDecoder().decode()));
print(new TextDecoder(" UTF8 ").encoding, new TextDecoder("utf-8", { ignoreBOM: true }).decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x68])).length);
const u16 = new TextDecoder("utf-16le");
print(u16.encoding, u16.decode(new Uint8Array([0xff, 0xfe, 0x68, 0, 0x69, 0])));
print(new TextDecoder("shift_jis").decode(new Uint8Array([0x82, 0xa0])), new TextDecoder("gbk").encoding);
try {
  new TextDecoder("replacement");
} catch (e) {
  print(e.name);
}
try {
  dec.decode("text");
} catch (e) {
  print(e.name, e.code);
}
