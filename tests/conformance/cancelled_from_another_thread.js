print("started");
while (true) {}
