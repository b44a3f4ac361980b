hooks.after("json.decode", (call, result) => {
  result.redacted = true;
  delete result.secret;
  return { result };
});
export default json.decode('{"secret": "s3cr3t", "ok": 1}');
