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
    inputs: HashMap<EngineKind, mpsc::Sender<String>>,
}

impl Repls {
    /// Sends `entry` to the `kind` REPL of the project in `dir`, starting
    /// that REPL on first use.
    pub fn eval(&mut self, kind: EngineKind, dir: &Path, entry: String, tx: &mpsc::Sender<Action>) {
        let input = self
            .inputs
            .entry(kind)
            .or_insert_with(|| start(kind, dir, tx.clone()));
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
            opts.output = Arc::new(move |line: &str| {
                let _ = out.send(Action::ReplLine(kind, line.to_owned()));
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
