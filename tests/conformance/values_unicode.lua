local s = json.decode([["caf\u00e9 \u2713 \ud83d\ude00"]])
print(s)
return { s = s }
