//! The run history: every run of a project kept in `.llmspell/history.db`,
//! what it ran, what it printed, its events, and its journal (what it
//! received from outside, as a cassette holds it), so that any run can be
//! read again, replayed with no network, forked at an exchange and
//! compared with another.
//!
//! Its own SQLite file, never the project's `state.db`: a damaged or
//! full history can cost runs not yet kept, never the spells' state.
//! WAL and a busy timeout let several processes (two `llmspell run`s and
//! the IDE) record at once. A run's row is written when it starts (so
//! others see it running) and completed, with its data, in one
//! transaction when it ends; the oldest runs are pruned in the same
//! transaction, to `[history] keep_runs` and `max_mb`.
//!
//! The list reads only the `runs` table of small summaries; the data
//! (source, output, events, journal) is in `run_data`, read when one run
//! is opened.

mod recorder;
mod render;
mod replay;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use serde::Serialize;

pub use recorder::Recorder;
pub use render::{diff, outcome as outcome_text, show, table};
pub use replay::{compare, fork_reply, replay_cassette, replay_spell, Fork};

use crate::error::{Error, ErrorCode, Result};
use crate::provider::Exchange;

/// What `PRAGMA application_id` holds in a history database: "llmh".
const APPLICATION_ID: i32 = 0x6c6c_6d68;
/// The schema this build writes (`PRAGMA user_version`).
const SCHEMA: i32 = 3;
/// How long a write waits for another process's transaction.
const BUSY: Duration = Duration::from_secs(10);

const CREATE: &str = "
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    parent INTEGER,
    spell TEXT NOT NULL,
    path TEXT NOT NULL,
    engine TEXT NOT NULL,
    args TEXT NOT NULL,
    started_ms INTEGER NOT NULL,
    duration_ms INTEGER,
    status TEXT NOT NULL,
    error_code TEXT,
    error_message TEXT,
    model_calls INTEGER NOT NULL DEFAULT 0,
    tokens INTEGER NOT NULL DEFAULT 0,
    models TEXT NOT NULL DEFAULT '[]',
    bytes INTEGER NOT NULL DEFAULT 0,
    pid INTEGER NOT NULL,
    note TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_spell ON runs (spell, id);
CREATE TABLE IF NOT EXISTS run_data (
    id INTEGER PRIMARY KEY,
    source BLOB NOT NULL,
    result TEXT,
    output TEXT NOT NULL,
    events TEXT NOT NULL,
    journal TEXT NOT NULL
);
-- How many runs are kept and what they take, kept up to date by SQLite
-- itself: a run's end checks the bounds without reading every run.
CREATE TABLE IF NOT EXISTS totals (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    runs INTEGER NOT NULL,
    bytes INTEGER NOT NULL
);
INSERT OR REPLACE INTO totals SELECT 1, count(*), coalesce(sum(bytes), 0) FROM runs;
DROP TRIGGER IF EXISTS runs_added;
CREATE TRIGGER runs_added AFTER INSERT ON runs BEGIN
    UPDATE totals SET runs = runs + 1, bytes = bytes + NEW.bytes;
END;
DROP TRIGGER IF EXISTS runs_removed;
CREATE TRIGGER runs_removed AFTER DELETE ON runs BEGIN
    UPDATE totals SET runs = runs - 1, bytes = bytes - OLD.bytes;
    DELETE FROM run_data WHERE id = OLD.id;
END;
DROP TRIGGER IF EXISTS runs_grown;
CREATE TRIGGER runs_grown AFTER UPDATE OF bytes ON runs BEGIN
    UPDATE totals SET bytes = bytes + NEW.bytes - OLD.bytes;
END;";

/// Each connection's settings. The log is folded into the file once it
/// holds 100 pages (400 KiB), not SQLite's 1,000: a process that opens
/// the history first (every `llmspell run`) reads the whole log to trust
/// it, and at 1,000 pages that read was most of what keeping a small run
/// cost (3.5 ms a run; 0.7 ms at 100).
const READY: &str = "PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=100;";

/// Where a project's history lives.
pub fn path_in(project_dir: &Path) -> PathBuf {
    project_dir.join(".llmspell").join("history.db")
}

