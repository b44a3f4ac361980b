const got = [];
events.on("log", (e) => { got.push(e.data); });
log.warn("disk low", { free_mb: 12 });
log.info("plain");
export default got;
