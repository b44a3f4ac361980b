// expect: limit.memory
// One refused allocation far past the cap, inside an async function that
// has already waited: the stop's own errors must still find room to
// reject its Promise (QuickJS aborts the process when they cannot).
async function grow() {
  await null;
  return "y".repeat(2 ** 29).length;
}
export default await grow();
