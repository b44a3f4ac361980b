// Equal-length waits settle in the order they were made, and every job
// queue is drained between two that end together.
const log = [];
await Promise.all([1, 2, 3, 4].map((i) => workflow.sleep(5).then(() => log.push(i))));
print(log.join(","));

const mixed = [];
await Promise.all([30, 5, 20, 10, 1].map((ms) => workflow.sleep(ms).then(() => mixed.push(ms))));
print(mixed.join(","));

const jobs = [];
const a = workflow.sleep(0).then(() => {
  jobs.push("a1");
  return Promise.resolve().then(() => jobs.push("a2"));
});
const b = workflow.sleep(0).then(() => jobs.push("b1"));
await Promise.all([a, b]);
print(jobs.join(","));

// Timers and waits that fall due together, in the order they were set.
const both = [];
await Promise.all([
  new Promise((r) => setTimeout(() => { both.push("t1"); r(); }, 8)),
  workflow.sleep(8).then(() => both.push("s1")),
  new Promise((r) => setTimeout(() => { both.push("t2"); r(); }, 8)),
  workflow.sleep(8).then(() => both.push("s2")),
]);
print(both.join(","));
