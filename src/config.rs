//! `llmspell.toml`: found from the spell's folder upwards, or given with
//! `--config`. The folder that holds it is the project: state lives in its
//! `.llmspell/`.
//!
//! Sections this version reads: `[limits]`, `[log]` and `[history]`. Other
//! sections (providers, capabilities) are kept for the parts that use them;
//! a typo in a section we read is an error, never silently ignored.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::error::{Error, ErrorCode, Location, Result};

pub const FILE_NAME: &str = "llmspell.toml";

/// Log levels, lowest first (`[log] level`, the `log.*` bridges).
pub const LOG_LEVELS: [&str; 4] = ["debug", "info", "warn", "error"];

/// Limits on one spell run. Zero turns a limit off.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Wall-clock seconds for the whole run (`limit.time`).
    pub timeout_secs: f64,
    /// The engine's own operations: Lua VM instructions, QuickJS
    /// branch/call ticks, Rhai operations (`limit.instructions`).
    pub instructions: u64,
    /// Memory the spell may hold, in MiB (`limit.memory`).
    pub memory_mb: u64,
    /// Nested script function calls (`limit.depth`). Zero (the default)
    /// leaves each engine as deep as it safely goes: Lua's own limit (about
    /// 200,000 calls, a catchable "stack overflow" as in Lua), QuickJS the
    /// spell thread's stack budget, Rhai 1000 levels; Rhai never goes past
    /// 1000 and QuickJS never past that budget, whatever is set here.
    pub call_depth: u32,
    /// Model calls one run may make (`llm.budget`).
    pub max_llm_calls: u64,
    /// Tokens (input + output) one run's model calls may use (`llm.budget`).
    pub max_tokens: u64,
    /// The most one model reply (or stream, or embedding answer) may hold,
    /// in MiB (`llm.bad_reply`).
    pub max_reply_mb: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout_secs: 300.0,
            instructions: 0,
            memory_mb: 256,
            call_depth: 0,
            max_llm_calls: 0,
            max_tokens: 0,
            max_reply_mb: 32,
        }
    }
}

/// The longest time limit a run may have, in seconds: about 31 years, far
/// past any real run, and far from what a clock can add without overflow.
pub const MAX_TIMEOUT_SECS: f64 = 1e9;
/// The largest memory cap, in MiB (1 TiB).
pub const MAX_MEMORY_MB: u64 = 1 << 20;

impl Limits {
    /// `config.invalid` for a limit no run can have.
    pub fn validate(&self) -> Result<()> {
        let t = self.timeout_secs;
        if !t.is_finite() || !(0.0..=MAX_TIMEOUT_SECS).contains(&t) {
            return Err(Error::new(
                ErrorCode::ConfigInvalid,
                format!("timeout_secs must be a number of seconds from 0 (none) to {MAX_TIMEOUT_SECS:e}, not {t}"),
            ));
        }
        if self.memory_mb > MAX_MEMORY_MB {
            return Err(Error::new(
                ErrorCode::ConfigInvalid,
                format!(
                    "memory_mb must be at most {MAX_MEMORY_MB} (1 TiB), not {}",
                    self.memory_mb
                ),
            ));
        }
        Ok(())
    }

    pub fn timeout(&self) -> Option<Duration> {
        (self.timeout_secs > 0.0).then(|| Duration::from_secs_f64(self.timeout_secs))
    }

    /// The cap on one model reply, in bytes.
    pub fn reply_bytes(&self) -> usize {
        match self.max_reply_mb {
            0 => usize::MAX,
            n => usize::try_from(n)
                .unwrap_or(usize::MAX)
                .saturating_mul(1 << 20),
        }
    }

    pub fn memory_bytes(&self) -> Option<usize> {
        (self.memory_mb > 0).then(|| (self.memory_mb as usize).saturating_mul(1 << 20))
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// The lowest level the command line prints to stderr.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".into(),
        }
    }
}

/// `[providers.NAME]`: where a family of models is served.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// `openai`, `openai_compatible`, `ollama`, `anthropic`, `google`,
    /// `groq`, `deepseek`, `xai`, `mistral`, `openrouter`, `cohere`,
    /// `azure_openai`.
    pub kind: String,
    pub base_url: Option<String>,
    /// The environment variable holding the API key (never the key itself).
    pub api_key_env: Option<String>,
    /// The model used when a call names only the provider.
    pub model: Option<String>,
    /// Seconds a call may take unless the call says otherwise (default 60).
    pub timeout_secs: Option<f64>,
}

