local order = {}
hooks.before("state.*", function(call) order[#order + 1] = "before1 " .. call.point end)
hooks.before("state.set", function(call) order[#order + 1] = "before2 " .. call.point end)
hooks.after("state.set", function(call) order[#order + 1] = "after " .. call.point end)
events.on("state.set", function(e) order[#order + 1] = "event " .. e.topic end)
state.set("k", 1)
return order
