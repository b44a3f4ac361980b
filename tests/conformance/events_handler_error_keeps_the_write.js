events.on("state.set", () => { throw new Error("handler broke"); });
state.set("saved", "yes");
export default state.get("saved");
