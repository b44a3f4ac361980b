//! The file tools' way into the project folder: `read_file`, `write_file`
//! and `list_files`, as far as `[capabilities] fs` allows.
//!
//! Every path is resolved beneath the project folder by cap-std, links
//! followed only while they stay inside it, and each step works on an
//! opened handle, so a link swapped in meanwhile cannot lead out. Writes go
//! to a fresh temporary file created beside the target (never through an
//! existing name, link or not) and then renamed over it. The project's own
//! `llmspell.toml` (and the config file in use) and everything under
//! `.llmspell/` are never written, whatever path or link leads there, and
//! `.llmspell/` is never read. Only regular files are read, up to a cap,
//! and opening one never blocks (a FIFO or a device is refused).

use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use cap_std::ambient_authority;
use cap_std::fs::{Dir, MetadataExt, OpenOptions, OpenOptionsExt};

use crate::config::{Config, FsAccess, FILE_NAME};
use crate::error::{Error, ErrorCode, Result};
use crate::value::Value;

/// The most `read_file` reads.
pub(super) const MAX_READ: u64 = 4 << 20;

/// llmspell's own folder in a project.
const OWN_DIR: &str = ".llmspell";

/// A file or folder's identity: the same on every path that leads to it.
type Id = (u64, u64);

fn id(m: &cap_std::fs::Metadata) -> Id {
    (m.dev(), m.ino())
}

pub(super) fn denied(what: String) -> Error {
    Error::new(ErrorCode::SandboxDenied, what)
}

pub(super) fn failed(name: &str, what: impl std::fmt::Display) -> Error {
    Error::new(ErrorCode::ToolFailed, format!("{name}: {what}"))
}

/// The project folder, opened, and what in it is llmspell's own.
struct Project {
    root: Dir,
    root_id: Id,
    /// `.llmspell/` and every folder inside it.
    own_dirs: Vec<Id>,
    /// Every file inside `.llmspell/`.
    own_files: Vec<Id>,
    /// Files that must not be replaced: (folder, name).
    config: Vec<(Id, String)>,
}

impl Project {
    fn open(config: &Config, need: FsAccess) -> Result<Project> {
        let granted = config.capabilities.fs;
        let allowed = match need {
            FsAccess::Read => granted != FsAccess::None,
            _ => granted == FsAccess::ReadWrite,
        };
        if !allowed {
            let want = if need == FsAccess::Read {
                "fs = \"read\" or fs = true"
            } else {
                "fs = true"
            };
            return Err(denied(format!(
                "the file tools need [capabilities] {want} in llmspell.toml"
            )));
        }
        let dir = &config.project_dir;
        let root = Dir::open_ambient_dir(dir, ambient_authority())
            .map_err(|e| failed("project folder", e))?;
        let root_id = id(&root
            .dir_metadata()
            .map_err(|e| failed("project folder", e))?);
        let (mut own_dirs, mut own_files) = (Vec::new(), Vec::new());
        if let Ok(own) = root.open_dir(OWN_DIR) {
            collect(&own, &mut own_dirs, &mut own_files, 0);
        }
        let mut config_files = vec![(root_id, FILE_NAME.to_owned())];
        if let Some(file) = &config.file {
            let parent = file.parent().filter(|p| !p.as_os_str().is_empty());
            let parent = parent.unwrap_or(Path::new("."));
            if let (Ok(m), Some(name)) = (
                cap_std::fs::Dir::open_ambient_dir(parent, ambient_authority())
                    .and_then(|d| d.dir_metadata()),
                file.file_name(),
            ) {
                config_files.push((id(&m), name.to_string_lossy().into_owned()));
            }
        }
        Ok(Project {
            root,
            root_id,
            own_dirs,
            own_files,
            config: config_files,
        })
    }

    /// `dir`, unless it is llmspell's own.
    fn check_dir(&self, dir: &Dir, rel: &str) -> Result<Id> {
        let m = dir.dir_metadata().map_err(|e| failed(rel, e))?;
        let dir_id = id(&m);
        if self.own_dirs.contains(&dir_id) {
            return Err(own(rel));
        }
        Ok(dir_id)
    }

