let calls = 0;
events.on("*", (e) => { calls += 1; throw new Error("bad handler"); });
events.emit("a");
log.info("b");
export default calls;
