local t = { name = "loop" }
t.self = { inner = t }
return json.encode(t)
