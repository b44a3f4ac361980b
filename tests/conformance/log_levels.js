const levels = [];
events.on("log", (e) => { levels.push(e.data.level); });
log.debug("d");
log.info("i");
log.warn("w");
log.error("e");
console.error("via console");
export default levels.slice(0, 4);
