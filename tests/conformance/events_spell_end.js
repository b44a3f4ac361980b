events.on("spell.end", (e) => { print("end ok=" + e.data.ok); });
print("main");
