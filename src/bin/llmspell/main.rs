//! `llmspell`: run, check and explore spells from the command line.
//!
//! Exit status: 0 when the spell succeeded, 1 when it failed, 2 for usage
//! and configuration errors. Results go to stdout as JSON, errors to stderr
//! as `code: message` with `--> file:line`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use llmspell::{Config, EngineKind, Error, ErrorCode, Repl, RunOptions, Runtime, Spell};

/// Printing that never panics: a closed stdout or stderr (`| head -1`)
/// only loses the text.
macro_rules! say {
    ($($t:tt)*) => {{ let _ = writeln!(std::io::stdout().lock(), $($t)*); }};
}
macro_rules! say_raw {
    ($($t:tt)*) => {{ let _ = write!(std::io::stdout().lock(), $($t)*); }};
}
macro_rules! warn {
    ($($t:tt)*) => {{ let _ = writeln!(std::io::stderr().lock(), $($t)*); }};
}

mod dap;
mod init;
mod mcp;
mod runs;

#[global_allocator]
static ALLOC: llmspell::CountingAllocator = llmspell::CountingAllocator;

const USAGE: &str = "\
llmspell: scriptable LLM work in Lua, JavaScript and Rhai

usage:
  llmspell run SPELL [--arg KEY=VALUE]... [--args-json JSON] [--timeout SECS]
                     [--instructions N] [--memory-mb N] [--call-depth N]
                     [--config FILE] [--pretty]
                     [--record CASSETTE] [--replay CASSETTE [--live-after N]]
                     [--no-history]
  llmspell runs [--spell S] [--failed] [--since T] [--limit N] [--json]
  llmspell runs show ID|last [--json]
  llmspell runs diff A B
  llmspell runs export ID --cassette FILE
  llmspell runs rm ID... | --older-than DUR
  llmspell replay ID|last [--live-after N] [--reply N=FILE] [--current]
                          [--pretty] [--no-history]
  llmspell check SPELL [--config FILE]
  llmspell api [--json | --types lua|ts]
  llmspell init [DIR] [--engine lua|js|rhai]
  llmspell repl --engine lua|js|rhai [--config FILE]
  llmspell dap [--port N]
  llmspell mcp serve [DIR | SPELL]... [--http ADDR] [--config FILE]

SPELL is a .lua, .js or .rhai file. The config is the nearest llmspell.toml
from the spell's folder upwards, unless --config names one. The limit flags
override its [limits]; 0 turns a limit off. --record writes every model
exchange to CASSETTE (JSON lines); --replay answers from one with no network,
and --live-after N replays only the first N exchanges, then calls the model.

Every run is kept in the project's .llmspell/history.db (see [history] in
llmspell.toml; --no-history skips one run). `runs` lists them (the project is
the nearest llmspell.toml from the current folder upwards, or --config), `runs
show` prints one whole, `replay` runs one again from what it received, with no
network: --live-after N goes live after N exchanges, --reply N=FILE answers
exchange N with the JSON in FILE and goes live after it (a fork), --current
replays the spell file as it is now instead of the source the run ran. T is a
time back (30m, 2h, 7d) or a date (2026-12-01); DUR is a time back.

`api` prints the spell API; --types lua writes LuaLS annotations of it and
--types ts a TypeScript declaration file, for editors to check spells with.
`init` sets up a project in DIR (default: here): llmspell.toml, a first spell
main.lua (or .js, .rhai), and the type definitions with the editor config
that reads them; a file already there is kept.

`dap` is a Debug Adapter Protocol server for editors (VS Code, nvim-dap,
Helix) on stdin/stdout, or with --port on 127.0.0.1:N; its `launch` takes
`program` (the spell), `args` (spell.args), `replay` (a cassette),
`stopOnEntry` and `noDebug`.

`mcp serve` is an MCP server whose tools are the spells given, and those in
each DIR (default: here), that declare one in their first comment lines (`@tool NAME: what it does`,
`@param NAME[?] TYPE: what it is`; `check` shows them); on stdin/stdout, or on
streamable HTTP at ADDR (127.0.0.1:PORT) with --http. Each call is a run,
kept in the history.
";

