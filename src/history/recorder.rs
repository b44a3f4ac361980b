//! Keeping one run: a journal that keeps every exchange, a tap on its
//! events, a tee of its output, and the row they end up in.
//!
//! Everything is kept in memory as JSON lines while the run goes (one
//! serialization per exchange or event, no copies of the values) and
//! written in one transaction when it ends. Past `[history] max_mb` the
//! run keeps its summary only, with a note saying so.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde::Serialize;

use super::{Data, End, History, Start};
use crate::bus::now_ms;
use crate::config::Config;
use crate::error::Result;
use crate::provider::{ErrorData, MODEL_OPS};
use crate::runtime::{Outcome, RunOptions};
use crate::session::Journal;
use crate::spell::Spell;

/// A run being kept.
pub struct Recorder {
    /// The history, opened and the run's row written on a thread of its
    /// own while the spell starts: off the run's path.
    started: std::thread::JoinHandle<Result<(History, i64)>>,
    kept: Arc<Mutex<Kept>>,
    source: Vec<u8>,
    bounds: (u64, u64),
}

/// What the run has received, printed and heard so far.
#[derive(Default)]
struct Kept {
    /// JSON lines, written in place (always UTF-8).
    journal: Vec<u8>,
    exchanges: usize,
    events: Vec<u8>,
    output: String,
    /// The most `journal`, `events` and `output` may hold together.
    cap: usize,
    over: bool,
    model_calls: i64,
    tokens: i64,
    models: BTreeSet<String>,
}

/// Which of a run's JSON-lines buffers.
#[derive(Clone, Copy)]
enum Lines {
    Journal,
    Events,
}

impl Kept {
    fn used(&self) -> usize {
        self.journal.len() + self.events.len() + self.output.len()
    }

    fn room(&mut self, bytes: usize) -> bool {
        if self.over || self.used() + bytes > self.cap {
            self.over = true;
            return false;
        }
        true
    }

    /// Writes `value` as one more JSON line, in place. What is not JSON (a
    /// NaN, a function: the spell's to fail on where someone needs it as
    /// JSON) is not kept; past the bound, nothing more is.
    fn append(&mut self, to: Lines, value: &impl Serialize) {
        if self.over {
            return;
        }
        let buf = match to {
            Lines::Journal => &mut self.journal,
            Lines::Events => &mut self.events,
        };
        let start = buf.len();
        if serde_json::to_writer(&mut *buf, value).is_err() {
            buf.truncate(start);
            return;
        }
        buf.push(b'\n');
        if self.used() > self.cap {
            match to {
                Lines::Journal => self.journal.truncate(start),
                Lines::Events => self.events.truncate(start),
            }
            self.over = true;
        }
    }
}

#[derive(Serialize)]
struct ExchangeRef<'a> {
    n: usize,
    op: &'a str,
    request: &'a serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    reply: Option<&'a serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorData>,
}

/// An event as kept ([`super::KeptEvent`]), serialized where it is.
#[derive(Serialize)]
struct EventRef<'a> {
    topic: &'a str,
    time_ms: u64,
    data: crate::session::Tapped<'a>,
}

impl Journal for Kept {
    fn answer(
        &mut self,
        _: &str,
        _: &serde_json::Value,
    ) -> Result<Option<crate::session::Outcome>> {
        Ok(None)
    }

    fn record(
        &mut self,
        op: &str,
        request: &serde_json::Value,
        outcome: &crate::session::Outcome,
    ) -> Result<()> {
        if MODEL_OPS.contains(&op) {
            self.model_calls += 1;
            if let Some(model) = request["model"].as_str() {
                self.models.insert(model.to_owned());
            }
            if let Ok(reply) = outcome {
                let used = |k: &str| reply[k].as_i64().unwrap_or(0);
                self.tokens += used("input_tokens") + used("output_tokens");
            }
        }
        self.exchanges += 1;
        let exchange = ExchangeRef {
            n: self.exchanges,
            op,
            request,
            reply: outcome.as_ref().ok(),
            error: outcome.as_ref().err().map(ErrorData::from),
        };
        self.append(Lines::Journal, &exchange);
        Ok(())
    }
}

fn lock(kept: &Mutex<Kept>) -> std::sync::MutexGuard<'_, Kept> {
    kept.lock().unwrap_or_else(|e| e.into_inner())
}

