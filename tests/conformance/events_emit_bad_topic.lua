events.emit("bad.*", {})
