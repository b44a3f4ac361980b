hooks.before("print", (call) => ({ args: ["[spell] " + call.args[0]] }));
print("hello");
