local levels = {}
events.on("log", function(e) levels[#levels + 1] = e.data.level end)
log.debug("d")
log.info("i")
log.warn("w")
log.error("e")
return levels