/// `[capabilities]`: what the built-in tools may reach. Nothing by default.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Capabilities {
    /// `read_file`, `write_file`, `list_files`: `true` (read and write),
    /// `"read"`, or `false`. Paths stay inside the project folder.
    pub fs: FsAccess,
    /// Hosts `http_get` and `http.request` may reach: `"example.com"`,
    /// `"*.example.com"`. Loopback and private addresses only when named
    /// exactly (`"localhost"`, `"127.0.0.1"`).
    pub net: Vec<String>,
    /// The `[mcp.NAME]` servers the spells may use, by name.
    pub mcp: Vec<String>,
}

/// `[mcp.NAME]`: an MCP server whose tools, resources and prompts the
/// spells may use once `[capabilities] mcp` lists NAME. Either `command`
/// (the server runs as a child process, spoken to on its stdin and stdout)
/// or `url` (streamable HTTP).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McpConfig {
    /// The program and its arguments, run in the project folder.
    #[serde(default)]
    pub command: Vec<String>,
    /// Variables the server gets; it sees none of the host's environment
    /// beyond PATH, HOME, USER, LOGNAME, SHELL, TERM, LANG and TMPDIR.
    #[serde(default)]
    pub env: std::collections::BTreeMap<String, String>,
    /// Host variables passed to the server by name (a token it needs).
    #[serde(default)]
    pub pass_env: Vec<String>,
    /// The server's streamable HTTP endpoint.
    pub url: Option<String>,
    /// A `[secrets.NAME]` sent with each HTTP request, in its header.
    pub auth: Option<String>,
    /// Seconds one request may take (default 60).
    pub timeout_secs: Option<f64>,
    /// Seconds the server may take to start and answer the handshake
    /// (default 30).
    pub start_timeout_secs: Option<f64>,
}

impl McpConfig {
    pub fn timeout(&self) -> Duration {
        Duration::from_secs_f64(self.timeout_secs.unwrap_or(60.0))
    }

    pub fn start_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.start_timeout_secs.unwrap_or(30.0))
    }
}

/// `[secrets.NAME]`: where a secret is (an environment variable), the
/// hosts it may go to, and how it goes (a header, after a prefix).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretConfig {
    pub env: String,
    pub hosts: Vec<String>,
    #[serde(default = "authorization")]
    pub header: String,
    /// Put before the value with a space (`Bearer`); empty: the value alone.
    #[serde(default = "bearer")]
    pub prefix: String,
}

fn authorization() -> String {
    "Authorization".into()
}

fn bearer() -> String {
    "Bearer".into()
}

/// How much of the project folder the file tools may touch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FsAccess {
    #[default]
    None,
    Read,
    ReadWrite,
}

impl<'de> Deserialize<'de> for FsAccess {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Flag(bool),
            Word(String),
        }
        match Raw::deserialize(d)? {
            Raw::Flag(false) => Ok(FsAccess::None),
            Raw::Flag(true) => Ok(FsAccess::ReadWrite),
            Raw::Word(w) if w == "read" => Ok(FsAccess::Read),
            Raw::Word(w) if w == "write" || w == "read-write" => Ok(FsAccess::ReadWrite),
            Raw::Word(w) => Err(serde::de::Error::custom(format!(
                "fs is true, false or \"read\", not {w:?}"
            ))),
        }
    }
}

/// `[defaults]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Defaults {
    /// `"provider/model"` or an alias from `[models]`.
    pub model: Option<String>,
    pub embed_model: Option<String>,
}

/// `[history]`: the runs the project keeps in `.llmspell/`, oldest
/// dropped first past either bound.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HistoryConfig {
    /// Keep runs at all (`--no-history` turns it off for one run).
    pub enabled: bool,
    /// The most runs kept.
    pub keep_runs: u64,
    /// The most the kept runs may take, in MiB.
    pub max_mb: u64,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        HistoryConfig {
            enabled: true,
            keep_runs: 500,
            max_mb: 200,
        }
    }
}

