export default json.encode({ b: [1], a: "x" }, { pretty: true });
