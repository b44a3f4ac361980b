// expect: limit.memory
json.encode(new Uint8Array(10 << 20));
