// expect: limit.memory
export default "x".repeat(2 ** 28).length;
