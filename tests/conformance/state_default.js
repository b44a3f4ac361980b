export default [state.get("missing", 5), state.get("missing") === null];
