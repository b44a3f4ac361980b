//! A live REPL per engine, each on its own thread (an engine lives on the
//! thread that made it), so an entry that waits on a model never freezes
//! the screen. Entries go in on a channel; printed lines and each entry's
//! value or coded error come back to the loop as actions.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{mpsc, Arc};

use llmspell::{Config, EngineKind, Repl, RunOptions, Runtime};

use crate::app::Action;

/// The REPLs started so far, one per engine.
#[derive(Default)]
pub struct Repls {
    /// Each REPL's input, and its history file (found once, not per entry).
    inputs: HashMap<EngineKind, (mpsc::Sender<String>, std::path::PathBuf)>,
}

/// `.llmspell/history-ENGINE` of the project in `dir`: the same file the
/// `llmspell repl` command keeps, in its format (rustyline's `#V2`: one
/// entry a line, newlines and backslashes escaped).
pub fn history_file(dir: &Path, kind: EngineKind) -> std::path::PathBuf {
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
    /// Starts the `kind` REPL of the project in `dir` if it has not been;
    /// once started it sends the names it completes.
    pub fn open(
        &mut self,
        kind: EngineKind,
        dir: &Path,
        tx: &mpsc::Sender<Action>,
    ) -> &mut (mpsc::Sender<String>, std::path::PathBuf) {
        self.inputs
            .entry(kind)
            .or_insert_with(|| (start(kind, dir, tx.clone()), history_file(dir, kind)))
    }

    /// Sends `entry` to the `kind` REPL of the project in `dir`, starting
    /// that REPL on first use.
    pub fn eval(&mut self, kind: EngineKind, dir: &Path, entry: String, tx: &mpsc::Sender<Action>) {
        let (input, history) = self.open(kind, dir, tx);
        let _ = append_history(history, &entry);
        if input.send(entry).is_err() {
            let _ = tx.send(Action::ReplLine(kind, "the REPL has ended".into()));
            self.inputs.remove(&kind);
        }
    }
}

fn start(kind: EngineKind, dir: &Path, tx: mpsc::Sender<Action>) -> mpsc::Sender<String> {
    let (input, entries) = mpsc::channel::<String>();
    let config = Config::discover(dir).unwrap_or_else(|_| Config::for_dir(dir));
    let spawned = std::thread::Builder::new()
        .stack_size(llmspell::runtime::SPELL_STACK)
        .spawn(move || {
            let mut opts = RunOptions::new(config);
            let out = tx.clone();
            opts.output = Arc::new(move |line: &[u8]| {
                let line = String::from_utf8_lossy(line).into_owned();
                let _ = out.send(Action::ReplLine(kind, line));
            });
            opts.log = Arc::new(|_, _, _| {});
            let runtime = Runtime::new();
            let mut repl = match Repl::new(&runtime, kind, &opts) {
                Ok(r) => r,
                Err(e) => {
                    let _ = tx.send(Action::ReplLine(kind, e.report()));
                    return;
                }
            };
            let _ = tx.send(Action::Completions(repl.completions()));
            for entry in entries {
                let line = match repl.eval(&entry) {
                    Ok(serde_json::Value::Null) => continue,
                    Ok(v) => format!("=> {v}"),
                    Err(e) => e.report(),
                };
                if tx.send(Action::ReplLine(kind, line)).is_err() {
                    return;
                }
            }
        });
    if spawned.is_err() {
        let (dead, _) = mpsc::channel();
        return dead;
    }
    input
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
