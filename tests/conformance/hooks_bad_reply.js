hooks.before("json.encode", () => 42);
json.encode(1);
