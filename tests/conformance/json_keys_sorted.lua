return json.encode({ zebra = 1, apple = 2, mango = 3 })
