// counter: state that outlives the run. Each run adds one, atomically,
// even when several spells of the project run at once.
const runs = state.update("counter/runs", (n) => (n ?? 0) + 1);
print(`this project's spells have counted ${runs} runs`);
export default runs;
