for _, k in ipairs({ "b/2", "a/1", "b/1", "c" }) do state.set(k, true) end
return { all = state.keys(), b = state.keys("b/"), none = state.keys("zzz") }
