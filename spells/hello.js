// hello: the smallest spell. Prints a line, logs, returns a value.
const who = spell.args.who ?? "world";
print(`hello, ${who} from ${spell.engine}`);
log.debug("said hello", { who });
export default { greeted: who };
