let running = 0, most = 0;
const fns = [];
for (let i = 1; i <= 6; i++) fns.push(async () => {
  running++;
  if (running > most) most = running;
  await workflow.sleep(100);
  running--;
  return true;
});
await workflow.parallel(fns);
const first = most;
running = 0; most = 0;
await workflow.parallel(fns, {concurrency: 2});
export default {all: most === 2 ? first : most, note: "ok"};
