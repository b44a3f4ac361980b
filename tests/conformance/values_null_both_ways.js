const v = json.decode('{"a": null, "b": [1, null, 3]}');
export default { a_is_nil: v.a === null, b2_is_nil: v.b[1] === null, b3: v.b[2], enc: json.encode({ x: undefined }) };
