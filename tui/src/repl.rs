//! A live REPL per engine, each on its own thread (an engine lives on the
//! thread that made it), so an entry that waits on a model never freezes
//! the screen. Lines go in on a channel; an unfinished entry waits there
//! for its next line (as `llmspell repl` does); printed lines, each entry's
//! value or coded error, and whether the REPL is busy come back to the
//! loop as actions. The REPLs share the IDE's runtime, so their bridge
//! calls reach the same bus (the Events and State panes) as a run's.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};

use llmspell::{Config, EngineKind, Repl, RunOptions, Runtime, StopHandle};

use crate::action::{Action, ReplState};

/// What the loop sends a REPL's thread.
enum Input {
    /// One more line of an entry (or a whole entry).
    Line(String),
    /// Forget the unfinished entry (Ctrl+C).
    Drop,
}

/// One started REPL: its input, and what stops its running entry.
struct Started {
    input: mpsc::Sender<Input>,
    stop: StopHandle,
}

/// The REPLs started so far, one per engine.
#[derive(Default)]
pub struct Repls {
    started: HashMap<EngineKind, Started>,
}

/// `.llmspell/history-ENGINE` of the project in `dir`: the same file the
/// `llmspell repl` command keeps, in its format (rustyline's `#V2`: one
/// entry a line, newlines and backslashes escaped).
pub fn history_file(dir: &Path, kind: EngineKind) -> PathBuf {
    let project = Config::discover(dir).map_or_else(|_| dir.to_path_buf(), |c| c.project_dir);
    project.join(".llmspell").join(format!("history-{kind}"))
}

/// The entries in a history file, oldest first; none when it is missing.
pub fn load_history(path: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    let mut lines = text.lines().peekable();
    let escaped = lines.peek() == Some(&"#V2");
    if escaped {
        lines.next();
    }
    lines
        .filter(|l| !l.is_empty())
        .map(|l| if escaped { unescape(l) } else { l.to_owned() })
        .collect()
}

/// Adds one entry to a history file, creating it (and `.llmspell/`).
pub fn append_history(path: &Path, entry: &str) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let new = !path.exists();
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    if new {
        writeln!(f, "#V2")?;
    }
    writeln!(f, "{}", entry.replace('\\', "\\\\").replace('\n', "\\n"))
}

fn unescape(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match (c, chars.clone().next()) {
            ('\\', Some('n')) => {
                out.push('\n');
                chars.next();
            }
            ('\\', Some('\\')) => {
                out.push('\\');
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out
}

impl Repls {
    /// Starts the `kind` REPL of the project in `dir` on `runtime` if it
    /// has not been; once started it sends the names it completes.
    pub fn open(
        &mut self,
        kind: EngineKind,
        dir: &Path,
        runtime: &Runtime,
        tx: &mpsc::Sender<Action>,
    ) {
        self.started(kind, dir, runtime, tx);
    }

    fn started(
        &mut self,
        kind: EngineKind,
        dir: &Path,
        runtime: &Runtime,
        tx: &mpsc::Sender<Action>,
    ) -> &Started {
        self.started
            .entry(kind)
            .or_insert_with(|| start(kind, dir, runtime.clone(), tx.clone()))
    }

    /// Sends one line to the `kind` REPL, starting it on first use.
    pub fn eval(
        &mut self,
        kind: EngineKind,
        dir: &Path,
        runtime: &Runtime,
        line: String,
        tx: &mpsc::Sender<Action>,
    ) {
        if self
            .started(kind, dir, runtime, tx)
            .input
            .send(Input::Line(line))
            .is_err()
        {
            let _ = tx.send(Action::ReplLine(kind, "the REPL has ended".into()));
            let _ = tx.send(Action::Repl(kind, ReplState::Ready));
            self.started.remove(&kind);
        }
    }

    /// Ctrl+C: stops the `kind` REPL's running entry, drops the lines
    /// sent before now that it has not run, and forgets its unfinished
    /// entry. Lines sent after run as usual.
    pub fn interrupt(&mut self, kind: EngineKind) {
        if let Some(repl) = self.started.get(&kind) {
            repl.stop.stop();
            let _ = repl.input.send(Input::Drop);
        }
    }
}

fn start(kind: EngineKind, dir: &Path, runtime: Runtime, tx: mpsc::Sender<Action>) -> Started {
    let (input, lines) = mpsc::channel::<Input>();
    let config = Config::discover(dir).unwrap_or_else(|_| Config::for_dir(dir));
    let history = history_file(dir, kind);
    let stop = StopHandle::new();
    let mut opts = RunOptions::new(config);
    opts.stop = stop.clone();
    let out = tx.clone();
    opts.output = Arc::new(move |text: &[u8]| {
        let text = String::from_utf8_lossy(text).into_owned();
        let _ = out.send(Action::ReplLine(kind, text));
    });
    opts.log = Arc::new(|_, _, _| {});
    let spawned = std::thread::Builder::new()
        .stack_size(llmspell::runtime::SPELL_STACK)
        .spawn(move || serve(kind, &runtime, &opts, &history, &lines, &tx));
    if spawned.is_err() {
        let (dead, _) = mpsc::channel();
        return Started { input: dead, stop };
    }
    Started { input, stop }
}

/// A REPL's thread: reads lines until the IDE goes, running each entry
/// once it is whole.
fn serve(
    kind: EngineKind,
    runtime: &Runtime,
    opts: &RunOptions,
    history: &Path,
    lines: &mpsc::Receiver<Input>,
    tx: &mpsc::Sender<Action>,
) {
    let say = |line: String| tx.send(Action::ReplLine(kind, line)).is_ok();
    let state = |s: ReplState| tx.send(Action::Repl(kind, s)).is_ok();
    let mut repl = match Repl::new(runtime, kind, opts) {
        Ok(r) => r,
        Err(e) => {
            say(e.report());
            return;
        }
    };
    let _ = tx.send(Action::Completions(repl.completions()));
    for input in lines {
        let line = match input {
            // Sent before a Ctrl+C that has not reached us yet: dropped.
            Input::Line(_) if opts.stop.is_stopped() => continue,
            Input::Line(line) => line,
            Input::Drop => {
                repl.drop_pending();
                opts.stop.clear();
                if !state(ReplState::Ready) {
                    return;
                }
                continue;
            }
        };
        let Some(whole) = repl.line(&line) else {
            if repl.waiting() && !state(ReplState::Unfinished) {
                return;
            }
            continue;
        };
        let _ = append_history(history, &whole);
        if !state(ReplState::Busy(whole.clone())) {
            return;
        }
        let shown = match repl.eval(&whole) {
            Ok(serde_json::Value::Null) => true,
            Ok(v) => say(format!("=> {v}")),
            Err(e) => say(e.report()),
        };
        if !shown || !state(ReplState::Ready) {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_round_trips_in_the_cli_repls_format() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".llmspell/history-lua");
        let entries = ["x = 1", "for i = 1, 2 do\n  print(i)\nend", r"s = 'a\b'"];
        for e in entries {
            append_history(&path, e).unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "#V2\nx = 1\nfor i = 1, 2 do\\n  print(i)\\nend\ns = 'a\\\\b'\n"
        );
        assert_eq!(load_history(&path), entries);
        // A plain (pre-#V2) file is read line by line.
        std::fs::write(&path, "a\nb\n").unwrap();
        assert_eq!(load_history(&path), ["a", "b"]);
        assert!(load_history(&dir.path().join("missing")).is_empty());
    }
}