/// How a run ended, as the list shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Running,
    Ok,
    Failed,
    /// Its process ended before it did (killed, crashed): it never will.
    Lost,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Running => "running",
            Status::Ok => "ok",
            Status::Failed => "failed",
            Status::Lost => "lost",
        }
    }
}

/// One kept run, as the list shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub id: i64,
    /// The run this one replayed or forked.
    pub parent: Option<i64>,
    pub spell: String,
    /// The spell file, as it was found when the run started.
    pub path: String,
    pub engine: String,
    pub args: serde_json::Map<String, serde_json::Value>,
    /// Milliseconds since the Unix epoch.
    pub started_ms: i64,
    pub duration_ms: Option<i64>,
    pub status: Status,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub model_calls: i64,
    pub tokens: i64,
    pub models: Vec<String>,
    /// What its data takes in the history.
    pub bytes: i64,
    /// Why something of it was not kept, if so.
    pub note: Option<String>,
}

/// One event as kept: what the inspector showed.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct KeptEvent {
    pub topic: String,
    pub time_ms: u64,
    pub data: serde_json::Value,
}

/// One kept run, whole.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Run {
    #[serde(flatten)]
    pub summary: Summary,
    /// The source it ran (a Lua spell's bytes may not be UTF-8).
    #[serde(serialize_with = "lossy")]
    pub source: Vec<u8>,
    /// The spell's result as data, when it succeeded.
    pub result: Option<serde_json::Value>,
    pub output: Vec<String>,
    pub events: Vec<KeptEvent>,
    /// What it received from outside, numbered from 1 in order.
    pub exchanges: Vec<Exchange>,
}

fn lossy<S: serde::Serializer>(bytes: &[u8], s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&String::from_utf8_lossy(bytes))
}

impl Run {
    /// The source as text.
    pub fn source_text(&self) -> String {
        String::from_utf8_lossy(&self.source).into_owned()
    }

    /// Its outcome, as the spell ended it: the result, or the coded error.
    pub fn outcome(&self) -> std::result::Result<serde_json::Value, (String, String)> {
        match (&self.summary.error_code, &self.summary.error_message) {
            (Some(code), message) => Err((code.clone(), message.clone().unwrap_or_default())),
            (None, _) => Ok(self.result.clone().unwrap_or(serde_json::Value::Null)),
        }
    }
}

/// Which runs `llmspell runs` lists.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// The spell's file name (`chat.lua`) or its name without extension
    /// (`chat`: every language).
    pub spell: Option<String>,
    pub failed: bool,
    /// Started at or after, in ms since the epoch.
    pub since_ms: Option<i64>,
    pub limit: Option<usize>,
}

/// A project's run history, open.
pub struct History {
    conn: Connection,
    path: PathBuf,
}

pub(crate) fn io_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorCode::HistoryIo,
        format!("the run history {}: {e}", path.display()),
    )
}

fn db_error(path: &Path, e: rusqlite::Error) -> Error {
    use rusqlite::ErrorCode as C;
    match e.sqlite_error_code() {
        Some(C::NotADatabase | C::DatabaseCorrupt) => corrupt(path),
        Some(C::DiskFull | C::SystemIoFailure) => Error::new(
            ErrorCode::HistoryIo,
            format!(
                "the run history {} cannot be written ({e}: is the disk full?); free some space, \
                 or remove old runs with `llmspell runs rm --older-than 30d`",
                path.display()
            ),
        ),
        _ => io_error(path, e),
    }
}

fn corrupt(path: &Path) -> Error {
    Error::new(
        ErrorCode::HistoryCorrupt,
        format!(
            "{} is damaged or is not llmspell's run history; move it away (llmspell starts a new \
             one) or set [history] enabled = false",
            path.display()
        ),
    )
}

