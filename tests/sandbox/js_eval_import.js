// expect: sandbox.denied
// Code built at run time gets the same sandbox.
export default await (0, eval)("import('fs')");
