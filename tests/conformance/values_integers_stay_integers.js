const big = 2 ** 40;
const back = json.decode(json.encode({ n: big, small: 3 }));
export default [back.n, back.small, Number.isInteger(back.n) ? "integer" : "float", json.encode(7)];
