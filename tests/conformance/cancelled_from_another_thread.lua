print("started")
while true do end