    /// The folder `parent` (relative to the root), opened beneath it and
    /// checked at every step; made first when `create`.
    fn folder(&self, parent: &Path, rel: &str, create: bool) -> Result<(Dir, Id)> {
        let mut prefix = PathBuf::new();
        for part in parent.components() {
            prefix.push(part);
            let dir = match self.root.open_dir(&prefix) {
                Ok(d) => d,
                Err(e) if create && e.kind() == std::io::ErrorKind::NotFound => {
                    self.root
                        .create_dir(&prefix)
                        .map_err(|e| escape_or(rel, e))?;
                    self.root.open_dir(&prefix).map_err(|e| escape_or(rel, e))?
                }
                Err(e) => return Err(escape_or(rel, e)),
            };
            self.check_dir(&dir, rel)?;
        }
        let dir = if prefix.as_os_str().is_empty() {
            self.root.try_clone().map_err(|e| failed(rel, e))?
        } else {
            self.root.open_dir(&prefix).map_err(|e| escape_or(rel, e))?
        };
        let dir_id = self.check_dir(&dir, rel)?;
        Ok((dir, dir_id))
    }
}

/// Every folder under `dir` (itself included) and every file, a few
/// levels deep.
fn collect(dir: &Dir, dirs: &mut Vec<Id>, files: &mut Vec<Id>, depth: usize) {
    if let Ok(m) = dir.dir_metadata() {
        dirs.push(id(&m));
    }
    if depth > 8 {
        return;
    }
    let Ok(entries) = dir.entries() else { return };
    for entry in entries.flatten() {
        match entry.file_type() {
            Ok(t) if t.is_dir() => {
                if let Ok(sub) = entry.open_dir() {
                    collect(&sub, dirs, files, depth + 1);
                }
            }
            Ok(_) => {
                if let Ok(m) = entry.metadata() {
                    files.push(id(&m));
                }
            }
            Err(_) => {}
        }
    }
}

fn own(rel: &str) -> Error {
    denied(format!(
        "{rel:?} is llmspell's own (its state and config); use the state bridge"
    ))
}

/// cap-std refuses a path that resolves outside the root: say so.
fn escape_or(rel: &str, e: std::io::Error) -> Error {
    #[cfg(unix)]
    if e.raw_os_error() == Some(libc::EXDEV) {
        return outside(rel);
    }
    if e.to_string().contains("outside of the filesystem") {
        return outside(rel);
    }
    failed(rel, e)
}

fn outside(rel: &str) -> Error {
    denied(format!("{rel:?} {LEADS_OUT} (through .. or a link)"))
}

/// A path relative to the project, split into its folder and its name.
fn split(rel: &str) -> Result<(PathBuf, Option<String>)> {
    let p = Path::new(rel);
    let mut parts = Vec::new();
    for c in p.components() {
        match c {
            Component::Normal(n) => parts.push(n.to_owned()),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(denied(format!(
                    "{rel:?} is outside the project folder; give a path relative to it, without .."
                )))
            }
        }
    }
    if parts.first().is_some_and(|n| n == OWN_DIR) {
        return Err(own(rel));
    }
    let name = parts.pop().map(|n| n.to_string_lossy().into_owned());
    Ok((parts.iter().collect(), name))
}

/// cap-std takes every absolute link for a way out (it cannot know where
/// the project sits). Such a link that does lead inside is followed here:
/// resolved once, then used as a path beneath the root, where cap-std
/// checks it again, so the answer is never a path outside.
fn through_absolute_links(
    config: &Config,
    rel: &str,
    op: impl Fn(&str) -> Result<Value>,
) -> Result<Value> {
    match op(rel) {
        Err(e) if e.code == ErrorCode::SandboxDenied && e.message.contains(LEADS_OUT) => {
            let root = &config.project_dir;
            let inside = std::fs::canonicalize(root).ok().and_then(|root_real| {
                let real = std::fs::canonicalize(root.join(rel)).ok()?;
                let tail = real.strip_prefix(&root_real).ok()?.to_owned();
                Some(tail.to_string_lossy().into_owned())
            });
            match inside {
                Some(tail) if tail != rel && !tail.is_empty() => op(&tail),
                _ => Err(e),
            }
        }
        other => other,
    }
}

const LEADS_OUT: &str = "leads out of the project folder";

pub(super) fn read_file(config: &Config, rel: &str) -> Result<Value> {
    through_absolute_links(config, rel, |rel| read_resolved(config, rel))
}

