// events: watch what the runtime and the spell itself do.
events.on("state.*", (e) => print(`saw ${e.topic} ${e.data.key}`));
events.on("job.*", (e) => print(`saw ${e.topic} #${e.data.id}`));
state.set("events/last", "now");
events.emit("job.done", { id: 7 });
state.delete("events/last");
export default "done";
