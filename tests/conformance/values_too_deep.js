let t = [];
for (let i = 0; i < 200; i++) t = [t];
export default json.encode(t);
