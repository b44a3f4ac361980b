state.set("k", 1)
return { state.delete("k"), state.delete("k"), state.get("k", "gone") }
