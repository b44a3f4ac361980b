return json.encode({ ok = 1, f = function() end })
