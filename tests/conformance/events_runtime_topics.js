const seen = [];
events.on("state.*", (e) => { seen.push(e.topic + " " + e.data.key); });
state.set("a", 1);
state.update("a", (v) => v + 1);
state.delete("a");
state.delete("a");
export default seen;
