// expect: limit.time
// QuickJS checks a Proxy's key list pairwise in C: a list of millions is
// refused (RangeError, caught here) before that check, so the loop that
// keeps asking stays stoppable.
const keys = [];
for (let i = 0; i < 300000; i++) keys.push("k" + i);
const p = new Proxy({}, { ownKeys: () => keys });
for (;;) {
  try { Object.keys(p); } catch (e) { if (!(e instanceof RangeError)) throw e; }
}
