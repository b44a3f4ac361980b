local ok, err = pcall(json.decode, "{")
return { ok, (err:match("^([%w_]+%.[%w_]+):")) }