impl Recorder {
    /// Starts keeping a run of `spell` (read from `path`) with `args`;
    /// `parent` is the run it replays or forks.
    pub fn begin(
        config: &Config,
        spell: &Spell,
        path: &Path,
        args: &serde_json::Map<String, serde_json::Value>,
        parent: Option<i64>,
    ) -> Result<Recorder> {
        let start = Start {
            parent,
            spell: spell.name.clone(),
            path: path.display().to_string(),
            engine: spell.engine.as_str().into(),
            args: args.clone(),
            started_ms: now_ms() as i64,
        };
        let project = config.project_dir.clone();
        let started = std::thread::Builder::new()
            .name("history".into())
            .spawn(move || {
                let history = History::open(&project)?;
                let path = std::fs::canonicalize(&start.path)
                    .map_or(start.path.clone(), |p| p.display().to_string());
                let id = history.begin(&Start { path, ..start })?;
                Ok((history, id))
            })
            .map_err(|e| super::io_error(&super::path_in(&config.project_dir), e))?;
        let cap = (config.history.max_mb as usize).saturating_mul(1 << 20);
        Ok(Recorder {
            started,
            kept: Arc::new(Mutex::new(Kept {
                journal: crate::provider::cassette_text(&[]).into_bytes(),
                cap: cap.saturating_sub(spell.source.len()),
                ..Kept::default()
            })),
            source: spell.source.clone(),
            bounds: (config.history.keep_runs, config.history.max_mb << 20),
        })
    }

    /// Makes the run keep what it receives, hears and prints here.
    pub fn attach(&self, opts: &mut RunOptions) {
        opts.journals.push(self.kept.clone());
        let kept = self.kept.clone();
        let previous = opts.tap.take();
        opts.tap = Some(Arc::new(move |topic, data, time_ms| {
            if let Some(tap) = &previous {
                tap(topic, data, time_ms);
            }
            let event = EventRef {
                topic,
                time_ms,
                data,
            };
            lock(&kept).append(Lines::Events, &event);
        }));
        let kept = self.kept.clone();
        let sink = opts.output.clone();
        opts.output = Arc::new(move |line| {
            {
                let mut kept = lock(&kept);
                let text = String::from_utf8_lossy(line);
                if kept.room(text.len() + 1) {
                    kept.output.push_str(&text);
                    kept.output.push('\n');
                }
            }
            sink(line);
        });
    }

    /// Keeps how the run ended, with everything it kept, and prunes the
    /// oldest runs past `[history]`'s bounds. The run's id. An error (the
    /// history could not be opened, or written) names the run.
    pub fn finish(mut self, outcome: &Outcome) -> Result<i64> {
        let (mut history, id) = match self.started.join() {
            Ok(started) => started?,
            Err(_) => {
                return Err(crate::panic::internal(
                    "the run history's thread ended in a panic",
                ))
            }
        };
        let kept = std::mem::take(&mut *lock(&self.kept));
        let result = outcome
            .result
            .as_ref()
            .ok()
            .map(|v| serde_json::to_string(v).unwrap_or_default());
        let data = Data {
            source: std::mem::take(&mut self.source),
            result,
            output: kept.output,
            // Written by serde_json and cut only at line ends: UTF-8.
            events: String::from_utf8(kept.events).unwrap_or_default(),
            journal: String::from_utf8(kept.journal).unwrap_or_default(),
        };
        let bytes = data.source.len()
            + data.result.as_ref().map_or(0, String::len)
            + data.output.len()
            + data.events.len()
            + data.journal.len();
        let (data, note, bytes) = if kept.over {
            let note = format!(
                "this run's record passed [history] max_mb ({} MiB): only its summary was kept, \
                 and it cannot be replayed",
                self.bounds.1 >> 20
            );
            (None, Some(note), 0)
        } else {
            (Some(data), None, bytes)
        };
        let end = End {
            duration_ms: outcome.duration.as_millis() as i64,
            error: outcome
                .result
                .as_ref()
                .err()
                .map(|e| (e.code.as_str().to_owned(), e.message.clone())),
            model_calls: kept.model_calls,
            tokens: kept.tokens,
            models: kept.models.into_iter().collect(),
            bytes: bytes as i64,
            note,
            data,
        };
        history.finish(id, &end, self.bounds).map_err(|mut e| {
            e.message = format!("{}; run {id} is not kept", e.message);
            e
        })?;
        Ok(id)
    }
}
