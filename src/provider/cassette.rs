//! Cassettes: every model exchange of a run, one JSON object per line.
//!
//! ```text
//! {"llmspell_cassette":2}
//! {"n":1,"op":"chat","request":{"model":"local/smollm2","messages":[...]},"reply":{"text":"Hi",...}}
//! {"n":2,"op":"chat","request":{...},"error":{"code":"llm.rate_limited","message":"..."}}
//! ```
//!
//! Besides model exchanges (`chat`, `stream`, `embed`), a cassette of
//! version 2 holds what built-in tools brought in from outside the spell
//! (`tool`: the clock, files, the network). One of version 1, made before
//! those were kept, answers model exchanges only; other calls go live in
//! its replay, as they did when it was recorded.
//!
//! Requests hold what the spell asked (model, messages, options), never a
//! key or header. Replay answers a request from the first unused exchange
//! with the same op and an equal request; a request with none fails with
//! `replay.miss` and a diff against the exchange that was expected next.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorCode, Result};

/// How a run uses cassettes (`--record`, `--replay`, `--live-after`).
#[derive(Debug, Clone, Default)]
pub struct CassetteMode {
    pub record: Option<PathBuf>,
    pub replay: Option<PathBuf>,
    /// Replay this many exchanges, then call the live provider.
    pub live_after: Option<usize>,
}

/// One exchange as a cassette (and the run history) keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exchange {
    /// Its number in the run, from 1, in the order the run received it.
    pub n: usize,
    pub op: String,
    pub request: serde_json::Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorData>,
}

/// A coded error as kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorData {
    pub code: String,
    pub message: String,
}

impl From<&Error> for ErrorData {
    fn from(e: &Error) -> ErrorData {
        ErrorData {
            code: e.code.as_str().into(),
            message: e.message.clone(),
        }
    }
}

impl Exchange {
    /// A chat with a model (`chat`, or `stream`): its request has messages
    /// and its reply text.
    pub fn is_chat(&self) -> bool {
        matches!(self.op.as_str(), "chat" | "stream")
    }

    pub fn new(
        n: usize,
        op: &str,
        request: serde_json::Value,
        outcome: &std::result::Result<serde_json::Value, Error>,
    ) -> Exchange {
        let (reply, error) = match outcome {
            Ok(v) => (Some(v.clone()), None),
            Err(e) => (None, Some(ErrorData::from(e))),
        };
        Exchange {
            n,
            op: op.into(),
            request,
            reply,
            error,
        }
    }

    /// What the exchange came to, as the spell saw it.
    pub fn outcome(&self) -> std::result::Result<serde_json::Value, Error> {
        match (&self.reply, &self.error) {
            (_, Some(e)) => Err(Error::new(
                ErrorCode::parse(&e.code).unwrap_or(ErrorCode::LlmHttp),
                e.message.clone(),
            )),
            (Some(r), None) => Ok(r.clone()),
            (None, None) => Ok(serde_json::Value::Null),
        }
    }
}

/// The text of a cassette holding `exchanges`, in the current version.
pub fn cassette_text(exchanges: &[Exchange]) -> String {
    let mut out = format!("{{\"llmspell_cassette\":{VERSION}}}\n");
    for ex in exchanges {
        out.push_str(&serde_json::to_string(ex).unwrap_or_default());
        out.push('\n');
    }
    out
}

/// Reads a cassette's text: its version and its exchanges. An error names
/// the line (from 1) and what is wrong with it.
pub fn parse_cassette(text: &str) -> std::result::Result<(u64, Vec<Exchange>), String> {
    let mut version = 1;
    let mut exchanges = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        if line.contains("\"llmspell_cassette\"") {
            let header: serde_json::Value =
                serde_json::from_str(line).map_err(|e| format!("line {}: {e}", i + 1))?;
            version = header["llmspell_cassette"].as_u64().unwrap_or(1);
            continue;
        }
        let ex: Exchange =
            serde_json::from_str(line).map_err(|e| format!("line {}: {e}", i + 1))?;
        exchanges.push(ex);
    }
    Ok((version, exchanges))
}

/// The version this build writes.
const VERSION: u64 = 2;

/// The ops model exchanges are kept under (all a version-1 cassette
/// holds).
pub const MODEL_OPS: [&str; 3] = ["chat", "stream", "embed"];

/// A run's cassettes: the one replayed and the one recorded.
pub struct Cassette {
    replay: Vec<(Exchange, bool)>,
    /// What is replayed, for `replay.miss`: what it is (a file, a kept
    /// run) and how to go live at exchange `{n}` instead.
    replay_from: Option<(String, String)>,
    /// The replayed cassette's version.
    version: u64,
    replayed: usize,
    live_after: Option<usize>,
    record: Option<std::fs::File>,
    recorded: usize,
}

fn io_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorCode::ConfigInvalid,
        format!("cassette {}: {e}", path.display()),
    )
}

