for (let i = 0; i < 10; i++) {
  state.update("counter", (old) => (old ?? 0) + 1);
}
const last = state.update("list", (old) => [...(old ?? []), "x"]);
export default [state.get("counter"), last];
