//! The journal: what a run receives from outside the spell, kept as it
//! comes, and what a replayed run is answered from.
//!
//! Every bridge that reaches outside the spell asks the session's journal
//! first ([`JournalRef::answer`]): a journal that replays answers from
//! what it holds, and the call does not go out; otherwise the call goes
//! live. Either way, what the call came to is kept ([`JournalRef::record`]),
//! so a replayed run's own journal is whole. The file cassette (`--record`,
//! `--replay`, `--live-after`) is one kind of journal.
//!
//! A journal holds requests as the spell asked them and outcomes as the
//! spell saw them: never a key, a header or anything the spell could not
//! see. It must never change what a live call does.

use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};
use crate::provider::Cassette;

/// What one exchange came to, as kept: the reply, or the coded error.
pub type Outcome = std::result::Result<serde_json::Value, Error>;

/// A kind of journal: where exchanges are kept, and answered from.
pub trait Journal: Send {
    /// The kept outcome of `op` asked with `request`, when this journal
    /// replays it; `Ok(None)` when the call goes live; an error (such as
    /// `replay.miss`) when it can neither answer nor let the call go.
    fn answer(&mut self, op: &str, request: &serde_json::Value) -> Result<Option<Outcome>>;

    /// Keeps what `op` asked with `request` came to.
    fn record(&mut self, op: &str, request: &serde_json::Value, outcome: &Outcome) -> Result<()>;
}

impl Journal for Cassette {
    fn answer(&mut self, op: &str, request: &serde_json::Value) -> Result<Option<Outcome>> {
        Cassette::answer(self, op, request)
    }

    fn record(&mut self, op: &str, request: &serde_json::Value, outcome: &Outcome) -> Result<()> {
        Cassette::record(self, op, request, outcome)
    }
}

/// A run's journals, shared by the calls that use it: the first that
/// answers a call answers it, and every one keeps what each call came to
/// (a replayed cassette and the run history side by side).
#[derive(Clone)]
pub struct JournalRef(Arc<[Arc<Mutex<dyn Journal>>]>);

fn lock(j: &Mutex<dyn Journal>) -> std::sync::MutexGuard<'_, dyn Journal + 'static> {
    j.lock().unwrap_or_else(|e| e.into_inner())
}

impl JournalRef {
    pub fn new(journal: Arc<Mutex<dyn Journal>>) -> JournalRef {
        JournalRef(Arc::new([journal]))
    }

    /// Several journals as one, asked in order; `None` when there are none.
    pub fn all(journals: Vec<Arc<Mutex<dyn Journal>>>) -> Option<JournalRef> {
        (!journals.is_empty()).then(|| JournalRef(journals.into()))
    }

    /// The kept outcome of `op` with `request`, if a journal answers it
    /// (see [`Journal::answer`]). An answered exchange is kept again, by
    /// every journal: the run received it, so a replay that also records
    /// writes it too.
    pub fn answer(&self, op: &str, request: &serde_json::Value) -> Result<Option<Outcome>> {
        for journal in self.0.iter() {
            // Its own statement: the lock is let go before `record` takes it.
            let answered = lock(journal).answer(op, request)?;
            if let Some(outcome) = answered {
                self.record(op, request, &outcome)?;
                return Ok(Some(outcome));
            }
        }
        Ok(None)
    }

    /// Keeps, in every journal, what a call of `op` with `request` came to.
    pub fn record(&self, op: &str, request: &serde_json::Value, outcome: &Outcome) -> Result<()> {
        for journal in self.0.iter() {
            lock(journal).record(op, request, outcome)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    /// A journal in memory: answers `op`s it was given, keeps everything.
    #[derive(Default)]
    struct Memory {
        answers: Vec<(String, Outcome)>,
        kept: Vec<(String, serde_json::Value, Outcome)>,
    }

    impl Journal for Memory {
        fn answer(&mut self, op: &str, _: &serde_json::Value) -> Result<Option<Outcome>> {
            match self.answers.iter().position(|(o, _)| o == op) {
                Some(i) => Ok(Some(self.answers.remove(i).1)),
                None if op == "refused" => Err(Error::new(ErrorCode::ReplayMiss, "no")),
                None => Ok(None),
            }
        }
        fn record(
            &mut self,
            op: &str,
            request: &serde_json::Value,
            outcome: &Outcome,
        ) -> Result<()> {
            self.kept
                .push((op.into(), request.clone(), outcome.clone()));
            Ok(())
        }
    }

    #[test]
    fn an_answered_exchange_is_kept_again_and_a_live_one_when_it_ends() {
        let memory = Arc::new(Mutex::new(Memory {
            answers: vec![(
                "chat".into(),
                Err(Error::new(ErrorCode::LlmRateLimited, "slow down")),
            )],
            ..Memory::default()
        }));
        let journal = JournalRef::new(memory.clone());
        let req = serde_json::json!({"model": "m/x"});
        let answered = journal.answer("chat", &req).unwrap().unwrap();
        assert_eq!(answered.unwrap_err().code, ErrorCode::LlmRateLimited);
        // Nothing left to answer: the call goes live, and is kept after.
        assert!(journal.answer("chat", &req).unwrap().is_none());
        journal
            .record("chat", &req, &Ok(serde_json::json!({"text": "hi"})))
            .unwrap();
        assert_eq!(
            journal.answer("refused", &req).unwrap_err().code,
            ErrorCode::ReplayMiss
        );
        let kept = &memory.lock().unwrap().kept;
        let ops: Vec<_> = kept
            .iter()
            .map(|(op, _, o)| (op.as_str(), o.is_ok()))
            .collect();
        assert_eq!(ops, [("chat", false), ("chat", true)]);
        assert_eq!(kept[1].1, req);
    }

    #[test]
    fn several_journals_answer_first_come_and_all_keep_every_exchange() {
        let cassette = Arc::new(Mutex::new(Memory {
            answers: vec![("seed".into(), Ok(serde_json::json!("00")))],
            ..Memory::default()
        }));
        let history = Arc::new(Mutex::new(Memory::default()));
        let journal = JournalRef::all(vec![cassette.clone(), history.clone()]).unwrap();
        assert!(JournalRef::all(Vec::new()).is_none());
        let req = serde_json::json!({});
        assert_eq!(
            journal.answer("seed", &req).unwrap().unwrap().unwrap(),
            "00"
        );
        assert!(journal.answer("chat", &req).unwrap().is_none());
        journal
            .record("chat", &req, &Ok(serde_json::json!({"text": "live"})))
            .unwrap();
        for kept in [&cassette, &history] {
            let ops: Vec<_> = kept
                .lock()
                .unwrap()
                .kept
                .iter()
                .map(|k| k.0.clone())
                .collect();
            assert_eq!(ops, ["seed", "chat"]);
        }
    }
}
