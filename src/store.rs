//! Persistent state: one SQLite database per project, `.llmspell/state.db`.
//!
//! Why SQLite: a spell's state is shared by every spell of the project, and
//! the CLI and the IDE may run spells of one project at the same time in
//! different processes. SQLite (WAL mode, busy timeout) lets several processes
//! read and write one file safely, commits atomically, and keeps every
//! acknowledged write when a process is killed. Pure-Rust stores such as redb
//! lock the file to one process.
//!
//! Values are stored as JSON text with a version number per key, which makes
//! `update` a compare-and-set that never holds a lock while script code runs.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use crate::error::{Error, ErrorCode, Result};
use crate::stop::StopHandle;

/// How long a write waits for another process's lock, in steps of
/// [`BUSY_STEP`].
const BUSY_STEPS: i32 = 5000;
const BUSY_STEP: Duration = Duration::from_millis(2);

thread_local! {
    /// The stop handle of the spell running on this thread, so that a
    /// spell waiting for another process's lock can still be stopped.
    static THREAD_STOP: RefCell<Option<StopHandle>> = const { RefCell::new(None) };
}

/// Tells the store which spell runs on this thread (None when it ends).
pub(crate) fn watch_stop(handle: Option<StopHandle>) {
    THREAD_STOP.with(|s| *s.borrow_mut() = handle);
}

fn stopped_here() -> bool {
    THREAD_STOP.with(|s| s.borrow().as_ref().is_some_and(StopHandle::is_stopped))
}

/// Waits out another writer's lock in short steps, giving up at once when
/// the waiting spell is stopped, and after about ten seconds otherwise.
fn busy(count: i32) -> bool {
    if count >= BUSY_STEPS || stopped_here() {
        return false;
    }
    std::thread::sleep(BUSY_STEP);
    true
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// The project's state database.
pub struct Store {
    conn: Mutex<Connection>,
    path: PathBuf,
    /// SQLite's WAL-index header, when it could be mapped: what makes the
    /// read cache safe across processes.
    wal: Option<WalHeader>,
    cache: Mutex<ReadCache>,
}

/// Values read since the database last changed, by key (`None`: not set).
/// Valid only while the WAL-index header is the one it was filled under:
/// SQLite rewrites that header on every commit, by any connection of any
/// process, so a read that finds it unchanged needs no transaction (and
/// none of the file locks a transaction takes).
#[derive(Default)]
struct ReadCache {
    header: Header,
    entries: HashMap<String, Option<(Arc<str>, i64)>>,
    bytes: usize,
}

/// The cache is dropped whole past this many bytes of text.
const CACHE_BYTES: usize = 8 << 20;

type Header = [u64; 6];

/// The first copy of the WAL-index header (48 bytes at the start of
/// `state.db-shm`; its layout is SQLite's documented WAL format), mapped
/// read-only and shared. SQLite never truncates the file while a
/// connection (ours) has it open.
struct WalHeader {
    at: *const u64,
    len: usize,
    _file: std::fs::File,
}

// SAFETY: the mapping is read-only and read with volatile loads; it lives
// as long as the struct, on any thread.
unsafe impl Send for WalHeader {}
unsafe impl Sync for WalHeader {}

/// How much of the -shm file is mapped: one page, holding both header copies.
const MAPPED: usize = 4096;

impl WalHeader {
    fn map(db: &Path) -> Option<WalHeader> {
        use std::os::unix::io::AsRawFd;
        let mut shm = db.as_os_str().to_owned();
        shm.push("-shm");
        let file = std::fs::File::open(shm).ok()?;
        if file.metadata().ok()?.len() < MAPPED as u64 {
            return None;
        }
        // SAFETY: a read-only shared mapping of a page the file has; the
        // file stays open (and at least that long) while it is mapped.
        let at = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                MAPPED,
                libc::PROT_READ,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if at == libc::MAP_FAILED {
            return None;
        }
        Some(WalHeader {
            at: at as *const u64,
            len: MAPPED,
            _file: file,
        })
    }

    /// The header now. Another process may be rewriting it: a torn read
    /// only ever differs from the header before, which drops the cache.
    fn now(&self) -> Header {
        let mut h = [0; 6];
        for (i, word) in h.iter_mut().enumerate() {
            // SAFETY: inside the mapped page, aligned (mmap is page-aligned).
            *word = unsafe { std::ptr::read_volatile(self.at.add(i)) };
        }
        h
    }
}

impl Drop for WalHeader {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `map`, unmapped once.
        unsafe { libc::munmap(self.at as *mut libc::c_void, self.len) };
    }
}

