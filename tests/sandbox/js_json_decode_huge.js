// expect: limit.memory
json.decode("[" + "[1,2,3,4],".repeat(3000000) + "1]");
