hooks.before("state.set", (call) => { throw new Error("writes are frozen"); });
state.set("k", 1);
