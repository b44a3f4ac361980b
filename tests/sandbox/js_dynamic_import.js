// expect: sandbox.denied
const os = await import("os");
export default os.exec(["touch", "/tmp/llmspell-pwned"]);
