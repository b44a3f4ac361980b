hooks.before("nope.nothing", function() end)
