hooks.after("json.decode", function(call, result)
  result.redacted = true
  result.secret = nil
  return { result = result }
end)
return json.decode('{"secret": "s3cr3t", "ok": 1}')
