-- expect: limit.time
while true do
  pcall(string.gsub, string.rep("a", 100000), "(.-)(.-)(.-)b", "%1")
end
