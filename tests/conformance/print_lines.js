print("hello");
print(42);
print("a b");
