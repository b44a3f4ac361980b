return state.get("k")
