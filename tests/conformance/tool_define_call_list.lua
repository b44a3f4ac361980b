local h = tool.define{name = "greet", description = "greets", params = {type = "object", properties = {who = {type = "string"}}, required = {"who"}},
  run = function(args) return "hello " .. args.who end}
local seen = {}
events.on("tool.*", function(e) seen[#seen + 1] = e.topic .. ":" .. e.data.name end)
local out = tool.call(h, {who = "Ada"})
local ok1, bad = pcall(tool.call, "greet", {who = 3})
local ok2, missing = pcall(tool.call, "nope", {})
local names = {}
for _, t in ipairs(tool.list()) do names[#names + 1] = t.name .. (t.builtin and "*" or "") end
return {h = h, out = out, bad = bad:sub(1, 40), missing = missing:sub(1, 31), names = names, seen = seen,
  calc = tool.call("calculator", {expression = "2 ^ 10 - 24"})}
