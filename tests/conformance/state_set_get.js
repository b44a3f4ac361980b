state.set("user", { name: "ada", langs: ["lua", "js"] });
state.set("count", 3);
export default [state.get("user"), state.get("count")];