enum Command {
    Run(RunArgs),
    Check {
        spell: PathBuf,
        config: Option<PathBuf>,
    },
    Api {
        json: bool,
        types: Option<llmspell::session::Definitions>,
    },
    Repl {
        engine: EngineKind,
        config: Option<PathBuf>,
    },
    Init {
        dir: PathBuf,
        engine: EngineKind,
    },
    Runs(runs::RunsArgs),
    Dap {
        port: Option<u16>,
    },
    McpServe {
        paths: Vec<PathBuf>,
        config: Option<PathBuf>,
        http: Option<std::net::SocketAddr>,
    },
    Help,
    Version,
}

struct RunArgs {
    spell: PathBuf,
    args: serde_json::Map<String, serde_json::Value>,
    timeout: Option<f64>,
    instructions: Option<u64>,
    memory_mb: Option<u64>,
    call_depth: Option<u32>,
    config: Option<PathBuf>,
    pretty: bool,
    cassette: llmspell::provider::CassetteMode,
    no_history: bool,
}

/// The option's value, as text.
fn value_text(p: &mut lexopt::Parser) -> Result<String, Error> {
    lexopt::ValueExt::string(p.value().map_err(usage_error)?).map_err(usage_error)
}

fn number<T: std::str::FromStr>(p: &mut lexopt::Parser, flag: &str) -> Result<T, Error> {
    let text = value_text(p)?;
    text.parse()
        .map_err(|_| usage_error(format!("{flag} wants a whole number, got {text:?}")))
}

pub(crate) fn usage_error(message: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorCode::ConfigInvalid,
        format!("{message}; see `llmspell --help`"),
    )
}

