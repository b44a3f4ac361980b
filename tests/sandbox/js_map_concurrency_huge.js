// expect: limit.memory
const items = []; for (let i = 0; i < 200000; i++) items.push(i);
await workflow.map(items, async (x) => { await workflow.sleep(1); return x; }, { concurrency: 1e6 });