impl Cassette {
    pub fn open(mode: &CassetteMode) -> Result<Cassette> {
        let mut replay = Vec::new();
        let mut version = 1;
        if let Some(path) = &mode.replay {
            let text = std::fs::read_to_string(path).map_err(|e| io_error(path, e))?;
            (version, replay) = parse_cassette(&text).map_err(|e| io_error(path, e))?;
        }
        let record = match &mode.record {
            Some(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| io_error(path, e))?;
                }
                let mut f = std::fs::File::create(path).map_err(|e| io_error(path, e))?;
                writeln!(f, "{{\"llmspell_cassette\":{VERSION}}}")
                    .map_err(|e| io_error(path, e))?;
                Some(f)
            }
            None => None,
        };
        Ok(Cassette {
            replay: replay.into_iter().map(|ex| (ex, false)).collect(),
            replay_from: mode.replay.as_ref().map(|file| {
                (
                    file.display().to_string(),
                    "record again with --record, or go live from here with --live-after {n}".into(),
                )
            }),
            version,
            replayed: 0,
            live_after: mode.live_after,
            record,
            recorded: 0,
        })
    }

    /// A cassette that replays `exchanges` (kept elsewhere, such as in the
    /// run history), then goes live after `live_after` of them if given.
    /// `label` names them and `go_live` says how to go live at exchange
    /// `{n}`, for `replay.miss`.
    pub fn replaying(
        exchanges: Vec<Exchange>,
        live_after: Option<usize>,
        label: String,
        go_live: String,
    ) -> Cassette {
        Cassette {
            replay: exchanges.into_iter().map(|ex| (ex, false)).collect(),
            replay_from: Some((label, go_live)),
            version: VERSION,
            replayed: 0,
            live_after,
            record: None,
            recorded: 0,
        }
    }

    /// The recorded answer to `request`: `None` when the call goes live.
    pub fn answer(
        &mut self,
        op: &str,
        request: &serde_json::Value,
    ) -> Result<Option<std::result::Result<serde_json::Value, Error>>> {
        let Some((label, go_live)) = &self.replay_from else {
            return Ok(None);
        };
        if self.version < 2 && !MODEL_OPS.contains(&op) {
            return Ok(None);
        }
        if self.live_after.is_some_and(|n| self.replayed >= n) {
            return Ok(None);
        }
        let found = self
            .replay
            .iter_mut()
            .find(|(ex, used)| !*used && ex.op == op && &ex.request == request);
        let Some((ex, used)) = found else {
            let expected = self.replay.iter().find(|(ex, used)| !*used && ex.op == op);
            let diff = match expected {
                Some((ex, _)) => format!(
                    "the next recorded {op} request (exchange {}) differs:\n{}",
                    ex.n,
                    diff(&ex.request, request)
                ),
                None => format!(
                    "every recorded {op} exchange is used; unexpected request:\n{}",
                    pretty(request)
                ),
            };
            return Err(Error::new(
                ErrorCode::ReplayMiss,
                format!(
                    "{label} has no answer for this request; {}\n{diff}",
                    go_live.replace("{n}", &self.replayed.to_string())
                ),
            ));
        };
        *used = true;
        self.replayed += 1;
        Ok(Some(ex.outcome()))
    }

    /// Appends an exchange to the cassette being recorded.
    pub fn record(
        &mut self,
        op: &str,
        request: &serde_json::Value,
        outcome: &std::result::Result<serde_json::Value, Error>,
    ) -> Result<()> {
        let Some(f) = &mut self.record else {
            return Ok(());
        };
        self.recorded += 1;
        let ex = Exchange::new(self.recorded, op, request.clone(), outcome);
        let line = serde_json::to_string(&ex)
            .map_err(|e| Error::new(ErrorCode::StateIo, e.to_string()))?;
        writeln!(f, "{line}").and_then(|_| f.flush()).map_err(|e| {
            Error::new(
                ErrorCode::StateIo,
                format!("cannot write the cassette: {e}"),
            )
        })
    }
}

fn pretty(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// A line diff of two JSON values, pretty-printed: `-` recorded, `+` now.
fn diff(recorded: &serde_json::Value, now: &serde_json::Value) -> String {
    let a: Vec<String> = pretty(recorded).lines().map(str::to_owned).collect();
    let b: Vec<String> = pretty(now).lines().map(str::to_owned).collect();
    // Longest common subsequence over lines: fine for request-sized text.
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out.push_str(&format!("  {}\n", a[i]));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push_str(&format!("- {}\n", a[i]));
            i += 1;
        } else {
            out.push_str(&format!("+ {}\n", b[j]));
            j += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorded_exchange_replays_and_a_changed_request_misses_with_a_diff() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.jsonl");
        let req =
            serde_json::json!({"model": "m/x", "messages": [{"role": "user", "content": "hi"}]});
        let mut rec = Cassette::open(&CassetteMode {
            record: Some(path.clone()),
            ..Default::default()
        })
        .unwrap();
        rec.record("chat", &req, &Ok(serde_json::json!({"text": "hello"})))
            .unwrap();
        drop(rec);
        let mode = CassetteMode {
            replay: Some(path.clone()),
            ..Default::default()
        };
        let mut play = Cassette::open(&mode).unwrap();
        let got = play.answer("chat", &req).unwrap().unwrap().unwrap();
        assert_eq!(got["text"], "hello");
        let mut play = Cassette::open(&mode).unwrap();
        let other =
            serde_json::json!({"model": "m/x", "messages": [{"role": "user", "content": "bye"}]});
        let e = play.answer("chat", &other).unwrap_err();
        assert_eq!(e.code, ErrorCode::ReplayMiss);
        let has = |mark: &str, text: &str| {
            e.message
                .lines()
                .any(|l| l.starts_with(mark) && l.contains(text))
        };
        assert!(has("- ", "\"content\": \"hi\""), "{}", e.message);
        assert!(has("+ ", "\"content\": \"bye\""), "{}", e.message);
        let mut fork = Cassette::open(&CassetteMode {
            live_after: Some(0),
            ..mode
        })
        .unwrap();
        assert!(fork.answer("chat", &req).unwrap().is_none());
    }
}