fn parse_args() -> Result<Command, Error> {
    use lexopt::prelude::*;
    let mut p = lexopt::Parser::from_env();
    let sub = match p.next().map_err(usage_error)? {
        Some(Value(v)) => v.string().map_err(usage_error)?,
        Some(Short('h') | Long("help")) | None => return Ok(Command::Help),
        Some(Short('V') | Long("version")) => return Ok(Command::Version),
        Some(other) => return Err(usage_error(other.unexpected())),
    };
    let mut spell = None;
    let mut config = None;
    let mut json = false;
    let mut types = None;
    let mut pretty = false;
    let mut engine = None;
    let mut timeout = None;
    let mut cassette = llmspell::provider::CassetteMode::default();
    let (mut instructions, mut memory_mb, mut call_depth) = (None, None, None);
    let mut args = serde_json::Map::new();
    let mut kv = Vec::new();
    let mut no_history = false;
    let mut port = None;
    let mut http = None;
    let mut mcp_words = Vec::new();
    let mut history = runs::RunsArgs::default();
    let is_runs = matches!(sub.as_str(), "runs" | "replay");
    while let Some(arg) = p.next().map_err(usage_error)? {
        match arg {
            Value(v) if is_runs => history.words.push(v.string().map_err(usage_error)?),
            Long("no-history") if matches!(sub.as_str(), "run" | "replay") => no_history = true,
            Long("json") if sub == "runs" => history.json = true,
            Long("pretty") if sub == "replay" => history.pretty = true,
            Long("failed") if sub == "runs" => history.failed = true,
            Long("current") if sub == "replay" => history.current = true,
            Long(flag @ ("spell" | "since" | "older-than" | "cassette" | "reply")) if is_runs => {
                let flag = flag.to_owned();
                let value = value_text(&mut p)?;
                history.options.push((flag, value));
            }
            Long("limit") if sub == "runs" => history.limit = Some(number(&mut p, "--limit")?),
            Long("live-after") if sub == "replay" => {
                history.live_after = Some(number(&mut p, "--live-after")?)
            }
            Value(v) if spell.is_none() && matches!(sub.as_str(), "run" | "check") => {
                spell = Some(PathBuf::from(v));
            }
            Long("config") => config = Some(PathBuf::from(p.value().map_err(usage_error)?)),
            Long("json") if sub == "api" => json = true,
            Long("types") if sub == "api" => {
                let lang = value_text(&mut p)?;
                types = Some(llmspell::session::Definitions::parse(&lang).ok_or_else(|| {
                    usage_error(format!("--types must be lua or ts, not {lang:?}"))
                })?);
            }
            Long("pretty") if sub == "run" => pretty = true,
            Value(v) if spell.is_none() && sub == "init" => spell = Some(PathBuf::from(v)),
            Long("engine") if sub == "repl" || sub == "init" => {
                let name = value_text(&mut p)?;
                engine = Some(EngineKind::parse(&name).ok_or_else(|| {
                    usage_error(format!("--engine must be lua, js or rhai, not {name:?}"))
                })?);
            }
            Long("arg") if sub == "run" => {
                let text = value_text(&mut p)?;
                let (k, v) = text
                    .split_once('=')
                    .ok_or_else(|| usage_error(format!("--arg wants KEY=VALUE, got {text:?}")))?;
                kv.push((k.to_owned(), v.to_owned()));
            }
            Long("args-json") if sub == "run" => {
                let text = value_text(&mut p)?;
                match serde_json::from_str(&text) {
                    Ok(serde_json::Value::Object(m)) => args.extend(m),
                    Ok(_) => return Err(usage_error("--args-json wants a JSON object")),
                    Err(e) => return Err(usage_error(format!("--args-json is not JSON: {e}"))),
                }
            }
            Long("timeout") if sub == "run" => {
                let text = value_text(&mut p)?;
                let secs: f64 = text
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s >= 0.0)
                    .ok_or_else(|| usage_error(format!("--timeout wants seconds, got {text:?}")))?;
                timeout = Some(secs);
            }
            Long("instructions") if sub == "run" => {
                instructions = Some(number(&mut p, "--instructions")?)
            }
            Long("memory-mb") if sub == "run" => memory_mb = Some(number(&mut p, "--memory-mb")?),
            Long("call-depth") if sub == "run" => {
                call_depth = Some(number(&mut p, "--call-depth")?)
            }
            Long("record") if sub == "run" => {
                cassette.record = Some(PathBuf::from(p.value().map_err(usage_error)?))
            }
            Long("replay") if sub == "run" => {
                cassette.replay = Some(PathBuf::from(p.value().map_err(usage_error)?))
            }
            Long("live-after") if sub == "run" => {
                cassette.live_after = Some(number(&mut p, "--live-after")?)
            }
            Long("port") if sub == "dap" => port = Some(number(&mut p, "--port")?),
            Value(v) if sub == "mcp" => mcp_words.push(v.string().map_err(usage_error)?),
            Long("http") if sub == "mcp" => {
                let text = value_text(&mut p)?;
                http = Some(text.parse().map_err(|_| {
                    usage_error(format!(
                        "--http wants an address such as 127.0.0.1:8700, got {text:?}"
                    ))
                })?);
            }
            Short('h') | Long("help") => return Ok(Command::Help),
            other => return Err(usage_error(other.unexpected())),
        }
    }
    // --arg wins over --args-json for the same key.
    for (k, v) in kv {
        args.insert(k, serde_json::Value::String(v));
    }
    let need_spell = || {
        spell
            .clone()
            .ok_or_else(|| usage_error(format!("`llmspell {sub}` needs a spell file")))
    };
    Ok(match sub.as_str() {
        "run" => Command::Run(RunArgs {
            spell: need_spell()?,
            args,
            timeout,
            instructions,
            memory_mb,
            call_depth,
            config,
            pretty,
            cassette,
            no_history,
        }),
        "check" => Command::Check {
            spell: need_spell()?,
            config,
        },
        "api" => Command::Api { json, types },
        "repl" => Command::Repl {
            engine: engine
                .ok_or_else(|| usage_error("`llmspell repl` needs --engine lua|js|rhai"))?,
            config,
        },
        "runs" | "replay" => {
            history.replay = sub == "replay";
            history.no_history = no_history;
            history.config = config;
            Command::Runs(history)
        }
        "init" => Command::Init {
            dir: spell.unwrap_or_else(|| PathBuf::from(".")),
            engine: engine.unwrap_or(EngineKind::Lua),
        },
        "dap" => Command::Dap { port },
        "mcp" => match &mcp_words[..] {
            [serve, paths @ ..] if serve == "serve" => Command::McpServe {
                paths: match paths {
                    [] => vec![PathBuf::from(".")],
                    some => some.iter().map(PathBuf::from).collect(),
                },
                config,
                http,
            },
            _ => return Err(usage_error("`llmspell mcp` takes `serve [DIR | SPELL]...`")),
        },
        "help" => Command::Help,
        other => return Err(usage_error(format!("unknown command {other:?}"))),
    })
}

