state.set("user", { name = "ada", langs = { "lua", "js" } })
state.set("count", 3)
return { state.get("user"), state.get("count") }
