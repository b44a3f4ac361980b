const seen = [];
events.on("job.done", (e) => { seen.push({ topic: e.topic, data: e.data, has_time: e.time_ms > 0 }); });
events.emit("job.done", { id: 7 });
events.emit("job.other", { id: 8 });
export default seen;