impl History {
    /// Opens the project's history, creating it if there is none.
    pub fn open(project_dir: &Path) -> Result<History> {
        let path = path_in(project_dir);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| io_error(&path, e))?;
        }
        let conn = Connection::open(&path).map_err(|e| db_error(&path, e))?;
        History::ready(conn, path)
    }

    /// Opens the project's history if it has one.
    pub fn open_existing(project_dir: &Path) -> Result<Option<History>> {
        let path = path_in(project_dir);
        if !path.exists() {
            return Ok(None);
        }
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| db_error(&path, e))?;
        History::ready(conn, path).map(Some)
    }

    /// Checks the file is ours (or new), and readies it.
    fn ready(conn: Connection, path: PathBuf) -> Result<History> {
        let err = |e| db_error(&path, e);
        conn.busy_timeout(BUSY).map_err(err)?;
        // A process that keeps one run and ends would otherwise copy the
        // log into the file and sync it as it closes (most of what keeping
        // a run cost); the log is folded in as it grows instead, every
        // hundred pages ([`READY`]), by whichever run's end passes that.
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
            true,
        )
        .map_err(err)?;
        // One statement, one snapshot: a process creating the file at
        // this moment has either made all of it ours or nothing yet.
        let (id, schema, tables) = whose(&conn).map_err(err)?;
        // Ours and made by this build: nothing to write to open it.
        if id == APPLICATION_ID && schema == SCHEMA {
            conn.execute_batch(READY).map_err(err)?;
            return Ok(History { conn, path });
        }
        if id != APPLICATION_ID && (id != 0 || tables > 0) {
            return Err(corrupt(&path));
        }
        // New (or ours, older): made, or brought up to date, under the
        // write lock, after asking again who made it. Switching a new
        // file to WAL needs it alone for a moment; SQLite answers
        // "locked" at once, without waiting, while another process
        // creates it too.
        let mut tries = 0;
        loop {
            let done = conn
                .execute_batch(&format!(
                    "PRAGMA journal_mode=WAL; {READY} BEGIN IMMEDIATE;"
                ))
                .and_then(|()| {
                    let (id, _, tables) = whose(&conn)?;
                    if id != APPLICATION_ID && (id != 0 || tables > 0) {
                        return Ok(false);
                    }
                    conn.execute_batch(&format!(
                        "{CREATE}
                         PRAGMA application_id={APPLICATION_ID};
                         PRAGMA user_version={SCHEMA};
                         COMMIT;"
                    ))?;
                    Ok(true)
                });
            match done {
                Ok(true) => break,
                Ok(false) => {
                    let _ = conn.execute_batch("ROLLBACK");
                    return Err(corrupt(&path));
                }
                Err(e) if is_busy(&e) && tries < 2000 => {
                    let _ = conn.execute_batch("ROLLBACK");
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) => {
                    let _ = conn.execute_batch("ROLLBACK");
                    return Err(err(e));
                }
            }
        }
        Ok(History { conn, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Kept runs, newest first.
    pub fn list(&self, filter: &Filter) -> Result<Vec<Summary>> {
        let mut sql = format!("SELECT {SUMMARY} FROM runs WHERE 1=1");
        let mut values: Vec<rusqlite::types::Value> = Vec::new();
        if let Some(spell) = &filter.spell {
            // The file name, or the name without its extension: rows of
            // `chat.old.lua` also match `chat.%` and are dropped below.
            sql.push_str(" AND (spell = ? OR spell LIKE ? ESCAPE '\\')");
            values.push(spell.clone().into());
            let mut pattern = String::new();
            for c in spell.chars() {
                if matches!(c, '%' | '_' | '\\') {
                    pattern.push('\\');
                }
                pattern.push(c);
            }
            pattern.push_str(".%");
            values.push(pattern.into());
        }
        if filter.failed {
            sql.push_str(" AND status != 'ok' AND status != 'running'");
        }
        if let Some(since) = filter.since_ms {
            sql.push_str(" AND started_ms >= ?");
            values.push(since.into());
        }
        sql.push_str(" ORDER BY id DESC");
        if let Some(n) = filter.limit {
            sql.push_str(&format!(" LIMIT {n}"));
        }
        let err = |e| db_error(&self.path, e);
        let mut stmt = self.conn.prepare_cached(&sql).map_err(err)?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(values), summary_row)
            .map_err(err)?;
        let mut out = Vec::new();
        for row in rows {
            let mut s = row.map_err(err)?;
            if s.status == Status::Running && !alive(s.pid) {
                s.summary.status = Status::Lost;
            }
            if filter.failed && s.summary.status == Status::Running {
                continue;
            }
            if let Some(spell) = &filter.spell {
                if s.spell != *spell
                    && s.spell.rsplit_once('.').map(|(stem, _)| stem) != Some(spell)
                {
                    continue;
                }
            }
            out.push(s.summary);
        }
        Ok(out)
    }

    /// A number that changes whenever another connection (this process's
    /// or another's) commits to the history: cheap to ask often.
    pub fn version(&self) -> Result<i64> {
        self.conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))
            .map_err(|e| db_error(&self.path, e))
    }

    /// The newest run's id, if any.
    pub fn last(&self) -> Result<Option<i64>> {
        self.conn
            .query_row("SELECT max(id) FROM runs", [], |r| r.get(0))
            .map_err(|e| db_error(&self.path, e))
    }

    /// One kept run, whole.
    pub fn get(&self, id: i64) -> Result<Run> {
        let err = |e| db_error(&self.path, e);
        let row = self
            .conn
            .query_row(
                &format!("SELECT {SUMMARY} FROM runs WHERE id = ?"),
                [id],
                summary_row,
            )
            .optional()
            .map_err(err)?;
        let Some(mut row) = row else {
            return Err(no_run(&[id]));
        };
        if row.status == Status::Running && !alive(row.pid) {
            row.summary.status = Status::Lost;
        }
        let data = self
            .conn
            .query_row(
                "SELECT source, result, output, events, journal FROM run_data WHERE id = ?",
                [id],
                |r| {
                    Ok((
                        r.get::<_, Vec<u8>>(0)?,
                        r.get::<_, Option<String>>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                    ))
                },
            )
            .optional()
            .map_err(err)?;
        let mut run = Run {
            summary: row.summary,
            source: Vec::new(),
            result: None,
            output: Vec::new(),
            events: Vec::new(),
            exchanges: Vec::new(),
        };
        if let Some((source, result, output, events, journal)) = data {
            let bad = |what: &str, e: String| {
                Error::new(
                    ErrorCode::HistoryCorrupt,
                    format!(
                        "run {id} in {}: its {what} cannot be read ({e}); remove it with \
                         `llmspell runs rm {id}`",
                        self.path.display()
                    ),
                )
            };
            run.source = source;
            run.result = match result {
                Some(text) => {
                    Some(serde_json::from_str(&text).map_err(|e| bad("result", e.to_string()))?)
                }
                None => None,
            };
            run.output = output_lines(&output);
            run.events = events
                .lines()
                .map(serde_json::from_str)
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| bad("events", e.to_string()))?;
            run.exchanges = crate::provider::parse_cassette(&journal)
                .map_err(|e| bad("journal", e))?
                .1;
        }
        Ok(run)
    }

    /// Removes kept runs; how many there were.
    pub fn remove(&mut self, ids: &[i64]) -> Result<usize> {
        let err = |e| db_error(&self.path, e);
        let tx = self.conn.transaction().map_err(err)?;
        let mut removed = 0;
        for id in ids {
            removed += tx
                .execute("DELETE FROM runs WHERE id = ?", [id])
                .map_err(err)?;
        }
        tx.commit().map_err(err)?;
        Ok(removed)
    }

    /// Removes the runs that started before `ms` (and are not running).
    pub fn remove_before(&mut self, ms: i64) -> Result<usize> {
        let err = |e| db_error(&self.path, e);
        let tx = self.conn.transaction().map_err(err)?;
        let removed = tx
            .execute(
                "DELETE FROM runs WHERE started_ms < ? AND status != 'running'",
                [ms],
            )
            .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(removed)
    }

    /// Starts a run's row: others see it running from now.
    pub(crate) fn begin(&self, start: &Start) -> Result<i64> {
        let err = |e| db_error(&self.path, e);
        self.conn
            .execute(
                "INSERT INTO runs (parent, spell, path, engine, args, started_ms, status, pid)
                 VALUES (?, ?, ?, ?, ?, ?, 'running', ?)",
                params![
                    start.parent,
                    start.spell,
                    start.path,
                    start.engine,
                    serde_json::Value::Object(start.args.clone()).to_string(),
                    start.started_ms,
                    std::process::id(),
                ],
            )
            .map_err(err)?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Completes a run's row and keeps its data, then prunes the oldest
    /// runs past the bounds, in one transaction.
    pub(crate) fn finish(&mut self, id: i64, end: &End, bounds: (u64, u64)) -> Result<()> {
        let err = |e| db_error(&self.path, e);
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(err)?;
        tx.execute(
            "UPDATE runs SET duration_ms = ?, status = ?, error_code = ?, error_message = ?,
                 model_calls = ?, tokens = ?, models = ?, bytes = ?, note = ? WHERE id = ?",
            params![
                end.duration_ms,
                if end.error.is_some() { "failed" } else { "ok" },
                end.error.as_ref().map(|e| e.0.clone()),
                end.error.as_ref().map(|e| e.1.clone()),
                end.model_calls,
                end.tokens,
                serde_json::to_string(&end.models).unwrap_or_default(),
                end.bytes,
                end.note,
                id,
            ],
        )
        .map_err(err)?;
        if let Some(data) = &end.data {
            tx.execute(
                "INSERT OR REPLACE INTO run_data (id, source, result, output, events, journal)
                 VALUES (?, ?, ?, ?, ?, ?)",
                params![
                    id,
                    data.source,
                    data.result,
                    data.output,
                    data.events,
                    data.journal
                ],
            )
            .map_err(err)?;
        }
        // Newest first; a run is pruned once the runs newer than it (and
        // itself) pass either bound. The run just kept always stays.
        let (keep, max_bytes) = bounds;
        let runs: i64 = tx
            .query_row("SELECT runs FROM totals", [], |r| r.get(0))
            .map_err(err)?;
        if runs > keep as i64 {
            // Past the count: what is older than the newest `keep` goes,
            // found along the key alone.
            tx.execute(
                "DELETE FROM runs WHERE status != 'running' AND id != ?2 AND id <= (
                     SELECT id FROM runs ORDER BY id DESC LIMIT 1 OFFSET ?1)",
                params![keep as i64, id],
            )
            .map_err(err)?;
        }
        let bytes: i64 = tx
            .query_row("SELECT bytes FROM totals", [], |r| r.get(0))
            .map_err(err)?;
        if bytes > max_bytes as i64 {
            // Past the size: newest first, a run goes once it and the
            // runs newer than it pass the bound.
            tx.execute(
                "DELETE FROM runs WHERE id IN (
                     SELECT id FROM (
                         SELECT id, status, SUM(bytes) OVER (ORDER BY id DESC) AS total
                         FROM runs)
                     WHERE total > ?1 AND id != ?2 AND status != 'running')",
                params![max_bytes as i64, id],
            )
            .map_err(err)?;
        }
        tx.commit().map_err(err)
    }
}

