let n = 0;
const id = events.on("tick", () => { n += 1; });
events.emit("tick");
const removed = events.off(id);
events.emit("tick");
export default [n, removed, events.off(id)];
