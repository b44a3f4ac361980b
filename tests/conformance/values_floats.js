export default [json.encode(0.5), json.decode("1.25"), 0.1 + 0.2];
