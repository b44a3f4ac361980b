//! The REPL: a live engine kept between entries, with the limits applied to
//! each entry afresh.

use std::rc::Rc;

use crate::engine::{self, Engine, EngineKind};
use crate::error::Result;
use crate::session::Session;
use crate::spell::Spell;

/// A live engine kept between entries, for the REPL.
pub struct Repl {
    engine: Box<dyn Engine>,
    session: Rc<Session>,
    /// The lines so far of an entry that needs more.
    pending: String,
}

impl Repl {
    pub fn new(
        runtime: &super::Runtime,
        kind: EngineKind,
        opts: &super::RunOptions,
    ) -> Result<Repl> {
        let spell = Spell {
            name: format!("repl.{}", kind.extension()),
            dir: opts.config.project_dir.clone(),
            source: Vec::new(),
            engine: kind,
        };
        let session = Rc::new(runtime.session(&spell, opts, opts.args.clone()));
        crate::store::watch_stop(Some(opts.stop.clone()));
        Ok(Repl {
            engine: crate::panic::contain(|| engine::new(session.clone()))?,
            session,
            pending: String::new(),
        })
    }

    /// Evaluates one entry; its value comes back as data. The limits
    /// apply to each entry, not to the REPL's life (see
    /// [`Session::begin_entry`]).
    pub fn eval(&mut self, source: &str) -> Result<serde_json::Value> {
        self.session.begin_entry();
        crate::panic::contain(|| self.engine.eval(source)?.to_json())
            .map_err(|e| self.session.as_stopped(e))
    }

    /// True when `source` is the start of an entry that needs more lines.
    pub fn is_incomplete(&self, source: &str) -> bool {
        self.engine.is_incomplete(source)
    }

    /// One typed line: the whole entry once it is complete (this line and
    /// the unfinished ones before it), or nothing while it needs more (see
    /// [`Repl::waiting`]) or for a blank line.
    pub fn line(&mut self, line: &str) -> Option<String> {
        if !self.pending.is_empty() {
            self.pending.push('\n');
        }
        self.pending.push_str(line);
        if self.pending.trim().is_empty() {
            self.pending.clear();
            return None;
        }
        if self.is_incomplete(&self.pending) {
            return None;
        }
        Some(std::mem::take(&mut self.pending))
    }

    /// Whether an unfinished entry waits for more lines.
    pub fn waiting(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Forgets the unfinished entry (Ctrl+C).
    pub fn drop_pending(&mut self) {
        self.pending.clear();
    }

    /// Globals and bridge functions, for completion.
    pub fn completions(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .session
            .registry()
            .bridges()
            .iter()
            .map(|b| b.name.to_owned())
            .collect();
        out.extend(
            self.session
                .registry()
                .values()
                .iter()
                .map(|v| v.name.to_owned()),
        );
        out.sort();
        out.dedup();
        out
    }
}
