hooks.before("nope.nothing", () => {});
