const seen = [];
events.on("hook.*", (e) => { seen.push(e.topic + " " + e.data.point); });
hooks.before("json.encode", () => {});
hooks.after("json.encode", () => {});
json.encode(1);
export default seen;
