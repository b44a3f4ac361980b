-- post: JSON to an API, with a token the host holds: the spell only names
-- it ([secrets.notes] in llmspell.toml), and never sees it.
local r = http.request{
  method = "POST",
  url = "http://localhost:8099/notes",
  json = {title = "groceries", items = {"eggs", "milk"}},
  auth = "notes",
}
print("status " .. r.status)
print("saved as " .. r.json.id)
return r.json
