return { spell.name == "spell_info." .. spell.engine, spell.engine == "lua", type(spell.dir) }
