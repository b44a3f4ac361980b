const runs = state.update("runs", (n) => (n ?? 0) + 1);
export default { runs, note: state.get("note") };
