local v = json.decode('{"a": null, "b": [1, null, 3]}')
return { a_is_nil = v.a == nil, b2_is_nil = v.b[2] == nil, b3 = v.b[3], enc = json.encode({ x = nil }) }
