//! A spell: its source, its language, and what it can ask about itself.
//!
//! Plain data, read from a file or given as text; nothing here runs a spell.

mod signature;

pub use signature::{valid_name, Param, Signature};

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorCode, Result};
use crate::value::{Map, Value};

/// The largest spell file `Spell::load` reads.
pub const MAX_SOURCE_BYTES: u64 = 64 << 20;

/// A spell to run: its source and where it came from.
#[derive(Debug, Clone)]
pub struct Spell {
    /// The file name errors and events show (`hello.lua`).
    pub name: String,
    /// The folder the spell lives in (`spell.dir`).
    pub dir: PathBuf,
    /// The file's bytes. Lua takes any bytes (a string literal may hold
    /// Latin-1); JavaScript and Rhai read UTF-8 text.
    pub source: Vec<u8>,
    pub engine: EngineKind,
}

impl Spell {
    /// Reads a spell file; the engine follows from the extension.
    pub fn load(path: &Path) -> Result<Spell> {
        use std::io::Read;
        let engine = EngineKind::from_path(path)?;
        let cannot = |e: &dyn std::fmt::Display| {
            Error::new(
                ErrorCode::SpellIo,
                format!("cannot read {}: {e}", path.display()),
            )
        };
        let file = std::fs::File::open(path).map_err(|e| cannot(&e))?;
        if !file.metadata().map_err(|e| cannot(&e))?.is_file() {
            return Err(cannot(&"not a regular file"));
        }
        let mut bytes = Vec::new();
        file.take(MAX_SOURCE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| cannot(&e))?;
        if bytes.len() as u64 > MAX_SOURCE_BYTES {
            return Err(cannot(&format!(
                "a spell file may be at most {} MiB",
                MAX_SOURCE_BYTES >> 20
            )));
        }
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        Ok(Spell {
            name,
            dir,
            source: bytes,
            engine,
        })
    }

    /// What the spell declares of itself in its leading comments (a tool's
    /// name, description and params); `None` when it declares nothing.
    pub fn signature(&self) -> Result<Option<Signature>> {
        let comment = match self.engine {
            EngineKind::Lua => "--",
            EngineKind::Js | EngineKind::Rhai => "//",
        };
        Signature::parse(&self.name, &self.source, comment)
    }

    /// A spell from source text, for tests, the REPL and library users.
    pub fn from_source(name: &str, source: &str) -> Result<Spell> {
        Ok(Spell {
            name: name.to_owned(),
            dir: PathBuf::from("."),
            source: source.as_bytes().to_vec(),
            engine: EngineKind::from_path(Path::new(name))?,
        })
    }
}

/// What the spell can ask about itself.
#[derive(Debug, Clone)]
pub struct SpellInfo {
    pub name: String,
    pub engine: EngineKind,
    pub dir: PathBuf,
    pub args: serde_json::Map<String, serde_json::Value>,
}

impl SpellInfo {
    /// `spell` as scripts see it.
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert(
            "args".into(),
            Value::from_json(&serde_json::Value::Object(self.args.clone())),
        );
        m.insert("name".into(), Value::str(&self.name));
        m.insert("engine".into(), Value::str(self.engine.as_str()));
        m.insert("dir".into(), Value::str(self.dir.display().to_string()));
        Value::Map(m)
    }
}

/// Spell threads get a large stack: engines recurse on it, and the engines'
/// own depth limits must trip long before it runs out.
pub const SPELL_STACK: usize = 64 << 20;

/// Which language a spell is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    Lua,
    Js,
    Rhai,
}

impl EngineKind {
    pub const ALL: [EngineKind; 3] = [EngineKind::Lua, EngineKind::Js, EngineKind::Rhai];

    pub fn as_str(self) -> &'static str {
        match self {
            EngineKind::Lua => "lua",
            EngineKind::Js => "js",
            EngineKind::Rhai => "rhai",
        }
    }

    pub fn extension(self) -> &'static str {
        self.as_str()
    }

    pub fn parse(name: &str) -> Option<EngineKind> {
        match name {
            "lua" => Some(EngineKind::Lua),
            "js" | "javascript" | "mjs" => Some(EngineKind::Js),
            "rhai" => Some(EngineKind::Rhai),
            _ => None,
        }
    }

    pub fn from_path(path: &Path) -> Result<EngineKind> {
        path.extension()
            .and_then(|e| e.to_str())
            .and_then(EngineKind::parse)
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::ConfigInvalid,
                    format!(
                        "{}: a spell file ends in .lua, .js or .rhai",
                        path.display()
                    ),
                )
            })
    }
}

impl fmt::Display for EngineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
