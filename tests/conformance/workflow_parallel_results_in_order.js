const fns = [];
for (let i = 1; i <= 4; i++) fns.push(async () => { await workflow.sleep(50 * (5 - i)); return i; });
export default await workflow.parallel(fns);
