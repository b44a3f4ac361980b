// What the programs here use beyond node's own globals, as llmspell's
// bridges behave: node runs each with `--import ./shim.mjs`.
globalThis.print = (...a) => console.log(...a);
globalThis.workflow = {
  sleep: (ms, opts) =>
    new Promise((resolve, reject) => {
      const signal = opts?.signal;
      if (signal?.aborted) return reject(signal.reason);
      const t = setTimeout(resolve, ms, null);
      signal?.addEventListener("abort", () => { clearTimeout(t); reject(signal.reason); }, { once: true });
    }),
};
