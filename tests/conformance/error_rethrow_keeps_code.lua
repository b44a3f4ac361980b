local ok, err = pcall(json.decode, "{")
error(err, 0)