/// Printed text as lines, as the spell printed them (a line that held
/// `\n` is more than one).
pub fn output_lines(text: &str) -> Vec<String> {
    if text.is_empty() {
        return Vec::new();
    }
    let text = text.strip_suffix('\n').unwrap_or(text);
    text.split('\n').map(str::to_owned).collect()
}

/// The file's application id, schema version and number of tables, read
/// in one snapshot.
fn whose(conn: &Connection) -> rusqlite::Result<(i32, i32, i64)> {
    conn.query_row(
        "SELECT (SELECT application_id FROM pragma_application_id),
                (SELECT user_version FROM pragma_user_version),
                (SELECT count(*) FROM sqlite_master)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
}

/// `history.no_run` for these ids.
pub fn no_run(ids: &[i64]) -> Error {
    let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
    Error::new(
        ErrorCode::HistoryNoRun,
        format!(
            "no kept run has id {}; `llmspell runs` lists the kept ones",
            ids.join(", ")
        ),
    )
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// True while process `pid` runs (ours always does).
fn alive(pid: i64) -> bool {
    if pid == std::process::id() as i64 {
        return true;
    }
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only asks whether the process exists.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

const SUMMARY: &str = "id, parent, spell, path, engine, args, started_ms, duration_ms, status,
    error_code, error_message, model_calls, tokens, models, bytes, note, pid";

struct Row {
    summary: Summary,
    status: Status,
    pid: i64,
}

fn summary_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    let status = match r.get::<_, String>(8)?.as_str() {
        "running" => Status::Running,
        "ok" => Status::Ok,
        _ => Status::Failed,
    };
    let args: String = r.get(5)?;
    let models: String = r.get(13)?;
    Ok(Row {
        summary: Summary {
            id: r.get(0)?,
            parent: r.get(1)?,
            spell: r.get(2)?,
            path: r.get(3)?,
            engine: r.get(4)?,
            args: serde_json::from_str(&args).unwrap_or_default(),
            started_ms: r.get(6)?,
            duration_ms: r.get(7)?,
            status,
            error_code: r.get(9)?,
            error_message: r.get(10)?,
            model_calls: r.get(11)?,
            tokens: r.get(12)?,
            models: serde_json::from_str(&models).unwrap_or_default(),
            bytes: r.get(14)?,
            note: r.get(15)?,
        },
        status,
        pid: r.get(16)?,
    })
}

impl std::ops::Deref for Row {
    type Target = Summary;
    fn deref(&self) -> &Summary {
        &self.summary
    }
}

/// What a run's row starts with.
pub(crate) struct Start {
    pub parent: Option<i64>,
    pub spell: String,
    pub path: String,
    pub engine: String,
    pub args: serde_json::Map<String, serde_json::Value>,
    pub started_ms: i64,
}

/// What a run's row is completed with.
pub(crate) struct End {
    pub duration_ms: i64,
    pub error: Option<(String, String)>,
    pub model_calls: i64,
    pub tokens: i64,
    pub models: Vec<String>,
    pub bytes: i64,
    pub note: Option<String>,
    /// `None`: only the summary is kept (see `note`).
    pub data: Option<Data>,
}

pub(crate) struct Data {
    pub source: Vec<u8>,
    pub result: Option<String>,
    pub output: String,
    pub events: String,
    pub journal: String,
}

/// Reads `--since`: a duration back from now (`90s`, `30m`, `2h`, `7d`,
/// `2w`), a date (`2026-12-01`, local midnight) or an RFC 3339 time.
pub fn parse_since(text: &str, now_ms: i64) -> Option<i64> {
    if let Some(ago) = parse_duration(text) {
        return Some(now_ms - ago.as_millis() as i64);
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(t.timestamp_millis());
    }
    let date = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    let local = date
        .and_hms_opt(0, 0, 0)?
        .and_local_timezone(chrono::Local)
        .earliest()?;
    Some(local.timestamp_millis())
}

/// `90s`, `30m`, `2h`, `7d`, `2w`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let unit = text.chars().last()?;
    let n: u64 = text[..text.len() - unit.len_utf8()].parse().ok()?;
    let secs = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        _ => return None,
    };
    Some(Duration::from_secs(n.checked_mul(secs)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_a_time_back_a_date_or_a_time() {
        let now = 1_000_000_000_000;
        assert_eq!(parse_since("90s", now), Some(now - 90_000));
        assert_eq!(parse_since("2h", now), Some(now - 7_200_000));
        assert_eq!(parse_since("1w", now), Some(now - 604_800_000));
        assert_eq!(
            parse_since("2026-12-01T10:00:00Z", now),
            Some(1_796_119_200_000)
        );
        assert!(parse_since("2026-12-01", now).is_some());
        for bad in [
            "",
            "h",
            "2x",
            "-3d",
            "yesterday",
            "2026-13-01",
            "99999999999999999999d",
        ] {
            assert_eq!(parse_since(bad, now), None, "{bad:?}");
        }
    }

    #[test]
    fn output_comes_back_line_for_line() {
        assert!(output_lines("").is_empty());
        assert_eq!(output_lines("\n"), [""]);
        assert_eq!(output_lines("a\n\nb\n"), ["a", "", "b"]);
    }

    fn run_with(exchanges: Vec<Exchange>) -> Run {
        Run {
            summary: Summary {
                id: 7,
                parent: None,
                spell: "s.lua".into(),
                path: "/p/s.lua".into(),
                engine: "lua".into(),
                args: Default::default(),
                started_ms: 0,
                duration_ms: Some(1),
                status: Status::Ok,
                error_code: None,
                error_message: None,
                model_calls: 0,
                tokens: 0,
                models: vec![],
                bytes: 1,
                note: None,
            },
            source: b"return 1".to_vec(),
            result: Some(1.into()),
            output: vec![],
            events: vec![],
            exchanges,
        }
    }

    #[test]
    fn a_forks_reply_is_a_model_reply_a_text_an_error_or_a_tools_result() {
        let chat = Exchange::new(
            1,
            "chat",
            serde_json::json!({"model": "m/x"}),
            &Ok(serde_json::json!({"text": "a", "input_tokens": 1, "output_tokens": 2})),
        );
        let tool = Exchange::new(
            2,
            "tool",
            serde_json::json!({"tool": "datetime"}),
            &Ok("then".into()),
        );
        let run = run_with(vec![chat, tool]);
        let text = fork_reply(&run, 1, "\"Mars\"").unwrap().unwrap();
        assert_eq!(
            text,
            serde_json::json!({"text": "Mars", "input_tokens": 0, "output_tokens": 0})
        );
        let calls = fork_reply(
            &run,
            1,
            r#"{"tool_calls": [{"id": "1", "name": "w", "arguments": {}}]}"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(calls["text"], "");
        let e = fork_reply(
            &run,
            1,
            r#"{"error": {"code": "llm.rate_limited", "message": "slow"}}"#,
        )
        .unwrap()
        .unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (ErrorCode::LlmRateLimited, "slow")
        );
        assert_eq!(fork_reply(&run, 2, "\"now\"").unwrap().unwrap(), "now");
        for (bad, says) in [
            ("{", "not JSON"),
            ("[1]", "a string or an object"),
            (r#"{"text": 5}"#, "not a model reply"),
            (r#"{"error": {"code": "nope"}}"#, "not an error code"),
        ] {
            let e = fork_reply(&run, 1, bad).unwrap_err();
            assert_eq!(e.code, ErrorCode::ConfigInvalid);
            assert!(e.message.contains(says), "{bad}: {}", e.message);
        }
        // A fork at 2 replays exchange 1 and answers 2 with the new reply.
        let fork = Fork {
            live_after: None,
            reply: Some((2, Ok("forked".into()))),
        };
        let mut c = replay_cassette(&run, &fork).unwrap();
        let first = c
            .answer("chat", &serde_json::json!({"model": "m/x"}))
            .unwrap();
        assert_eq!(first.unwrap().unwrap()["text"], "a");
        let second = c
            .answer("tool", &serde_json::json!({"tool": "datetime"}))
            .unwrap();
        assert_eq!(second.unwrap().unwrap(), "forked");
        assert!(c
            .answer("chat", &serde_json::json!({"model": "m/x"}))
            .unwrap()
            .is_none());
        let out_of_range = Fork {
            live_after: None,
            reply: Some((3, Ok("x".into()))),
        };
        let Err(e) = replay_cassette(&run, &out_of_range) else {
            panic!("a fork past the journal")
        };
        assert!(e.message.contains("from 1 to 2"), "{}", e.message);
    }

    #[test]
    fn a_spell_filter_matches_its_name_or_its_stem_and_nothing_like_it() {
        let dir = tempfile::tempdir().unwrap();
        let h = History::open(dir.path()).unwrap();
        for spell in [
            "chat.lua",
            "chat.js",
            "chat.old.lua",
            "c_at.lua",
            "chatty.lua",
            "50%.js",
        ] {
            let start = Start {
                parent: None,
                spell: spell.into(),
                path: spell.into(),
                engine: "lua".into(),
                args: Default::default(),
                started_ms: 1,
            };
            h.begin(&start).unwrap();
        }
        let names = |s: &str| -> Vec<String> {
            let f = Filter {
                spell: Some(s.into()),
                ..Filter::default()
            };
            let mut n: Vec<_> = h.list(&f).unwrap().into_iter().map(|s| s.spell).collect();
            n.sort();
            n
        };
        assert_eq!(names("chat"), ["chat.js", "chat.lua"]);
        assert_eq!(names("chat.lua"), ["chat.lua"]);
        assert_eq!(names("chat.old"), ["chat.old.lua"]);
        assert_eq!(names("c_at"), ["c_at.lua"]);
        assert_eq!(names("c%"), Vec::<String>::new());
        assert_eq!(names("50%"), ["50%.js"]);
        assert_eq!(h.version().unwrap(), h.version().unwrap());
    }
}
