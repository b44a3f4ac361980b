// Event and EventTarget.
const et = new EventTarget();
let n = 0;
const f = () => n++;
et.addEventListener("x", f);
et.addEventListener("x", f);
et.addEventListener("y", f, { once: true });
et.dispatchEvent(new Event("x"));
et.dispatchEvent(new Event("y"));
et.dispatchEvent(new Event("y"));
et.removeEventListener("x", f);
et.dispatchEvent(new Event("x"));
print("calls", n);
const ev = new Event("z", { cancelable: true });
et.addEventListener("z", (e) => e.preventDefault());
print(et.dispatchEvent(ev), ev.defaultPrevented, ev.type, ev.cancelable, ev.bubbles);
print(et.dispatchEvent(new Event("z")));
const order = [];
et.addEventListener("s", () => order.push(1));
et.addEventListener("s", (e) => { order.push(2); e.stopImmediatePropagation(); });
et.addEventListener("s", () => order.push(3));
et.dispatchEvent(new Event("s"));
print(order.join(","));
et.addEventListener("h", { handleEvent: (e) => print("handleEvent", e.type) });
et.dispatchEvent(new Event("h"));
const off = new AbortController();
et.addEventListener("q", () => print("not after abort"), { signal: off.signal });
off.abort();
et.dispatchEvent(new Event("q"));
print(Event.NONE, Event.AT_TARGET, new Event("w").eventPhase, typeof new Event("w").timeStamp);
try {
  et.dispatchEvent({ type: "x" });
} catch (e) {
  print(e.name, e.code);
}
