let seen;
hooks.after("json.encode", (call, result) => { seen = call.point + " " + call.args[0] + " -> " + result; });
json.encode("x");
export default seen;