pub(crate) fn load_config(explicit: Option<&Path>, dir: &Path) -> Result<Config, Error> {
    match explicit {
        Some(file) => Config::load(file),
        None => Config::discover(dir),
    }
}

fn exit_code(e: &Error) -> u8 {
    match e.code {
        ErrorCode::ConfigInvalid
        | ErrorCode::SpellIo
        | ErrorCode::HistoryCorrupt
        | ErrorCode::HistoryIo
        | ErrorCode::HistoryNoRun => 2,
        _ => 1,
    }
}

fn run(a: RunArgs) -> Result<(), Error> {
    let spell = Spell::load(&a.spell)?;
    let mut config = load_config(a.config.as_deref(), &spell.dir)?;
    let limits = &mut config.limits;
    if let Some(t) = a.timeout {
        limits.timeout_secs = t;
    }
    if let Some(n) = a.instructions {
        limits.instructions = n;
    }
    if let Some(n) = a.memory_mb {
        limits.memory_mb = n;
    }
    if let Some(n) = a.call_depth {
        limits.call_depth = n;
    }
    config.limits.validate()?;
    let mut opts = RunOptions::new(config);
    opts.args = a.args;
    if a.cassette.live_after.is_some() && a.cassette.replay.is_none() {
        return Err(usage_error("--live-after goes with --replay"));
    }
    if a.cassette.record.is_some() || a.cassette.replay.is_some() {
        let c = llmspell::provider::Cassette::open(&a.cassette)?;
        opts.cassette = Some(std::sync::Arc::new(std::sync::Mutex::new(c)));
    }
    let recorder = if a.no_history {
        None
    } else {
        runs::recorder(&opts.config, &spell, &a.spell, &opts.args, None)
    };
    if let Some(r) = &recorder {
        r.attach(&mut opts);
    }
    let outcome = Runtime::new().run(&spell, &opts);
    if let Some(r) = recorder {
        runs::keep(r, &outcome);
    }
    if llmspell::runtime::stdout_closed() {
        // Whoever read our output has all they wanted (`| head -1`).
        return Ok(());
    }
    print_value(&outcome.result?, a.pretty);
    Ok(())
}

/// A spell's result on stdout as JSON (nothing for nil/null).
pub(crate) fn print_value(value: &serde_json::Value, pretty: bool) {
    if !value.is_null() {
        let text = if pretty {
            serde_json::to_string_pretty(value)
        } else {
            serde_json::to_string(value)
        };
        say!("{}", text.unwrap_or_default());
    }
}

fn check(spell: &Path, config: Option<&Path>) -> Result<(), Error> {
    let spell = Spell::load(spell)?;
    load_config(config, &spell.dir)?;
    llmspell::engine::check(&spell, &llmspell::Registry::standard())?;
    let declared = spell.signature()?;
    say!("{}: ok", spell.name);
    if let Some(sig) = declared {
        say!("{}", sig.describe());
    }
    Ok(())
}

