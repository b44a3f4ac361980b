// expect: spell.error
// There is no CommonJS: `require` is absent (a ReferenceError, as in a
// node ES module), so code that probes for it is not misled.
export default require("child_process");
