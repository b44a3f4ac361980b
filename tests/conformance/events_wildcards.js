const seen = [];
events.on("a.*", (e) => { seen.push("a.* " + e.topic); });
events.on("*", (e) => { seen.push("* " + e.topic); });
events.emit("a.b");
events.emit("b.a");
export default seen;