/// A parsed `llmspell.toml`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Config {
    pub limits: Limits,
    pub log: LogConfig,
    pub providers: std::collections::BTreeMap<String, ProviderConfig>,
    pub defaults: Defaults,
    pub capabilities: Capabilities,
    pub history: HistoryConfig,
    /// Aliases: `fast = "local/smollm2"`.
    pub models: std::collections::BTreeMap<String, String>,
    /// `[secrets.NAME]`: credentials the host holds and attaches to
    /// `http.request{auth = "NAME"}`; the spell never sees them.
    pub secrets: std::collections::BTreeMap<String, SecretConfig>,
    /// `[mcp.NAME]`: MCP servers the spells may use (`[capabilities] mcp`).
    pub mcp: std::collections::BTreeMap<String, McpConfig>,
    /// The folder the spells' state belongs to.
    #[serde(skip)]
    pub project_dir: PathBuf,
    /// The file this came from, if any.
    #[serde(skip)]
    pub file: Option<PathBuf>,
    #[serde(flatten)]
    pub other: toml::Table,
}

impl Config {
    /// Defaults for a project in `dir` with no config file.
    pub fn for_dir(dir: &Path) -> Config {
        Config {
            project_dir: dir.to_path_buf(),
            ..Config::default()
        }
    }

    pub fn parse(text: &str, file: &Path) -> Result<Config> {
        let mut config: Config = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start));
            Error::new(
                ErrorCode::ConfigInvalid,
                format!("{}: {}", file.display(), e.message()),
            )
            .at(line.map(|line| Location {
                file: file.display().to_string(),
                line,
            }))
        })?;
        config.validate(file)?;
        config.project_dir = file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        config.file = Some(file.to_path_buf());
        Ok(config)
    }

    pub fn load(file: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(file).map_err(|e| {
            Error::new(
                ErrorCode::ConfigInvalid,
                format!("cannot read {}: {e}", file.display()),
            )
        })?;
        Config::parse(&text, file)
    }

    /// The config for a spell: the nearest `llmspell.toml` from the spell's
    /// folder upwards, or defaults with the spell's folder as the project.
    pub fn discover(spell_dir: &Path) -> Result<Config> {
        let start = std::fs::canonicalize(spell_dir).unwrap_or_else(|_| spell_dir.to_path_buf());
        for dir in start.ancestors() {
            let candidate = dir.join(FILE_NAME);
            if candidate.is_file() {
                return Config::load(&candidate);
            }
        }
        Ok(Config::for_dir(&start))
    }

    fn validate(&self, file: &Path) -> Result<()> {
        let bad = |what: String| {
            Err(Error::new(
                ErrorCode::ConfigInvalid,
                format!("{}: {what}", file.display()),
            ))
        };
        if let Err(e) = self.limits.validate() {
            return bad(format!("[limits] {}", e.message));
        }
        for (name, p) in &self.providers {
            if let Some(t) = p.timeout_secs {
                if !t.is_finite() || t <= 0.0 || t > MAX_TIMEOUT_SECS {
                    return bad(format!(
                        "[providers.{name}] timeout_secs must be a number of seconds above 0 and at most {MAX_TIMEOUT_SECS:e}, not {t}"
                    ));
                }
            }
        }
        for (name, m) in &self.mcp {
            if let Err(what) = m.validate(name, &self.secrets) {
                return bad(format!("[mcp.{name}] {what}"));
            }
        }
        if let Some(name) = self
            .capabilities
            .mcp
            .iter()
            .find(|n| !self.mcp.contains_key(*n))
        {
            return bad(format!(
                "[capabilities] mcp lists {name:?}, but there is no [mcp.{name}] section"
            ));
        }
        if self.history.enabled && (self.history.keep_runs == 0 || self.history.max_mb == 0) {
            return bad(
                "[history] keep_runs and max_mb must be above 0; to keep no runs, set enabled = false"
                    .into(),
            );
        }
        if !LOG_LEVELS.contains(&self.log.level.as_str()) {
            return bad(format!(
                "[log] level must be one of {:?}, not {:?}",
                LOG_LEVELS, self.log.level
            ));
        }
        Ok(())
    }
}

