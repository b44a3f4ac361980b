let n = 0;
events.on("*", (e) => {
  n += 1;
  events.emit("echo", { from: e.topic });
});
events.emit("start");
export default n;
