// expect: limit.time
// Microtasks that queue themselves forever never let the loop wait.
const again = () => queueMicrotask(again);
again();
