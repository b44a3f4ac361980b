// Work still pending when the top level ends: the run waits for it, as
// node does, and what it prints comes after the top level's lines.
workflow.sleep(30).then(() => print("late wait"));
setTimeout(() => print("late timer"), 10);
Promise.resolve().then(() => print("job"));
print("top level ends");
