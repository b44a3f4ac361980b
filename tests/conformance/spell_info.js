export default [spell.name === "spell_info." + spell.engine, spell.engine === "js", typeof spell.dir];
