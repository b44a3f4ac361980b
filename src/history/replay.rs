//! Replaying a kept run from its journal, whole or up to an exchange, and
//! forking it there with another reply.

use std::path::Path;

use super::Run;
use crate::error::{Error, ErrorCode, Result};
use crate::provider::{Cassette, Exchange};
use crate::session::Outcome;
use crate::spell::Spell;

/// How a replay goes: from the journal to the end, or live after some
/// exchanges, with one reply changed.
#[derive(Debug, Clone, Default)]
pub struct Fork {
    /// Replay this many exchanges, then go live.
    pub live_after: Option<usize>,
    /// Answer exchange N (from 1) with this, then go live.
    pub reply: Option<(usize, Outcome)>,
}

/// The spell a replay of `run` runs: the source it ran then, or with
/// `current` the file as it is now (whose journal may then no longer
/// match: `replay.miss` says where).
pub fn replay_spell(run: &Run, current: bool) -> Result<Spell> {
    let path = Path::new(&run.summary.path);
    if current {
        return Spell::load(path);
    }
    if run.source.is_empty() && !run.summary.spell.is_empty() {
        return Err(not_whole(run));
    }
    let dir = path
        .parent()
        .map_or_else(|| std::path::PathBuf::from("."), Path::to_path_buf);
    Ok(Spell {
        name: run.summary.spell.clone(),
        dir,
        source: run.source.clone(),
        engine: crate::engine::EngineKind::from_path(path)?,
    })
}

fn not_whole(run: &Run) -> Error {
    Error::new(
        ErrorCode::HistoryNoRun,
        format!(
            "run {} kept only its summary ({}); it cannot be replayed",
            run.summary.id,
            run.summary
                .note
                .as_deref()
                .unwrap_or("its data was not kept")
        ),
    )
}

/// The cassette a replay of `run` is answered from.
pub fn replay_cassette(run: &Run, fork: &Fork) -> Result<Cassette> {
    let id = run.summary.id;
    if run.source.is_empty() && run.summary.note.is_some() {
        return Err(not_whole(run));
    }
    let count = run.exchanges.len();
    let mut exchanges = run.exchanges.clone();
    let mut live_after = fork.live_after;
    if let Some((n, outcome)) = &fork.reply {
        let Some(ex) = (*n >= 1).then(|| exchanges.get_mut(n - 1)).flatten() else {
            return Err(Error::new(
                ErrorCode::ConfigInvalid,
                format!(
                    "run {id} received {count} exchanges; --reply takes a number from 1 to {count}"
                ),
            ));
        };
        *ex = Exchange::new(ex.n, &ex.op, ex.request.clone(), outcome);
        exchanges.truncate(*n);
        live_after = Some(*n);
    }
    Ok(Cassette::replaying(
        exchanges,
        live_after,
        format!("run {id}'s journal"),
        format!(
            "the spell asked what run {id} did not (did its source or its state change?); go live \
             from here with `llmspell replay {id} --live-after {{n}}`"
        ),
    ))
}

/// Reads a fork's reply for exchange `n` of `run` from `text` (JSON): a
/// reply as `runs show --json` shows it, a string (a model's text), or
/// `{"error": {"code", "message"}}` (the exchange failed).
pub fn fork_reply(run: &Run, n: usize, text: &str) -> Result<Outcome> {
    let bad =
        |why: String| Error::new(ErrorCode::ConfigInvalid, format!("--reply {n}=FILE: {why}"));
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| bad(format!("not JSON: {e}")))?;
    if let Some(e) = value
        .get("error")
        .filter(|_| value.as_object().is_some_and(|m| m.len() == 1))
    {
        let code = e["code"].as_str().unwrap_or_default();
        let code = ErrorCode::parse(code).ok_or_else(|| {
            bad(format!(
                "{code:?} is not an error code (`llmspell api` lists them)"
            ))
        })?;
        return Ok(Err(Error::new(
            code,
            e["message"].as_str().unwrap_or_default(),
        )));
    }
    // A tool's result is taken as it is; a model's reply (or an exchange
    // past the journal, which `replay_cassette` refuses) is checked.
    let chat = run
        .exchanges
        .get(n.wrapping_sub(1))
        .is_none_or(Exchange::is_chat);
    if !chat {
        return Ok(Ok(value));
    }
    // A model's reply: its text alone, or the reply with what it leaves out.
    let mut reply = match value {
        serde_json::Value::String(text) => serde_json::json!({ "text": text }),
        serde_json::Value::Object(m) => serde_json::Value::Object(m),
        _ => return Err(bad("a model's reply is a string or an object".into())),
    };
    for field in ["input_tokens", "output_tokens"] {
        if reply.get(field).is_none() {
            reply[field] = 0.into();
        }
    }
    if reply.get("text").is_none() {
        reply["text"] = "".into();
    }
    serde_json::from_value::<crate::provider::ChatReply>(reply.clone())
        .map_err(|e| bad(format!("not a model reply: {e}")))?;
    Ok(Ok(reply))
}

/// How a replay (its result and what it printed) came out against the
/// run it replays: empty when it matched (the same result or error, the
/// same output).
pub fn compare(
    original: &Run,
    result: &crate::error::Result<serde_json::Value>,
    output: &[String],
) -> Vec<String> {
    let mut differs = Vec::new();
    let show = |o: &std::result::Result<serde_json::Value, (String, String)>| match o {
        Ok(v) => v.to_string(),
        Err((code, message)) => format!("{code}: {message}"),
    };
    let now = match result {
        Ok(v) => Ok(v.clone()),
        Err(e) => Err((e.code.as_str().to_owned(), e.message.clone())),
    };
    let then = original.outcome();
    if then != now {
        differs.push(format!("result: {} then, {} now", show(&then), show(&now)));
    }
    if original.output != output {
        let line = original
            .output
            .iter()
            .zip(output)
            .position(|(x, y)| x != y)
            .unwrap_or(original.output.len().min(output.len()));
        differs.push(format!(
            "output: {} lines then, {} now, first differing at line {}",
            original.output.len(),
            output.len(),
            line + 1
        ));
    }
    differs
}
