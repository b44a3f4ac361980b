//! `llmspell runs` and `llmspell replay`: the project's run history.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use llmspell::history::{self, Filter, History, Recorder};
use llmspell::{Config, Error, ErrorCode, RunOptions, Runtime, Spell};

use crate::{load_config, print_value, usage_error};

/// What `runs ...` and `replay ...` were given.
#[derive(Default)]
pub struct RunsArgs {
    /// The words after the command: `show 12`, `diff 3 4`, `rm 1 2`, `12`.
    pub words: Vec<String>,
    /// `--spell`, `--since`, `--older-than`, `--cassette`, `--reply`.
    pub options: Vec<(String, String)>,
    pub json: bool,
    pub pretty: bool,
    pub failed: bool,
    pub current: bool,
    pub limit: Option<usize>,
    pub live_after: Option<usize>,
    pub replay: bool,
    pub no_history: bool,
    pub config: Option<PathBuf>,
}

impl RunsArgs {
    fn option(&self, name: &str) -> Option<&str> {
        self.options
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Starts keeping a run, unless the project keeps none. A history that
/// cannot be opened or written is a warning when the run ends (it is
/// opened beside the run): the run goes on, unkept.
pub fn recorder(
    config: &Config,
    spell: &Spell,
    path: &Path,
    args: &serde_json::Map<String, serde_json::Value>,
    parent: Option<i64>,
) -> Option<Recorder> {
    if !config.history.enabled {
        return None;
    }
    match Recorder::begin(config, spell, path, args, parent) {
        Ok(r) => Some(r),
        Err(e) => {
            warn!("warning: {}; this run is not kept", e.report());
            None
        }
    }
}

/// Keeps how a run ended; a failure to is a warning, never the run's.
pub fn keep(recorder: Recorder, outcome: &llmspell::Outcome) -> Option<i64> {
    match recorder.finish(outcome) {
        Ok(id) => Some(id),
        Err(e) => {
            let report = e.report();
            match report.contains("is not kept") {
                true => warn!("warning: {report}"),
                false => warn!("warning: {report}; this run is not kept"),
            }
            None
        }
    }
}

pub fn main(a: RunsArgs) -> Result<(), Error> {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let config = load_config(a.config.as_deref(), &cwd)?;
    if a.replay {
        return replay(&a, config);
    }
    let words: Vec<&str> = a.words.iter().map(String::as_str).collect();
    match words.as_slice() {
        [] => list(&a, &config),
        ["show", id] => {
            let h = open(&config)?;
            let run = h.get(run_id(&h, id)?)?;
            if a.json {
                say!("{:#}", serde_json::to_value(&run).unwrap_or_default());
            } else {
                say_raw!("{}", history::show(&run));
            }
            Ok(())
        }
        ["diff", x, y] => {
            let h = open(&config)?;
            let (x, y) = (h.get(run_id(&h, x)?)?, h.get(run_id(&h, y)?)?);
            say_raw!("{}", history::diff(&x, &y));
            Ok(())
        }
        ["export", id] => {
            let file = a
                .option("cassette")
                .ok_or_else(|| usage_error("`llmspell runs export ID` needs --cassette FILE"))?;
            let h = open(&config)?;
            let run = h.get(run_id(&h, id)?)?;
            let text = llmspell::provider::cassette_text(&run.exchanges);
            std::fs::write(file, text).map_err(|e| {
                Error::new(
                    ErrorCode::HistoryIo,
                    format!("cannot write the cassette {file}: {e}"),
                )
            })?;
            say!(
                "run {}: {} exchanges written to {file}",
                run.summary.id,
                run.exchanges.len()
            );
            Ok(())
        }
        ["rm", ids @ ..] => remove(&a, &config, ids),
        [other, ..] => Err(usage_error(format!(
            "`llmspell runs {other}` is not a command: runs, runs show, runs diff, runs export, \
             runs rm"
        ))),
    }
}

/// The history, which must exist for anything but the list.
fn open(config: &Config) -> Result<History, Error> {
    History::open_existing(&config.project_dir)?.ok_or_else(|| {
        Error::new(
            ErrorCode::HistoryNoRun,
            format!(
                "no runs are kept in {} yet; the history lives in the project folder (where \
                 llmspell.toml is): run from there, or pass --config",
                config.project_dir.display()
            ),
        )
    })
}

/// `12` or `last`.
fn run_id(h: &History, word: &str) -> Result<i64, Error> {
    if word == "last" {
        return h
            .last()?
            .ok_or_else(|| Error::new(ErrorCode::HistoryNoRun, "no run is kept yet"));
    }
    word.parse()
        .map_err(|_| usage_error(format!("a run id is a number or `last`, not {word:?}")))
}

fn list(a: &RunsArgs, config: &Config) -> Result<(), Error> {
    let now = llmspell::bus::now_ms() as i64;
    let since = match a.option("since") {
        Some(t) => Some(history::parse_since(t, now).ok_or_else(|| {
            usage_error(format!(
                "--since wants a time back (30m, 2h, 7d) or a date (2026-12-01), not {t:?}"
            ))
        })?),
        None => None,
    };
    let filter = Filter {
        spell: a.option("spell").map(str::to_owned),
        failed: a.failed,
        since_ms: since,
        limit: a.limit,
    };
    let runs = match History::open_existing(&config.project_dir)? {
        Some(h) => h.list(&filter)?,
        None => Vec::new(),
    };
    if a.json {
        say!("{:#}", serde_json::to_value(&runs).unwrap_or_default());
    } else if runs.is_empty() {
        say!(
            "no runs kept in {} match; `llmspell run SPELL` keeps every run (the history lives \
             in the project folder, where llmspell.toml is)",
            config.project_dir.display()
        );
    } else {
        say_raw!("{}", history::table(&runs));
    }
    Ok(())
}

fn remove(a: &RunsArgs, config: &Config, ids: &[&str]) -> Result<(), Error> {
    let mut h = open(config)?;
    let removed = match (a.option("older-than"), ids) {
        (Some(t), []) => {
            let ago = history::parse_duration(t).ok_or_else(|| {
                usage_error(format!(
                    "--older-than wants a time back (30m, 2h, 7d), not {t:?}"
                ))
            })?;
            let before = llmspell::bus::now_ms() as i64 - ago.as_millis() as i64;
            h.remove_before(before)?
        }
        (None, ids) if !ids.is_empty() => {
            let ids = ids
                .iter()
                .map(|w| run_id(&h, w))
                .collect::<Result<Vec<_>, _>>()?;
            let removed = h.remove(&ids)?;
            if removed == 0 {
                return Err(history::no_run(&ids));
            }
            removed
        }
        _ => {
            return Err(usage_error(
                "`llmspell runs rm` takes run ids or --older-than DUR",
            ))
        }
    };
    say!("{removed} run(s) removed");
    Ok(())
}

/// `llmspell replay ID`: the run again, from what it received.
fn replay(a: &RunsArgs, config: Config) -> Result<(), Error> {
    let [word] = a.words.as_slice() else {
        return Err(usage_error(
            "`llmspell replay` takes one run id (or `last`)",
        ));
    };
    let h = open(&config)?;
    let run = h.get(run_id(&h, word)?)?;
    drop(h);
    let reply = match a.option("reply") {
        Some(spec) => {
            let (n, file) = spec
                .split_once('=')
                .and_then(|(n, f)| Some((n.parse::<usize>().ok()?, f)))
                .ok_or_else(|| usage_error(format!("--reply wants N=FILE, got {spec:?}")))?;
            let text = std::fs::read_to_string(file)
                .map_err(|e| usage_error(format!("--reply {n}={file}: cannot read it: {e}")))?;
            Some((n, history::fork_reply(&run, n, &text)?))
        }
        None => None,
    };
    if reply.is_some() && a.live_after.is_some() {
        return Err(usage_error(
            "--reply N=FILE goes live after exchange N: leave out --live-after",
        ));
    }
    let forked_at = reply.as_ref().map(|(n, _)| *n);
    let fork = history::Fork {
        live_after: a.live_after,
        reply,
    };
    let spell = history::replay_spell(&run, a.current)?;
    let cassette = history::replay_cassette(&run, &fork)?;
    let mut opts = RunOptions::new(config);
    opts.args = run.summary.args.clone();
    opts.cassette = Some(Arc::new(Mutex::new(cassette)));
    // What the replay prints, to compare with what the run printed.
    let printed = Arc::new(Mutex::new(Vec::new()));
    let sink = opts.output.clone();
    let keep_line = printed.clone();
    opts.output = Arc::new(move |line| {
        if let Ok(mut lines) = keep_line.lock() {
            lines.extend(String::from_utf8_lossy(line).split('\n').map(str::to_owned));
        }
        sink(line);
    });
    let recorder = if a.no_history {
        None
    } else {
        recorder(
            &opts.config,
            &spell,
            Path::new(&run.summary.path),
            &opts.args,
            Some(run.summary.id),
        )
    };
    if let Some(r) = &recorder {
        r.attach(&mut opts);
    }
    let outcome = Runtime::new().run(&spell, &opts);
    let new_id = recorder.and_then(|r| keep(r, &outcome));
    let printed = printed.lock().map(|l| l.clone()).unwrap_or_default();
    let differs = history::compare(&run, &outcome.result, &printed);
    let this = new_id.map_or_else(
        || "this run (not kept)".to_owned(),
        |id| format!("run {id}"),
    );
    let how = match (forked_at, a.live_after) {
        (Some(n), _) => format!("forked run {} at exchange {n}", run.summary.id),
        (None, Some(n)) => format!(
            "replayed run {} to exchange {n}, then went live",
            run.summary.id
        ),
        (None, None) => format!("replayed run {} from its journal", run.summary.id),
    };
    if differs.is_empty() {
        warn!("{this} {how}: the same result and output");
    } else {
        warn!("{this} {how}: it differs");
        for d in &differs {
            warn!("  {d}");
        }
    }
    print_value(&outcome.result?, a.pretty);
    Ok(())
}