fn read_resolved(config: &Config, rel: &str) -> Result<Value> {
    let project = Project::open(config, FsAccess::Read)?;
    let (parent, name) = split(rel)?;
    let name = name.ok_or_else(|| failed(rel, "a file path is needed"))?;
    let (dir, _) = project.folder(&parent, rel, false)?;
    let mut opts = OpenOptions::new();
    opts.read(true);
    // Opening a FIFO for reading would wait for a writer: never block.
    #[cfg(unix)]
    opts.custom_flags(libc::O_NONBLOCK);
    let file = dir.open_with(&name, &opts).map_err(|e| escape_or(rel, e))?;
    let meta = file.metadata().map_err(|e| failed(rel, e))?;
    if project.own_files.contains(&id(&meta)) {
        return Err(own(rel));
    }
    if meta.is_dir() {
        return Err(failed(rel, "a folder, not a file (list_files lists it)"));
    }
    if !meta.is_file() {
        return Err(failed(rel, "not a regular file (a FIFO, socket or device)"));
    }
    if meta.len() > MAX_READ {
        return Err(failed(rel, format!("larger than {} MiB", MAX_READ >> 20)));
    }
    let mut bytes = Vec::new();
    file.take(MAX_READ + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| failed(rel, e))?;
    if bytes.len() as u64 > MAX_READ {
        return Err(failed(rel, format!("larger than {} MiB", MAX_READ >> 20)));
    }
    String::from_utf8(bytes)
        .map(Value::Str)
        .map_err(|_| failed(rel, "not UTF-8 text"))
}

pub(super) fn write_file(config: &Config, rel: &str, content: &str) -> Result<Value> {
    through_absolute_links(config, rel, |rel| write_resolved(config, rel, content))
}

fn write_resolved(config: &Config, rel: &str, content: &str) -> Result<Value> {
    let project = Project::open(config, FsAccess::ReadWrite)?;
    let (parent, name) = split(rel)?;
    let name = name.ok_or_else(|| failed(rel, "a file path is needed"))?;
    let (dir, dir_id) = project.folder(&parent, rel, true)?;
    if dir
        .symlink_metadata(&name)
        .is_ok_and(|m| m.file_type().is_symlink())
    {
        // Through a link, as a shell's `>` writes: to where it leads,
        // checked again there (a link out, or to llmspell's own, fails).
        let target = project
            .root
            .canonicalize(parent.join(&name))
            .map_err(|e| escape_or(rel, e))?;
        let target = target.to_string_lossy().into_owned();
        if target == rel {
            return Err(failed(rel, "a link that leads to itself"));
        }
        return write_file(config, &target, content).map_err(|e| match e.code {
            ErrorCode::SandboxDenied => {
                denied(format!("{rel:?} is a link to {target:?}: {}", e.message))
            }
            _ => e,
        });
    }
    if project
        .config
        .iter()
        .any(|(d, n)| *d == dir_id && *n == name)
        || (dir_id == project.root_id && name == OWN_DIR)
    {
        return Err(own(rel));
    }
    // Write beside, then rename: a reader never sees half a file, and the
    // temporary name is new (created exclusively, so no planted link or
    // file under that name is followed or reused).
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let tmp = format!(
        ".{name}.llmspell-{}-{}.tmp",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    let written = dir.open_with(&tmp, &opts).and_then(|mut f| {
        f.write_all(content.as_bytes())?;
        f.sync_data()
    });
    let renamed = written.and_then(|()| dir.rename(&tmp, &dir, &name));
    if let Err(e) = renamed {
        let _ = dir.remove_file(&tmp);
        return Err(failed(rel, e));
    }
    Ok(Value::Int(content.len() as i64))
}

pub(super) fn list_files(config: &Config, rel: &str) -> Result<Value> {
    through_absolute_links(config, rel, |rel| list_resolved(config, rel))
}

fn list_resolved(config: &Config, rel: &str) -> Result<Value> {
    let project = Project::open(config, FsAccess::Read)?;
    let (parent, name) = split(rel)?;
    let path = match &name {
        Some(n) => parent.join(n),
        None => parent,
    };
    let (dir, dir_id) = project.folder(&path, rel, false)?;
    let mut names: Vec<String> = dir
        .entries()
        .map_err(|e| failed(rel, e))?
        .filter_map(|e| e.ok())
        .filter(|e| !(dir_id == project.root_id && e.file_name() == OWN_DIR))
        .map(|e| {
            let mut n = e.file_name().to_string_lossy().into_owned();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                n.push('/');
            }
            n
        })
        .collect();
    names.sort();
    Ok(Value::Array(names.into_iter().map(Value::Str).collect()))
}

/// The most files and bytes one `file_search` reads, and how deep it goes.
const SEARCH_FILES: usize = 20_000;
const SEARCH_BYTES: u64 = 256 << 20;
const SEARCH_DEPTH: usize = 32;
/// The most of a matching line a match shows.
const LINE_CHARS: usize = 300;

