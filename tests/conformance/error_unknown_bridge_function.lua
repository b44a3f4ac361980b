return state.nope("x")
