// expect: sandbox.denied
export default require("child_process");
