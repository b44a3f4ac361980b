const x = 1;
state.set(42, "v");
