//! Watching the project folder and its subfolders: files saved here or by
//! any other program come back to the loop as `Action::Changed`. Reads are
//! not changes, so the IDE reading a spell never wakes itself, and hidden
//! folders (the store's `.llmspell/`) are not watched for news.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use notify_debouncer_full::notify::{EventKind, RecursiveMode};
use notify_debouncer_full::{new_debouncer, DebounceEventResult};

use crate::action::Action;

/// Editors save in bursts (write, rename, touch): one action per burst.
const SETTLE: Duration = Duration::from_millis(50);

/// Starts watching `dir`; changes stop being reported when the returned
/// guard is dropped.
pub fn watch(dir: &Path, tx: mpsc::Sender<Action>) -> Result<impl Sized, String> {
    let root = dir.to_path_buf();
    let mut debouncer = new_debouncer(SETTLE, None, move |result: DebounceEventResult| {
        let Ok(events) = result else { return };
        let paths: Vec<PathBuf> = events
            .iter()
            .filter(|e| {
                matches!(
                    e.kind,
                    EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)
                )
            })
            .flat_map(|e| e.paths.iter().cloned())
            // The store's writes in `.llmspell/` (and the like) are not news.
            .filter(|p| !in_skipped_folder(&root, p))
            .collect();
        if !paths.is_empty() {
            let _ = tx.send(Action::Changed(paths));
        }
    })
    .map_err(|e| e.to_string())?;
    debouncer
        .watch(dir, RecursiveMode::Recursive)
        .map_err(|e| format!("cannot watch {}: {e}", dir.display()))?;
    Ok(debouncer)
}

/// Whether `path` is, or is inside, a folder of `root` that holds no
/// spells.
fn in_skipped_folder(root: &Path, path: &Path) -> bool {
    let inside = path.strip_prefix(root).unwrap_or(path);
    inside
        .components()
        .any(|c| crate::state::skipped_folder(&c.as_os_str().to_string_lossy()))
}
