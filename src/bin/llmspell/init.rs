//! `llmspell init [DIR]`: a new project, ready for an editor. It writes an
//! `llmspell.toml`, a first spell in the chosen language and, for Lua and
//! JavaScript, the API's type definitions with the editor's config that
//! reads them. A file that is already there is kept as it is, except type
//! definitions this command wrote before, which are written again (an
//! upgrade brings new functions).

use std::io::Write;
use std::path::Path;

use llmspell::session::{Definitions, GENERATED};
use llmspell::{EngineKind, Error, ErrorCode};

const CONFIG: &str = r#"# An llmspell project: this folder and the spells in it. Every key is
# described in the README ("A project and its config").

# Where models are served. A local server needs no key:
# [providers.local]
# kind = "openai_compatible"
# base_url = "http://127.0.0.1:8080/v1"
# model = "my-model"
#
# A hosted one reads its key from a variable, never from this file:
# [providers.openai]
# kind = "openai"
# api_key_env = "OPENAI_API_KEY"
#
# [defaults]
# model = "openai/gpt-4o-mini"
# With no [providers] at all, each provider whose usual variable is set
# (OPENAI_API_KEY, ANTHROPIC_API_KEY, ...) is there under its own name.

[limits]
timeout_secs = 300
max_llm_calls = 50

# What built-in tools may reach; nothing until you say.
[capabilities]
# fs = "read"
# net = ["example.com"]
"#;

const LUA: &str = r#"-- main: a first spell. `llmspell run main.lua` says hello; once a model
-- is set up in llmspell.toml, `llmspell run main.lua --arg ask="Name a
-- colour"` asks it.
local ask = spell.args.ask
if not ask then
  print("hello from " .. spell.engine .. "; give --arg ask=... to ask a model")
  return nil
end
local reply = llm.chat(ask, { max_tokens = 200 })
print(reply.text)
return { tokens = reply.usage.input_tokens + reply.usage.output_tokens }
"#;

const JS: &str = r#"// main: a first spell. `llmspell run main.js` says hello; once a model
// is set up in llmspell.toml, `llmspell run main.js --arg ask="Name a
// colour"` asks it.
const ask = spell.args.ask;
if (!ask) {
  print(`hello from ${spell.engine}; give --arg ask=... to ask a model`);
} else {
  const reply = await llm.chat(ask, { max_tokens: 200 });
  print(reply.text);
}
export default null;
"#;

const RHAI: &str = r#"// main: a first spell. `llmspell run main.rhai` says hello; once a model
// is set up in llmspell.toml, `llmspell run main.rhai --arg ask="Name a
// colour"` asks it.
let ask = spell.args.ask;
if ask == () {
  print(`hello from ${spell.engine}; give --arg ask=... to ask a model`);
  return ();
}
let reply = llm.chat(ask, #{ max_tokens: 200 });
print(reply.text);
#{ tokens: reply.usage.input_tokens + reply.usage.output_tokens }
"#;

const JSCONFIG: &str = r#"{
  "compilerOptions": {
    "checkJs": true,
    "noEmit": true,
    "target": "es2022",
    "module": "es2022",
    "lib": ["es2022"],
    "types": []
  },
  "include": ["**/*.js", "types/llmspell.d.ts"],
  "exclude": ["node_modules", ".llmspell"]
}
"#;

const LUARC: &str = r#"{
  "runtime.version": "Lua 5.4",
  "workspace.library": ["types"]
}
"#;

/// What `write` did with one file.
enum Wrote {
    New,
    Again,
    Kept,
}

/// Writes `text` to `path` unless a file is there; a file this command
/// generated (its start holds `generated`) is written again.
fn write(path: &Path, text: &str, generated: Option<&str>) -> Result<Wrote, Error> {
    let io = |e: std::io::Error| {
        Error::new(
            ErrorCode::ConfigInvalid,
            format!("llmspell init: {}: {e}", path.display()),
        )
    };
    let again = match std::fs::read(path) {
        Ok(old) => match generated {
            Some(mark) if String::from_utf8_lossy(&old[..old.len().min(400)]).contains(mark) => {
                true
            }
            _ => return Ok(Wrote::Kept),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(io(e)),
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    if again {
        // Written beside and renamed over: the old file stays whole until
        // the new one is.
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)?;
        return Ok(Wrote::Again);
    }
    // `create_new`: a file made meanwhile is not overwritten either.
    let mut f = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(Wrote::Kept),
        Err(e) => return Err(io(e)),
    };
    f.write_all(text.as_bytes()).map_err(io)?;
    Ok(Wrote::New)
}

/// Sets up a project in `dir` for spells in `lang`; prints what it wrote.
pub fn main(dir: &Path, lang: EngineKind) -> Result<(), Error> {
    if dir.exists() && !dir.is_dir() {
        return Err(Error::new(
            ErrorCode::ConfigInvalid,
            format!(
                "llmspell init: {} is a file, not a folder; name a folder (it is made if it is not there)",
                dir.display()
            ),
        ));
    }
    // Each file's name, its text, and what marks it as ours to write again.
    let mut files: Vec<(String, String, Option<&str>)> = vec![
        ("llmspell.toml".into(), CONFIG.into(), None),
        (
            format!("main.{}", lang.extension()),
            match lang {
                EngineKind::Lua => LUA,
                EngineKind::Js => JS,
                EngineKind::Rhai => RHAI,
            }
            .into(),
            None,
        ),
    ];
    let types = match lang {
        EngineKind::Lua => Some((Definitions::Lua, ".luarc.json", LUARC)),
        EngineKind::Js => Some((Definitions::Ts, "jsconfig.json", JSCONFIG)),
        EngineKind::Rhai => None,
    };
    if let Some((kind, editor, config)) = types {
        let text = llmspell::runtime::definitions(kind)?;
        files.push((format!("types/{}", kind.file_name()), text, Some(GENERATED)));
        files.push((editor.into(), config.into(), None));
    }
    for (name, text, mark) in files {
        let done = write(&dir.join(&name), &text, mark)?;
        let what = match done {
            Wrote::New => "wrote",
            Wrote::Again => "wrote again",
            Wrote::Kept => "kept (already there)",
        };
        say!("{what} {}", dir.join(&name).display());
    }
    say!(
        "next: cd {} && llmspell run main.{}",
        dir.display(),
        lang.extension()
    );
    Ok(())
}