/// One stored value and its version; the version grows on every write.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub value: serde_json::Value,
    pub version: i64,
}

impl Store {
    /// Opens (creating when needed) `DIR/.llmspell/state.db`.
    pub fn open(project_dir: &Path) -> Result<Store> {
        let dir = project_dir.join(".llmspell");
        std::fs::create_dir_all(&dir).map_err(|e| io_error(&dir, e))?;
        let path = dir.join("state.db");
        let mut conn = Connection::open(&path).map_err(|e| db_error(&path, e))?;
        conn.busy_handler(Some(busy))
            .map_err(|e| db_error(&path, e))?;
        // WAL: readers never block the writer, and a commit is in the log
        // before it returns, so killing the process loses nothing
        // acknowledged. NORMAL sync: an OS crash may lose the last commits,
        // never corrupt the file.
        // Switching a new database to WAL needs it alone for a moment, and
        // SQLite answers "locked" at once, without its busy handler, when
        // another process is creating it too: wait and try again, as
        // the busy handler would.
        // Pages of 1 KiB (for a new database; an old one keeps its own):
        // a commit writes and checksums a quarter of what 4 KiB pages
        // cost, which made a small `state.set` about a fifth cheaper
        // (benches/README.md), and large values no dearer.
        let mut tries = 0;
        loop {
            let done = conn.execute_batch(
                "PRAGMA page_size=1024;
                 PRAGMA journal_mode=WAL;
                 PRAGMA synchronous=NORMAL;
                 CREATE TABLE IF NOT EXISTS state (
                     key TEXT PRIMARY KEY NOT NULL,
                     value TEXT NOT NULL,
                     version INTEGER NOT NULL
                 );",
            );
            match done {
                Ok(()) => break,
                Err(e) if is_busy(&e) && busy(tries) => tries += 1,
                Err(e) => return Err(db_error(&path, e)),
            }
        }
        let wal = WalHeader::map(&path);
        Ok(Store {
            conn: Mutex::new(conn),
            path,
            wal,
            cache: Mutex::default(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>) -> Result<T> {
        let mut conn = match self.conn.lock() {
            Ok(c) => c,
            // A panic elsewhere cannot leave SQLite half-written: go on.
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut conn).map_err(|e| db_error(&self.path, e))
    }

    pub fn get(&self, key: &str) -> Result<Option<Entry>> {
        let Some((text, version)) = self.get_text(key)? else {
            return Ok(None);
        };
        let value = serde_json::from_str(&text).map_err(|e| self.not_json(key, e))?;
        Ok(Some(Entry { value, version }))
    }

    /// A key's stored JSON text and version, unparsed (the caller parses
    /// it straight into its own values). Served from the read cache while
    /// no connection has committed since it was read.
    pub fn get_text(&self, key: &str) -> Result<Option<(Arc<str>, i64)>> {
        let Some(wal) = &self.wal else {
            return self.read(key);
        };
        let header = wal.now();
        {
            let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            if cache.header != header {
                *cache = ReadCache {
                    header,
                    ..ReadCache::default()
                };
            }
            if let Some(hit) = cache.entries.get(key) {
                return Ok(hit.clone());
            }
        }
        // Read after the header: what is read is at least as new as it.
        let found = self.read(key)?;
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.header == header {
            let size = key.len() + found.as_ref().map_or(0, |(t, _)| t.len());
            if cache.bytes + size > CACHE_BYTES {
                cache.entries.clear();
                cache.bytes = 0;
            }
            cache.bytes += size;
            cache.entries.insert(key.to_owned(), found.clone());
        }
        Ok(found)
    }

    /// A key's text and version from the database itself.
    fn read(&self, key: &str) -> Result<Option<(Arc<str>, i64)>> {
        self.with(|c| {
            c.prepare_cached("SELECT value, version FROM state WHERE key = ?1")?
                .query_row([key], |r| {
                    Ok((Arc::from(r.get::<_, String>(0)?), r.get(1)?))
                })
                .optional()
        })
    }

    /// The error for a stored value that is not JSON (another program
    /// wrote the file).
    pub fn not_json(&self, key: &str, e: impl std::fmt::Display) -> Error {
        Error::new(
            ErrorCode::StateIo,
            format!(
                "the stored value of {key:?} in {} is not JSON: {e}",
                self.path.display()
            ),
        )
    }

    pub fn set(&self, key: &str, value: &serde_json::Value) -> Result<()> {
        self.set_text(key, &value.to_string())
    }

    /// Stores JSON text the caller made (it must be JSON).
    pub fn set_text(&self, key: &str, text: &str) -> Result<()> {
        self.with(|c| {
            c.prepare_cached(
                "INSERT INTO state (key, value, version) VALUES (?1, ?2, 1)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value, version = version + 1",
            )?
            .execute(params![key, text])
            .map(|_| ())
        })
    }

    pub fn delete(&self, key: &str) -> Result<bool> {
        self.with(|c| {
            c.prepare_cached("DELETE FROM state WHERE key = ?1")?
                .execute([key])
                .map(|n| n > 0)
        })
    }

    /// Keys starting with `prefix`, sorted by their UTF-8 bytes.
    pub fn keys(&self, prefix: &str) -> Result<Vec<String>> {
        self.with(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT key FROM state WHERE substr(key, 1, length(?1)) = ?1 ORDER BY key",
            )?;
            let rows = stmt.query_map([prefix], |r| r.get::<_, String>(0))?;
            rows.collect()
        })
    }

    /// Writes `new` (or deletes, for `None`) only if the key is still at
    /// `expected` (`None`: absent). False when another writer got there first.
    pub fn compare_and_set(
        &self,
        key: &str,
        expected: Option<i64>,
        new: Option<&serde_json::Value>,
    ) -> Result<bool> {
        let text = new.map(|v| v.to_string());
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let current: Option<i64> = tx
                .prepare_cached("SELECT version FROM state WHERE key = ?1")?
                .query_row([key], |r| r.get(0))
                .optional()?;
            if current != expected {
                return Ok(false);
            }
            match &text {
                Some(text) => tx
                    .prepare_cached(
                        "INSERT INTO state (key, value, version) VALUES (?1, ?2, 1)
                         ON CONFLICT(key) DO UPDATE SET value = excluded.value, version = version + 1",
                    )?
                    .execute(params![key, text])?,
                None => tx
                    .prepare_cached("DELETE FROM state WHERE key = ?1")?
                    .execute([key])?,
            };
            tx.commit()?;
            Ok(true)
        })
    }
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::new(
        ErrorCode::StateIo,
        format!(
            "cannot create {}: {e}; check the folder's permissions",
            path.display()
        ),
    )
}

