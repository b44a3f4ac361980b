tool.define{name = "boom", run = function() error("kaput") end}
local ok1, e1 = pcall(tool.call, "boom")
local ok2, e2 = pcall(tool.call, "read_file", {path = "x.txt"})
local ok3, e3 = pcall(tool.call, "http_get", {url = "http://example.com/"})
local ok4, e4 = pcall(tool.define, {name = "calculator", run = function() end})
return {e1 = e1:sub(1, 29), e2 = e2:sub(1, 15), e3 = e3:sub(1, 15), e4 = e4:sub(1, 13)}
