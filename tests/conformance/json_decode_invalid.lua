return json.decode("{not json")