fn repl(kind: EngineKind, config: Option<&Path>) -> Result<(), Error> {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let config = load_config(config, &cwd)?;
    let history = config
        .project_dir
        .join(".llmspell")
        .join(format!("history-{kind}"));
    let opts = RunOptions::new(config);
    // Engines recurse on the native stack: give the REPL a spell-sized one.
    let worker = std::thread::Builder::new()
        .stack_size(llmspell::runtime::SPELL_STACK)
        .spawn(move || repl_loop(kind, &opts, &history))
        .map_err(|e| Error::new(ErrorCode::SpellError, format!("cannot start the REPL: {e}")))?;
    worker
        .join()
        .unwrap_or_else(|_| Err(Error::new(ErrorCode::SpellError, "the REPL crashed")))
}

fn repl_loop(kind: EngineKind, opts: &RunOptions, history: &Path) -> Result<(), Error> {
    use rustyline::error::ReadlineError;
    let runtime = Runtime::new();
    let mut repl = Repl::new(&runtime, kind, opts)?;
    let helper = Completion(repl.completions());
    let mut editor = rustyline::Editor::<Completion, rustyline::history::DefaultHistory>::new()
        .map_err(|e| {
            Error::new(
                ErrorCode::SpellError,
                format!("cannot open the terminal: {e}"),
            )
        })?;
    editor.set_helper(Some(helper));
    let _ = editor.load_history(history);
    say!("llmspell {kind} REPL; an unfinished entry continues on the next line; Ctrl+D quits");
    loop {
        let prompt = if repl.waiting() {
            "...> ".into()
        } else {
            format!("{kind}> ")
        };
        match editor.readline(&prompt) {
            Ok(line) => {
                let Some(entry) = repl.line(&line) else {
                    continue;
                };
                let _ = editor.add_history_entry(entry.as_str());
                match repl.eval(&entry) {
                    Ok(serde_json::Value::Null) => {}
                    Ok(v) => say!("{v}"),
                    Err(e) => warn!("{}", e.report()),
                }
            }
            Err(ReadlineError::Interrupted) => repl.drop_pending(),
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                return Err(Error::new(ErrorCode::SpellError, format!("terminal: {e}")));
            }
        }
    }
    if let Some(dir) = history.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = editor.save_history(history);
    Ok(())
}

/// Completes globals and bridge functions (`state.g` -> `state.get`).
struct Completion(Vec<String>);

impl rustyline::completion::Completer for Completion {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        let start = line[..pos]
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
            .map_or(0, |i| i + 1);
        let word = &line[start..pos];
        let found = self
            .0
            .iter()
            .filter(|c| c.starts_with(word))
            .cloned()
            .collect();
        Ok((start, found))
    }
}

impl rustyline::hint::Hinter for Completion {
    type Hint = String;
}
impl rustyline::highlight::Highlighter for Completion {}
impl rustyline::validate::Validator for Completion {}
impl rustyline::Helper for Completion {}

fn main() -> ExitCode {
    let command = match parse_args() {
        Ok(c) => c,
        Err(e) => {
            warn!("{}", e.report());
            return ExitCode::from(2);
        }
    };
    let result = match command {
        Command::Help => {
            say_raw!("{USAGE}");
            Ok(())
        }
        Command::Version => {
            say!("llmspell {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Command::Api { json, types } => {
            let r = llmspell::Registry::standard();
            match types {
                Some(lang) => llmspell::runtime::definitions(lang).map(|text| say_raw!("{text}")),
                None if json => {
                    say!("{:#}", r.reference_json());
                    Ok(())
                }
                None => {
                    say_raw!("{}", r.reference_text());
                    Ok(())
                }
            }
        }
        Command::Run(a) => run(a),
        Command::Check { spell, config } => check(&spell, config.as_deref()),
        Command::Repl { engine, config } => repl(engine, config.as_deref()),
        Command::Runs(a) => runs::main(a),
        Command::Init { dir, engine } => init::main(&dir, engine),
        Command::Dap { port } => dap::main(port),
        Command::McpServe {
            paths,
            config,
            http,
        } => mcp::serve(&paths, config.as_deref(), http),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr().lock(), "{}", e.report());
            ExitCode::from(exit_code(&e))
        }
    }
}
