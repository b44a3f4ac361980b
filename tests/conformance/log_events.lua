local got = {}
events.on("log", function(e) got[#got + 1] = e.data end)
log.warn("disk low", { free_mb = 12 })
log.info("plain")
return got
