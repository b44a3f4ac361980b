// expect: limit.time
// Catastrophic backtracking inside one built-in call.
export default /^(a+)+$/.test("a".repeat(40) + "b");
