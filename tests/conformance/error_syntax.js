const x = = 1;
