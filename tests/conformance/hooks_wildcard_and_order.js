const order = [];
hooks.before("state.*", (call) => { order.push("before1 " + call.point); });
hooks.before("state.set", (call) => { order.push("before2 " + call.point); });
hooks.after("state.set", (call) => { order.push("after " + call.point); });
events.on("state.set", (e) => { order.push("event " + e.topic); });
state.set("k", 1);
export default order;
