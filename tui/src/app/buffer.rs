//! The spell list, the open buffer and its file on disk: choosing a
//! spell, saving over only what the buffer knows is there, hearing what
//! changed on disk, and never dropping unsaved edits without asking.

use std::path::{Path, PathBuf};

use super::run;
use crate::editor::{Editor, Read};
use crate::state::*;

/// Up or Down in the spell list.
pub(super) fn step(app: &mut App, up: bool) -> Vec<Effect> {
    match app.spell_step(up) {
        Some(to) => choose(app, to),
        None => Vec::new(),
    }
}

/// Opens the spell at `to` in the list. Another spell would replace the
/// buffer: not while it has edits, unless chosen again (the same key, or a
/// click).
pub(super) fn choose(app: &mut App, to: usize) -> Vec<Effect> {
    if app.editor.dirty() && app.spells.get(to) != app.open.as_ref() {
        if app.asked != Some(Asked::Leave) {
            app.asked = Some(Asked::Leave);
            app.notice = Some(format!(
                "unsaved edits in {}: Ctrl+S saves them, Up/Down again drops them (or a click again)",
                app.open.as_deref().unwrap_or("the buffer")
            ));
            return Vec::new();
        }
        app.asked = None;
        app.open = None;
        app.editor = Editor::default();
    }
    if to >= app.spells.len() {
        return Vec::new();
    }
    app.selected = to;
    app.spells_offset = None;
    app.selected_path().map(Effect::Load).into_iter().collect()
}

/// Quits; with unsaved edits, only when asked twice. A running spell is
/// stopped.
pub(super) fn quit(app: &mut App) -> Vec<Effect> {
    if app.editor.dirty() && app.asked != Some(Asked::Quit) {
        app.asked = Some(Asked::Quit);
        app.notice = Some("unsaved edits: Ctrl+S saves, q again quits without saving".into());
        return Vec::new();
    }
    app.quit = true;
    run::stop(app)
}

/// The spells in the folder, read again: the cursor stays on its spell.
pub(super) fn listed(app: &mut App, mut spells: Vec<String>) -> Vec<Effect> {
    // The open spell stays listed while its file is gone: its
    // buffer is still there to be saved.
    if let Some(open) = &app.open {
        if !spells.contains(open) {
            spells.push(open.clone());
        }
    }
    spells.sort();
    let selected = app.spells.get(app.selected).cloned();
    let at = app.selected;
    app.spells = spells;
    app.selected = selected
        .and_then(|name| app.spells.iter().position(|s| *s == name))
        .unwrap_or(at)
        .min(app.spells.len().saturating_sub(1));
    Vec::new()
}

/// Files changed on disk (saved here or in any other editor): the list is
/// read again, the open spell reloaded, and re-run when auto-run is on.
pub(super) fn changed(app: &mut App, paths: &[PathBuf]) -> Vec<Effect> {
    let mut effects = vec![Effect::Scan(app.dir.clone())];
    // Runs read llmspell.toml afresh; a mistake in it is reported now.
    if paths
        .iter()
        .any(|p| p.file_name() == Some("llmspell.toml".as_ref()))
    {
        effects.push(Effect::CheckConfig(app.dir.clone()));
    }
    let Some(open) = app.open_path() else {
        return effects;
    };
    if paths.iter().any(|p| same_file(p, &open)) {
        effects.push(Effect::Load(open));
        if app.auto_run {
            effects.extend(run::start(app));
        }
    }
    effects
}

/// A spell file was read: the buffer of that file hears what it holds
/// now; the spell chosen in the list opens, unless the buffer has edits.
pub(super) fn source(app: &mut App, path: &Path, read: Read) -> Vec<Effect> {
    let Some(name) = path
        .strip_prefix(&app.dir)
        .ok()
        .and_then(|n| n.to_str())
        .map(str::to_owned)
    else {
        return Vec::new();
    };
    let ext = extension(&name).to_owned();
    let rows = app.editor_height();
    if app.open.as_ref() == Some(&name) {
        let before = app.editor.disk.clone();
        if app.editor.reread(read, &ext) {
            app.editor.follow_cursor(rows);
        }
        if app.editor.disk != before {
            app.notice = match &app.editor.disk {
                None => None,
                Some(Read::Missing) => Some(format!(
                    "{name} was deleted or renamed on disk: its text is kept here, Ctrl+S writes it back"
                )),
                Some(Read::Text(_)) => Some(format!(
                    "{name} changed on disk; your unsaved edits are kept (Ctrl+S asks which to keep)"
                )),
                Some(Read::Unreadable(why)) => Some(format!(
                    "{name} on disk cannot be read as text now ({why}); your text is kept"
                )),
            };
        }
    } else if app.spell_name_selected() == Some(&name) && !app.editor.dirty() {
        app.open = Some(name);
        app.editor = Editor::opened(read, &ext);
        app.editor.follow_cursor(rows);
        if app.editor.read_only {
            app.notice = Some(not_text(app));
        }
    }
    Vec::new()
}

