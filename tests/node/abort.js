// AbortController and AbortSignal, and a signal given to a waiting call.
const ac = new AbortController();
print(ac.signal.aborted, ac.signal.reason, ac.signal instanceof EventTarget);
const seen = [];
ac.signal.addEventListener("abort", (e) => seen.push(`${e.type}:${e.target === ac.signal}`));
ac.signal.onabort = () => seen.push("onabort");
ac.signal.addEventListener("abort", () => seen.push("last"));
ac.abort();
ac.abort("again");
print(ac.signal.aborted, ac.signal.reason.name, ac.signal.reason.message, ac.signal.reason instanceof DOMException, seen.join(","));
try {
  ac.signal.throwIfAborted();
} catch (e) {
  print("throwIfAborted", e.name);
}
const given = AbortSignal.abort("why");
print(given.aborted, given.reason);
const timed = AbortSignal.timeout(5);
await workflow.sleep(30);
print(timed.aborted, timed.reason.name, timed.reason.message);
const a1 = new AbortController();
const a2 = new AbortController();
const any = AbortSignal.any([a1.signal, a2.signal]);
a2.abort("second");
print(any.aborted, any.reason);
try {
  new AbortSignal();
} catch (e) {
  print(e.name, e.message);
}

// Cancelling a wait: its Promise rejects with the signal's reason, soon.
const stop = new AbortController();
const started = Date.now();
setTimeout(() => stop.abort(new Error("no longer needed")), 10);
try {
  await workflow.sleep(5000, { signal: stop.signal });
} catch (e) {
  print("cancelled:", e.message, Date.now() - started < 2000);
}
try {
  await workflow.sleep(10, { signal: AbortSignal.abort() });
} catch (e) {
  print("already aborted:", e.name);
}
print("not cancelled:", await workflow.sleep(5, { signal: new AbortController().signal }));
