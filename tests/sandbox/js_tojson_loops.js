// expect: limit.time
json.encode({ toJSON() { for (;;) {} } });
