// expect: sandbox.denied
// llmspell's own modules (the prelude and the rest) are loaded into the
// runtime, but no spell may import them by name.
new URL("http://x/");
new AbortController();
for (const name of ["llmspell:arrays", "llmspell:events", "llmspell:url"]) {
  try {
    await import(name);
    throw new Error(`${name} was imported`);
  } catch (e) {
    if (e.message.endsWith("was imported")) throw e;
  }
}
await import("llmspell:prelude");
