export default json.encode({ ok: 1, f: () => 1 });
