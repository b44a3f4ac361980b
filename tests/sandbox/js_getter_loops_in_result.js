// expect: limit.time
export default { get x() { while (true) {} } };