/// `file_search`: the lines that `matcher` matches in the text files under
/// `rel` (a folder or a file) inside the project, as ripgrep finds them:
/// hidden files and folders (and so `.llmspell/`) are skipped, links are
/// not followed, binary files are passed over. At most `max` matches, in
/// path order.
pub(super) fn search_files(
    config: &Config,
    rel: &str,
    matcher: &grep_regex::RegexMatcher,
    max: usize,
) -> Result<Value> {
    through_absolute_links(config, rel, |rel| {
        search_resolved(config, rel, matcher, max)
    })
}

struct Search<'a> {
    project: &'a Project,
    matcher: &'a grep_regex::RegexMatcher,
    searcher: grep_searcher::Searcher,
    max: usize,
    found: Vec<Value>,
    files: usize,
    bytes: u64,
    /// Whether it stopped short: `max` matches, or the file or byte budget.
    cut: bool,
}

fn search_resolved(
    config: &Config,
    rel: &str,
    matcher: &grep_regex::RegexMatcher,
    max: usize,
) -> Result<Value> {
    let project = Project::open(config, FsAccess::Read)?;
    let (parent, name) = split(rel)?;
    let mut search = Search {
        project: &project,
        matcher,
        searcher: grep_searcher::SearcherBuilder::new()
            .binary_detection(grep_searcher::BinaryDetection::quit(0))
            .line_number(true)
            .build(),
        max,
        found: Vec::new(),
        files: 0,
        bytes: 0,
        cut: false,
    };
    let path = match &name {
        Some(n) => parent.join(n),
        None => parent.clone(),
    };
    match project.folder(&path, rel, false) {
        Ok((dir, _)) => search.folder(&dir, &path, 0),
        // A file: search it alone.
        Err(e) if name.is_some() && e.code != ErrorCode::SandboxDenied => {
            let (dir, _) = project.folder(&parent, rel, false)?;
            let name = name.unwrap_or_default();
            search.file(&dir, &name, &path)?;
        }
        Err(e) => return Err(e),
    }
    let mut out = crate::value::Map::new();
    out.insert("matches".into(), Value::Array(search.found));
    out.insert("truncated".into(), Value::Bool(search.cut));
    Ok(Value::Map(out))
}

impl Search<'_> {
    fn full(&mut self) -> bool {
        if self.found.len() >= self.max || self.files >= SEARCH_FILES || self.bytes >= SEARCH_BYTES
        {
            self.cut = true;
        }
        self.cut
    }

    fn folder(&mut self, dir: &Dir, at: &Path, depth: usize) {
        let Ok(entries) = dir.entries() else { return };
        let mut entries: Vec<_> = entries.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            if self.full() {
                return;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            // The entry's own type: a link is not followed.
            match entry.file_type() {
                Ok(t) if t.is_dir() && depth < SEARCH_DEPTH => {
                    if let Ok(sub) = entry.open_dir() {
                        if self.project.check_dir(&sub, &name).is_ok() {
                            self.folder(&sub, &at.join(&name), depth + 1);
                        }
                    }
                }
                Ok(t) if t.is_file() => {
                    let _ = self.file(dir, &name, &at.join(&name));
                }
                _ => {}
            }
        }
    }

    fn file(&mut self, dir: &Dir, name: &str, at: &Path) -> Result<()> {
        let rel = at.to_string_lossy().into_owned();
        let mut opts = OpenOptions::new();
        opts.read(true);
        #[cfg(unix)]
        opts.custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW);
        let file = dir.open_with(name, &opts).map_err(|e| escape_or(&rel, e))?;
        let meta = file.metadata().map_err(|e| failed(&rel, e))?;
        if !meta.is_file() || meta.len() > MAX_READ || self.project.own_files.contains(&id(&meta)) {
            return Ok(());
        }
        let mut bytes = Vec::new();
        file.take(MAX_READ)
            .read_to_end(&mut bytes)
            .map_err(|e| failed(&rel, e))?;
        self.files += 1;
        self.bytes += bytes.len() as u64;
        let room = self.max.saturating_sub(self.found.len());
        let mut hits = Vec::new();
        let sink = grep_searcher::sinks::Lossy(|line: u64, text: &str| {
            let text = text.trim_end_matches(['\n', '\r']);
            let shown: String = text.chars().take(LINE_CHARS).collect();
            hits.push((line, shown));
            Ok(hits.len() < room)
        });
        let _ = self.searcher.search_slice(self.matcher, &bytes, sink);
        for (line, text) in hits {
            let mut m = crate::value::Map::new();
            m.insert("path".into(), Value::Str(rel.clone()));
            m.insert("line".into(), Value::Int(line as i64));
            m.insert("text".into(), Value::Str(text));
            self.found.push(Value::Map(m));
        }
        Ok(())
    }
}
