export default { who: spell.args.who, n: spell.args.n };