fn db_error(path: &Path, e: rusqlite::Error) -> Error {
    Error::new(ErrorCode::StateIo, format!("{}: {e}", path.display()))
}

/// Open state databases, one per project folder, shared by the spells of a
/// runtime.
#[derive(Clone, Default)]
pub(crate) struct Stores(Arc<Mutex<HashMap<PathBuf, Arc<Store>>>>);

impl Stores {
    pub(crate) fn open(&self, dir: &Path) -> Result<Arc<Store>> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = map.get(dir) {
            return Ok(s.clone());
        }
        let store = Arc::new(Store::open(dir)?);
        map.insert(dir.to_path_buf(), store.clone());
        Ok(store)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_versions_and_prefixes() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        assert_eq!(s.get("a").unwrap(), None);
        s.set("a", &json!({"n": 1})).unwrap();
        s.set("a", &json!({"n": 2})).unwrap();
        s.set("ab", &json!(1.5)).unwrap();
        s.set("b", &json!(null)).unwrap();
        let e = s.get("a").unwrap().unwrap();
        assert_eq!(e.value, json!({"n": 2}));
        assert_eq!(e.version, 2);
        assert_eq!(s.keys("a").unwrap(), vec!["a", "ab"]);
        assert_eq!(s.keys("").unwrap(), vec!["a", "ab", "b"]);
        assert!(s.delete("b").unwrap());
        assert!(!s.delete("b").unwrap());
    }

    #[test]
    fn a_new_database_has_small_pages_and_an_old_one_keeps_its_own() {
        let page_size = |dir: &Path| -> i64 {
            let c = Connection::open(dir.join(".llmspell/state.db")).unwrap();
            c.query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap()
        };
        let new = tempfile::tempdir().unwrap();
        Store::open(new.path())
            .unwrap()
            .set("k", &json!(1))
            .unwrap();
        assert_eq!(page_size(new.path()), 1024);

        // A database made with SQLite's default pages, as earlier
        // versions made it: opened, written and read as before.
        let old = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(old.path().join(".llmspell")).unwrap();
        let c = Connection::open(old.path().join(".llmspell/state.db")).unwrap();
        c.execute_batch(
            "PRAGMA page_size=4096; PRAGMA journal_mode=WAL;
             CREATE TABLE state (key TEXT PRIMARY KEY NOT NULL,
                                 value TEXT NOT NULL, version INTEGER NOT NULL);
             INSERT INTO state VALUES ('k', '\"kept\"', 3);",
        )
        .unwrap();
        drop(c);
        let s = Store::open(old.path()).unwrap();
        assert_eq!(s.get("k").unwrap().unwrap().value, json!("kept"));
        s.set("k", &json!("x".repeat(5000))).unwrap();
        assert_eq!(s.get("k").unwrap().unwrap().version, 4);
        assert_eq!(page_size(old.path()), 4096);
    }

    #[test]
    fn compare_and_set_refuses_a_stale_version() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        assert!(s.compare_and_set("k", None, Some(&json!(1))).unwrap());
        assert!(!s.compare_and_set("k", None, Some(&json!(2))).unwrap());
        assert!(s.compare_and_set("k", Some(1), Some(&json!(2))).unwrap());
        assert_eq!(s.get("k").unwrap().unwrap().value, json!(2));
        assert!(s.compare_and_set("k", Some(2), None).unwrap());
        assert_eq!(s.get("k").unwrap(), None);
    }

    #[test]
    fn a_cached_read_sees_every_later_commit_from_any_connection() {
        let dir = tempfile::tempdir().unwrap();
        let a = Store::open(dir.path()).unwrap();
        assert!(a.wal.is_some(), "the WAL index should be mapped");
        let b = Store::open(dir.path()).unwrap();
        a.set("k", &json!(1)).unwrap();
        assert_eq!(a.get("k").unwrap().unwrap().value, json!(1));
        assert_eq!(a.get("k").unwrap().unwrap().value, json!(1));
        assert_eq!(a.get("gone").unwrap(), None);
        // Another handle, as another process's would be.
        b.set("k", &json!(2)).unwrap();
        b.set("gone", &json!("here")).unwrap();
        assert_eq!(a.get("k").unwrap().unwrap().value, json!(2));
        assert_eq!(a.get("gone").unwrap().unwrap().value, json!("here"));
        // Another program on the file, SQLite alone.
        let other = Connection::open(dir.path().join(".llmspell/state.db")).unwrap();
        other
            .execute(
                "UPDATE state SET value = '3', version = version + 1 WHERE key = 'k'",
                [],
            )
            .unwrap();
        assert_eq!(a.get("k").unwrap().unwrap().value, json!(3));
        other
            .execute("DELETE FROM state WHERE key = 'k'", [])
            .unwrap();
        assert_eq!(a.get("k").unwrap(), None);
        // A checkpoint that empties the log, then one write: the log starts
        // over at the same length it had, and the read still sees it.
        other
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
        other
            .execute(
                "INSERT INTO state (key, value, version) VALUES ('k', '4', 1)",
                [],
            )
            .unwrap();
        assert_eq!(a.get("k").unwrap().unwrap().value, json!(4));
    }

    #[test]
    fn two_handles_on_one_file_see_each_other() {
        let dir = tempfile::tempdir().unwrap();
        let a = Store::open(dir.path()).unwrap();
        let b = Store::open(dir.path()).unwrap();
        a.set("shared", &json!("yes")).unwrap();
        assert_eq!(b.get("shared").unwrap().unwrap().value, json!("yes"));
    }
}
