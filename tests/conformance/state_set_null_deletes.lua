state.set("k", "v")
state.set("k", nil)
return state.keys()
