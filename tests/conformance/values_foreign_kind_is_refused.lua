return json.encode({ co = coroutine.create(function() end) })
