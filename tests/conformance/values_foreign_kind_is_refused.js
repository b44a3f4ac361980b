export default json.encode({ co: Symbol("x") });
