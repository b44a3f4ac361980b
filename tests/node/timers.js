// setTimeout, setInterval and their clears, as node runs them.
const log = [];
const done = new Promise((resolve) => {
  setTimeout(() => log.push("t30"), 30);
  setTimeout(() => log.push("t0"), 0);
  setTimeout(() => log.push("t1"), 1);
  setTimeout(() => log.push("nan"), NaN);
  setTimeout(() => log.push("neg"), -5);
  setTimeout(() => log.push("str20"), "20");
  const gone = setTimeout(() => log.push("cleared"), 2);
  clearTimeout(gone);
  const byNumber = setTimeout(() => log.push("cleared by number"), 2);
  clearTimeout(+byNumber);
  clearTimeout(undefined);
  clearTimeout(null);
  clearTimeout(123456);
  setTimeout((x, y) => log.push(`args:${x}:${y}`), 3, "a", "b");
  setTimeout(function () { log.push(`this:${typeof this}`); }, 3);
  let n = 0;
  const every = setInterval(() => {
    n += 1;
    if (n === 3) {
      clearInterval(every);
      log.push("interval x3");
    }
  }, 50);
  setTimeout(() => {
    log.push("outer");
    setTimeout(() => log.push("inner"), 0);
    queueMicrotask(() => log.push("micro in outer"));
  }, 40);
  queueMicrotask(() => log.push("micro"));
  Promise.resolve().then(() => log.push("then"));
  setTimeout(resolve, 400);
});
await done;
print(log.join(","));

const t = setTimeout(() => {}, 1000);
print(typeof t, typeof t.ref, typeof t.unref, typeof t.refresh, typeof t.hasRef, t.hasRef());
t.unref();
print(t.hasRef(), t.ref() === t, t.hasRef(), typeof t[Symbol.toPrimitive]());
clearTimeout(t);
clearInterval(setTimeout(() => print("clearInterval clears a timeout too"), 1));
for (const bad of [undefined, "code", 5]) {
  try {
    setTimeout(bad, 1);
  } catch (e) {
    print(e.name, e.code, e.message);
  }
}
// A timer that is not ref'd does not keep the run going; one that is does.
setTimeout(() => print("never runs"), 10000).unref();
setTimeout(() => print("after the top level"), 20);
print("top level ends");
