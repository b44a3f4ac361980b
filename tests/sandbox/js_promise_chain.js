// expect: limit.time
// An endless stream of promise jobs, none kept.
const spin = () => { Promise.resolve().then(spin); };
spin();
await new Promise(() => {});