impl McpConfig {
    fn validate(
        &self,
        name: &str,
        secrets: &std::collections::BTreeMap<String, SecretConfig>,
    ) -> std::result::Result<(), String> {
        let word = |s: &str| {
            !s.is_empty()
                && s.len() <= 32
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        };
        if !word(name) || name.contains("__") {
            return Err(
                "the name is up to 32 letters, digits, _ or - (no \"__\"): tools are named NAME/tool"
                    .into(),
            );
        }
        match (&self.command[..], &self.url) {
            ([], None) => return Err("give command = [\"program\", \"arg\"...] or url".into()),
            ([_, ..], Some(_)) => return Err("give command or url, not both".into()),
            ([first, ..], None) if first.is_empty() => {
                return Err("command's program is empty".into())
            }
            _ => {}
        }
        if self.url.is_none() && self.auth.is_some() {
            return Err("auth goes with url: a command's server gets env instead".into());
        }
        if let Some(url) = &self.url {
            let parsed = url::Url::parse(url).map_err(|e| format!("url {url:?}: {e}"))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(format!("url {url:?} is not http or https"));
            }
            if let Some(secret) = &self.auth {
                if !secrets.contains_key(secret) {
                    return Err(format!(
                        "auth names {secret:?}, but there is no [secrets.{secret}]"
                    ));
                }
            }
        }
        for (what, t) in [
            ("timeout_secs", self.timeout_secs),
            ("start_timeout_secs", self.start_timeout_secs),
        ] {
            if let Some(t) = t {
                if !t.is_finite() || t <= 0.0 || t > MAX_TIMEOUT_SECS {
                    return Err(format!(
                        "{what} must be a number of seconds above 0 and at most {MAX_TIMEOUT_SECS:e}, not {t}"
                    ));
                }
            }
        }
        Ok(())
    }
}

fn line_of(text: &str, offset: usize) -> u32 {
    text[..offset.min(text.len())].matches('\n').count() as u32 + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_from_toml_and_defaults() {
        let c = Config::parse(
            "[limits]\ntimeout_secs = 2.5\ninstructions = 1000\n",
            Path::new("p/llmspell.toml"),
        )
        .unwrap();
        assert_eq!(c.limits.timeout(), Some(Duration::from_millis(2500)));
        assert_eq!(c.limits.instructions, 1000);
        assert_eq!(c.limits.memory_mb, 256);
        assert_eq!(c.project_dir, Path::new("p"));
    }

    #[test]
    fn a_typo_is_an_error_with_its_line() {
        let e = Config::parse("\n[limits]\ntimeout = 3\n", Path::new("llmspell.toml")).unwrap_err();
        assert_eq!(e.code, ErrorCode::ConfigInvalid);
        assert_eq!(e.location.unwrap().line, 3);
        assert!(e.message.contains("timeout"), "{}", e.message);
    }

    #[test]
    fn providers_are_read_and_other_sections_kept() {
        let c = Config::parse(
            "[providers.local]\nkind = \"openai\"\n[capabilities]\nfs = true\n",
            Path::new("llmspell.toml"),
        )
        .unwrap();
        assert_eq!(c.providers["local"].kind, "openai");
        assert!(c.other.is_empty());
        assert_eq!(c.capabilities.fs, FsAccess::ReadWrite);
        let e = Config::parse(
            "[providers.local]\nkind = \"openai\"\napi_key = \"sk\"\n",
            Path::new("llmspell.toml"),
        )
        .unwrap_err();
        assert!(e.message.contains("api_key"), "{}", e.message);
    }

    #[test]
    fn history_is_on_by_default_bounded_and_checked() {
        let c = Config::parse("", Path::new("llmspell.toml")).unwrap();
        assert_eq!(c.history, HistoryConfig::default());
        assert!(c.history.enabled);
        assert_eq!((c.history.keep_runs, c.history.max_mb), (500, 200));
        let c = Config::parse(
            "[history]\nkeep_runs = 20\nmax_mb = 5\n",
            Path::new("llmspell.toml"),
        )
        .unwrap();
        assert_eq!((c.history.keep_runs, c.history.max_mb), (20, 5));
        let e = Config::parse("[history]\nkeep = 3\n", Path::new("llmspell.toml")).unwrap_err();
        assert_eq!(e.location.unwrap().line, 2);
        let e =
            Config::parse("[history]\nkeep_runs = 0\n", Path::new("llmspell.toml")).unwrap_err();
        assert!(e.message.contains("enabled = false"), "{}", e.message);
        let off = Config::parse(
            "[history]\nenabled = false\nkeep_runs = 0\n",
            Path::new("llmspell.toml"),
        )
        .unwrap();
        assert!(!off.history.enabled);
    }

    #[test]
    fn a_bad_log_level_is_refused() {
        let e = Config::parse("[log]\nlevel = \"loud\"\n", Path::new("x.toml")).unwrap_err();
        assert!(e.message.contains("loud"));
    }
}