/// Writes the buffer to its own file, over only what the buffer knows is
/// there; anything else there is asked about first.
pub(super) fn save(app: &mut App, then_run: bool) -> Vec<Effect> {
    let Some(path) = app.open_path() else {
        return Vec::new();
    };
    if app.editor.read_only {
        app.notice = Some(not_text(app));
        return Vec::new();
    }
    if matches!(app.editor.disk, Some(Read::Text(_) | Read::Unreadable(_))) {
        return ask_conflict(app, then_run);
    }
    vec![Effect::Save {
        path,
        text: app.editor.text(),
        over: app.editor.on_disk(),
        then_run,
    }]
}

/// The buffer's text is on disk now.
pub(super) fn saved(app: &mut App, path: PathBuf, text: String, then_run: bool) -> Vec<Effect> {
    if app.open_path() != Some(path) {
        return Vec::new();
    }
    app.editor.saved_as(text);
    if then_run {
        // The run's own status says the rest.
        return run::start(app);
    }
    app.notice = Some("saved".into());
    Vec::new()
}

/// The save found something else on disk than the buffer knew of.
pub(super) fn not_saved(app: &mut App, path: PathBuf, found: Read, then_run: bool) -> Vec<Effect> {
    if app.open_path() != Some(path) {
        return Vec::new();
    }
    let name = app.open.clone().unwrap_or_default();
    let ext = extension(&name).to_owned();
    app.editor.reread(found, &ext);
    match &app.editor.disk {
        Some(Read::Missing) => {
            app.notice = Some(format!(
                "not saved: {name} was deleted on disk; Ctrl+S again writes it back"
            ));
            Vec::new()
        }
        Some(_) => ask_conflict(app, then_run),
        // The same text was there after all.
        None if then_run => run::start(app),
        None => Vec::new(),
    }
}

fn ask_conflict(app: &mut App, then_run: bool) -> Vec<Effect> {
    let name = app.open.as_deref().unwrap_or_default();
    app.notice = Some(format!(
        "{name} changed on disk since you opened it: o overwrites it with yours, \
         r reloads theirs (drops your edits), any other key cancels"
    ));
    app.asked = Some(Asked::Conflict { then_run });
    Vec::new()
}

/// The answer to [`ask_conflict`].
pub(super) fn settle(
    app: &mut App,
    key: crossterm::event::KeyEvent,
    then_run: bool,
) -> Vec<Effect> {
    use crossterm::event::KeyCode;
    let Some(path) = app.open_path() else {
        return Vec::new();
    };
    match key.code {
        KeyCode::Char('o') | KeyCode::Char('O') => {
            app.notice = None;
            vec![Effect::Save {
                path,
                text: app.editor.text(),
                over: app.editor.on_disk(),
                then_run,
            }]
        }
        KeyCode::Char('r') | KeyCode::Char('R') => {
            let theirs = app.editor.on_disk();
            let ext = extension(app.open.as_deref().unwrap_or_default()).to_owned();
            app.editor = Editor::opened(theirs, &ext);
            let rows = app.editor_height();
            app.editor.follow_cursor(rows);
            app.notice = Some("reloaded from disk".into());
            if then_run && !app.editor.read_only {
                return run::start(app);
            }
            Vec::new()
        }
        _ => {
            app.notice = Some("not saved: your edits and the file on disk are both kept".into());
            Vec::new()
        }
    }
}

fn extension(name: &str) -> &str {
    name.rsplit_once('.').map_or("", |(_, ext)| ext)
}

/// Why the open buffer takes no typing and is never saved.
pub(super) fn not_text(app: &App) -> String {
    let name = app.open.as_deref().unwrap_or("this file");
    let why = match &app.editor.disk {
        Some(Read::Unreadable(why)) => why.as_str(),
        _ => "not text",
    };
    format!("{name} cannot be edited here: {why}; it is never saved over")
}

fn same_file(a: &Path, b: &Path) -> bool {
    a == b || (a.file_name() == b.file_name() && a.canonicalize().ok() == b.canonicalize().ok())
}
