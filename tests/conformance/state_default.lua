return { state.get("missing", 5), state.get("missing") == nil }
