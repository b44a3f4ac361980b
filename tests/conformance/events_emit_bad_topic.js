events.emit("bad.*", {});
