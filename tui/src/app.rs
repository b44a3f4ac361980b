//! The IDE's state and the one place it changes: `update(&mut App, Action)`.
//!
//! Terminal keys, spell output, bus events and finished runs all arrive as
//! [`Action`]s. `update` never does I/O and never waits: what needs the
//! outside world (reading a file, starting or stopping a run) comes back as
//! an [`Effect`] for the main loop to carry out.

use std::path::PathBuf;

use llmspell::debug::Resume;

use crate::editor::{Editor, Read};
pub use crate::state::*;
/// Applies one action; returns the work it asks of the main loop.
pub fn update(app: &mut App, action: Action) -> Vec<Effect> {
    if matches!(
        action,
        Action::EditorKey(_) | Action::Up | Action::Down | Action::Run
    ) {
        app.notice = None;
    }
    // "q again quits", "D again deletes" hold until the user does
    // something else: a key is first mapped to its action (which decides),
    // and news from a run or the disk is not the user's doing.
    let answers = matches!(
        (&action, &app.asked),
        (Action::Quit, Some(Asked::Quit))
            | (Action::DeleteKey, Some(Asked::Delete(_)))
            | (
                Action::Up | Action::Down | Action::ChooseSpell(_),
                Some(Asked::Leave)
            )
    ) || matches!(
        (&action, &app.asked),
        (Action::Click(c, r), Some(Asked::Leave))
            if crate::layout::pane_at(app.screen, app.sizes, *c, *r) == Some(Focus::Spells)
    );
    if !answers && action.is_the_users() {
        app.asked = None;
    }
    if let Action::Key(key) = action {
        // A question about the file on disk has the keyboard until answered.
        if let (Some(Asked::Conflict { then_run }), false) = (&app.asked, app.help) {
            let then_run = *then_run;
            app.asked = None;
            return settle(app, key, then_run);
        }
        if app.prompt.is_some() && !app.help {
            use crossterm::event::KeyCode;
            let mapped = match key.code {
                KeyCode::Enter => Action::Answer,
                KeyCode::Esc => Action::Escape,
                _ => Action::EditorKey(key),
            };
            return update(app, mapped);
        }
        if app.repl_typing() && !app.help {
            use crossterm::event::{KeyCode, KeyModifiers};
            let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
            let alt = key.modifiers.contains(KeyModifiers::ALT);
            let one_line = app.repl_input.area.lines().len() <= 1;
            let mapped = match key.code {
                KeyCode::Enter if alt => Some(Action::EditorKey(KeyCode::Enter.into())),
                KeyCode::Enter => Some(Action::ReplSubmit),
                KeyCode::Char('j') if ctrl => Some(Action::EditorKey(KeyCode::Enter.into())),
                KeyCode::PageUp => Some(Action::PageUp),
                KeyCode::PageDown => Some(Action::PageDown),
                KeyCode::Up if one_line => Some(Action::HistoryPrev),
                KeyCode::Down if one_line => Some(Action::HistoryNext),
                KeyCode::Tab if !word_before_cursor(&app.repl_input).is_empty() => {
                    Some(Action::Complete)
                }
                _ => None,
            };
            if let Some(action) = mapped {
                return update(app, action);
            }
        }
        let editing = app.pause_edit.is_some() || app.state_edit.is_some() || app.repl_typing();
        if app.inspector.detail && !editing && !app.help && key.modifiers.is_empty() {
            match key.code {
                crossterm::event::KeyCode::Char('n') => {
                    return update(app, Action::EventStep(true))
                }
                crossterm::event::KeyCode::Char('p') => {
                    return update(app, Action::EventStep(false))
                }
                _ => {}
            }
        }
        // At a pause the keys are the pause's (c n s e x): the editor
        // takes no typing then, so none lands in the spell.
        let typing_spell = app.focus == Focus::Editor && app.paused.is_none();
        if typing_spell && !editing && !app.help {
            if let Some(action) = editor_command(app, key) {
                return update(app, action);
            }
        }
        let in_editor = (typing_spell || editing) && !app.help;
        return match crate::keys::action_for(key, in_editor, &app.keymap) {
            Some(action) => update(app, action),
            None => Vec::new(),
        };
    }
    match action {
        Action::Up if app.help => {
            app.help_scroll = app.help_scroll.saturating_sub(1);
            Vec::new()
        }
        Action::Down if app.help => {
            app.help_scroll += 1;
            Vec::new()
        }
        // Another spell would replace the buffer: not while it has edits,
        // unless the same key says so again.
        Action::Up | Action::Down if app.focus == Focus::Spells => {
            match app.spell_step(action == Action::Up) {
                Some(to) => update(app, Action::ChooseSpell(to)),
                None => Vec::new(),
            }
        }
        // Another spell would replace the buffer: not while it has edits,
        // unless chosen again (the same key, or a click).
        Action::ChooseSpell(to)
            if app.editor.dirty() && app.spells.get(to) != app.open.as_ref() =>
        {
            if app.asked == Some(Asked::Leave) {
                app.asked = None;
                app.open = None;
                app.editor = Editor::default();
                return apply(app, action).into_iter().collect();
            }
            app.asked = Some(Asked::Leave);
            app.notice = Some(format!(
                "unsaved edits in {}: Ctrl+S saves them, Up/Down again drops them (or a click again)",
                app.open.as_deref().unwrap_or("the buffer")
            ));
            Vec::new()
        }
        Action::Quit if app.editor.dirty() && app.asked != Some(Asked::Quit) => {
            app.asked = Some(Asked::Quit);
            app.notice = Some("unsaved edits: Ctrl+S saves, q again quits without saving".into());
            Vec::new()
        }
        // Runs are of the file on disk: save the buffer first.
        Action::Run if app.paused.is_none() && !app.running() && app.editor.dirty() => {
            save(app, true)
        }
        Action::Source(path, read) => source(app, &path, read),
        Action::Saved {
            path,
            text,
            then_run,
        } => {
            if app.open_path() != Some(path) {
                return Vec::new();
            }
            app.editor.saved_as(text);
            if then_run {
                // The run's own status says the rest.
                return apply(app, Action::Run).into_iter().collect();
            }
            app.notice = Some("saved".into());
            Vec::new()
        }
        Action::NotSaved {
            path,
            found,
            then_run,
        } => {
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
                None if then_run => apply(app, Action::Run).into_iter().collect(),
                None => Vec::new(),
            }
        }
        Action::Changed(paths) => changed(app, &paths),
        Action::Spells(mut spells) => {
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
        Action::ToggleAutoRun => {
            app.auto_run = !app.auto_run;
            Vec::new()
        }
        Action::ToggleDebug => {
            app.debug = !app.debug;
            Vec::new()
        }
        Action::NextBreakPattern => {
            let at = BREAK_PATTERNS.iter().position(|p| *p == app.break_on);
            let next = at.map_or(0, |i| (i + 1) % BREAK_PATTERNS.len());
            app.break_on = BREAK_PATTERNS[next].to_owned();
            app.debug = true;
            Vec::new()
        }
        Action::TypeBreakPattern => {
            app.prompt = Some((Prompt::BreakOn, Editor::input(&app.break_on)));
            if let Some((_, e)) = &mut app.prompt {
                e.area.move_cursor(ratatui_textarea::CursorMove::End);
            }
            Vec::new()
        }
        Action::NewSpell => {
            app.prompt = Some((Prompt::NewSpell, Editor::input("")));
            Vec::new()
        }
        Action::Answer => answer(app),
        Action::GoToLine | Action::Find | Action::Replace => {
            let (prompt, text) = match action {
                Action::GoToLine => (Prompt::GoToLine, String::new()),
                Action::Find => (Prompt::Find, app.find_default()),
                _ => (Prompt::Replace, app.find_default()),
            };
            app.prompt = Some((prompt, Editor::input(&text)));
            if let Some((_, e)) = &mut app.prompt {
                e.area.move_cursor(ratatui_textarea::CursorMove::End);
            }
            Vec::new()
        }
        Action::FindNext | Action::FindPrev => {
            let Some(term) = app.find.clone() else {
                return update(app, Action::Find);
            };
            find_in_editor(app, &term, action == Action::FindNext);
            Vec::new()
        }
        Action::EditArgs | Action::PickReplay if app.open.is_none() => {
            app.notice = Some("open a spell first".into());
            Vec::new()
        }
        Action::EditArgs | Action::PickReplay => {
            let now = app.spell_settings();
            let (prompt, text) = if action == Action::EditArgs {
                (Prompt::Args, crate::settings::show_args(&now.args))
            } else {
                // What is set, else the cassette named after the spell.
                let stem = app
                    .open
                    .as_deref()
                    .and_then(|s| std::path::Path::new(s).file_stem())
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let text = now
                    .replay
                    .unwrap_or_else(|| format!("cassettes/{stem}.jsonl"));
                (Prompt::Replay, text)
            };
            app.prompt = Some((prompt, Editor::input(&text)));
            if let Some((_, e)) = &mut app.prompt {
                e.area.move_cursor(ratatui_textarea::CursorMove::End);
            }
            Vec::new()
        }
        Action::EventStep(forward) => {
            app.inspector.step(forward);
            Vec::new()
        }
        Action::SearchEvents if app.focus == Focus::Spells => {
            let now = app.spell_filter.clone().unwrap_or_default();
            app.prompt = Some((Prompt::FilterSpells, Editor::input(&now)));
            if let Some((_, e)) = &mut app.prompt {
                e.area.move_cursor(ratatui_textarea::CursorMove::End);
            }
            Vec::new()
        }
        Action::SearchEvents => {
            let now = app.inspector.search.clone().unwrap_or_default();
            app.prompt = Some((Prompt::SearchEvents, Editor::input(&now)));
            if let Some((_, e)) = &mut app.prompt {
                e.area.move_cursor(ratatui_textarea::CursorMove::End);
            }
            Vec::new()
        }
        Action::PrevPane => {
            app.focus = match app.focus {
                Focus::Spells => Focus::State,
                Focus::Editor => Focus::Spells,
                Focus::Output => Focus::Editor,
                Focus::Inspector => Focus::Output,
                Focus::State => Focus::Inspector,
            };
            Vec::new()
        }
        Action::Paste(text) => {
            paste(app, &text);
            Vec::new()
        }
        Action::Notice(text) => {
            app.notice = Some(text);
            Vec::new()
        }
        Action::Help => {
            app.help = !app.help;
            app.help_scroll = 0;
            Vec::new()
        }
        Action::Escape => {
            if app.help {
                app.help = false;
            } else if app.prompt.is_some() {
                if matches!(app.prompt, Some((Prompt::FilterSpells, _))) {
                    app.spell_filter = None;
                }
                app.prompt = None;
            } else if app.state_edit.is_some() {
                app.state_edit = None;
            } else if app.pause_edit.is_some() {
                app.pause_edit = None;
                app.notice = Some("edit dropped; still paused".into());
            } else if app.inspector.detail {
                app.inspector.detail = false;
            } else if app.focus == Focus::Inspector && app.inspector.search.is_some() {
                app.inspector.set_search(None);
            } else if app.focus == Focus::Spells && app.spell_filter.is_some() {
                app.spell_filter = None;
            } else if app.focus == Focus::Editor && app.find.is_some() {
                // The first Esc stops marking what was found.
                app.find = None;
            } else if app.focus == Focus::Editor || app.repl_typing() {
                app.focus = Focus::Spells;
            }
            Vec::new()
        }
        Action::Paused(p) => {
            // The editor shows where the spell is.
            if let Some(at) = &p.location {
                if app.spell_name() == Some(at.file.as_str()) {
                    let rows = app.editor_height();
                    app.editor
                        .show_row(at.line.saturating_sub(1) as usize, rows);
                }
            }
            app.paused = Some(p);
            Vec::new()
        }
        // F5 at a pause goes on, as in every debugger.
        // At a pause, e edits what goes in (before) or comes out (after).
        Action::Edit if app.paused.is_some() && app.pause_edit.is_none() => {
            let Some(p) = &app.paused else {
                return Vec::new();
            };
            let value = match p.when {
                llmspell::debug::When::Before => serde_json::Value::Array(p.args.clone()),
                llmspell::debug::When::After => p.result.clone().unwrap_or_default(),
                llmspell::debug::When::Line => {
                    app.notice = Some("a line pause has no call to edit: F10 steps to it".into());
                    return Vec::new();
                }
            };
            let text = serde_json::to_string_pretty(&value).unwrap_or_default();
            app.pause_edit = Some(Editor::new(&text));
            Vec::new()
        }
        // In the State pane, e edits the selected key's value.
        Action::Edit if app.focus == Focus::State && app.state_edit.is_none() => {
            let Some((key, value)) = app.state.get(app.state_selected) else {
                return Vec::new();
            };
            let text = serde_json::to_string_pretty(value).unwrap_or_default();
            app.state_edit = Some((key.clone(), Editor::new(&text)));
            Vec::new()
        }
        Action::Edit => Vec::new(),
        Action::DeleteKey if app.focus == Focus::State && app.state_edit.is_none() => {
            // Deleting cannot be undone: the first press asks.
            let Some((key, _)) = app.state.get(app.state_selected) else {
                return Vec::new();
            };
            let asked = Some(Asked::Delete(key.clone()));
            if app.asked == asked {
                app.asked = None;
                app.notice = None;
                return vec![Effect::DeleteState(app.dir.clone(), key.clone())];
            }
            app.notice = Some(format!(
                "D again deletes state key {key:?}; any other key keeps it"
            ));
            app.asked = asked;
            Vec::new()
        }
        Action::DeleteKey => Vec::new(),
        Action::NextTab => {
            use llmspell::EngineKind::{Js, Lua, Rhai};
            app.tab = match app.tab {
                None => Some(Lua),
                Some(Lua) => Some(Js),
                Some(Js) => Some(Rhai),
                Some(Rhai) => None,
            };
            // The pane it turned is the one the user wants next.
            app.focus = Focus::Output;
            app.repl_recall = None;
            match app.tab {
                Some(kind) if !app.repl_history.contains_key(&kind) => {
                    app.repl_history.insert(kind, Vec::new());
                    vec![
                        Effect::LoadHistory(app.dir.clone(), kind),
                        Effect::OpenRepl(kind),
                    ]
                }
                _ => Vec::new(),
            }
        }
        Action::ReplSubmit => {
            let Some(kind) = app.tab else {
                return Vec::new();
            };
            let entry = app.repl_input.area.lines().join("\n");
            if entry.trim().is_empty() {
                return Vec::new();
            }
            app.repl_input = Editor::input("");
            app.repl_recall = None;
            // The thread says when an entry is whole; these lines continue
            // one it is waiting on.
            let more = app.repl_state.get(&kind) == Some(&ReplState::Unfinished);
            let log = app.repl_log.entry(kind).or_default();
            for (i, line) in entry.lines().enumerate() {
                let prompt = if i == 0 && !more { "> " } else { ". " };
                log.push(&format!("{prompt}{line}"), KEEP_OUTPUT);
            }
            log.scroll.follow();
            vec![Effect::ReplEval(kind, entry)]
        }
        Action::Repl(kind, state) => {
            if let ReplState::Busy(entry) = &state {
                let history = app.repl_history.entry(kind).or_default();
                if history.last() != Some(entry) {
                    history.push(entry.clone());
                }
            }
            app.repl_state.insert(kind, state);
            Vec::new()
        }
        // Ctrl+C in a REPL: stops its running entry or drops its
        // unfinished one; with neither, it clears the input line.
        Action::Stop if app.repl_now().is_some_and(|(_, s)| *s != ReplState::Ready) => {
            let Some((kind, _)) = app.repl_now() else {
                return Vec::new();
            };
            app.repl_log
                .entry(kind)
                .or_default()
                .push("^C", KEEP_OUTPUT);
            vec![Effect::ReplStop(kind)]
        }
        Action::Stop if app.repl_typing() && !app.repl_input.text().is_empty() => {
            app.repl_input = Editor::input("");
            app.repl_recall = None;
            Vec::new()
        }
        Action::HistoryPrev | Action::HistoryNext => {
            let Some(kind) = app.tab else {
                return Vec::new();
            };
            let history = app.repl_history.get(&kind).map_or(&[][..], Vec::as_slice);
            let at = match (action == Action::HistoryPrev, app.repl_recall) {
                (true, None) => history.len().checked_sub(1),
                (true, Some(i)) => Some(i.saturating_sub(1)),
                (false, Some(i)) if i + 1 < history.len() => Some(i + 1),
                (false, _) => None,
            };
            app.repl_recall = at;
            app.repl_input = Editor::input(at.map_or("", |i| history[i].as_str()));
            app.repl_input
                .area
                .move_cursor(ratatui_textarea::CursorMove::End);
            Vec::new()
        }
        Action::History(kind, mut saved) => {
            // Entries made before the file was read come after it.
            let now = app.repl_history.remove(&kind).unwrap_or_default();
            saved.extend(now);
            app.repl_history.insert(kind, saved);
            Vec::new()
        }
        Action::ReplLine(kind, line) => {
            app.repl_log
                .entry(kind)
                .or_default()
                .push(&line, KEEP_OUTPUT);
            Vec::new()
        }
        Action::Save if app.state_edit.is_some() => {
            let Some((key, edit)) = app.state_edit.take() else {
                return Vec::new();
            };
            match serde_json::from_str(&edit.text()) {
                Ok(value) => vec![Effect::SetState(app.dir.clone(), key, value)],
                Err(e) => {
                    app.notice = Some(format!("not JSON ({e}); fix it, or Esc to drop the edit"));
                    app.state_edit = Some((key, edit));
                    Vec::new()
                }
            }
        }
        Action::Save => save(app, false),
        Action::Continue | Action::Run if app.paused.is_some() => resume(app, Resume::Continue),
        Action::Step if app.paused.is_some() => resume(app, Resume::Step),
        Action::StepLine if app.paused.is_some() => resume(app, Resume::StepLine),
        Action::Abort if app.paused.is_some() => resume(app, Resume::Abort),
        Action::Continue | Action::Step | Action::StepLine | Action::Abort => Vec::new(),
        Action::ToggleBreakpoint => {
            let Some(spell) = app.spell_name().map(str::to_owned) else {
                return Vec::new();
            };
            if !has_lines(&spell) {
                app.notice = Some(
                    "JavaScript has no line hook: debug mode (d) pauses at its bridge calls".into(),
                );
                return Vec::new();
            }
            let line = app.editor.area.cursor().0 as u32 + 1;
            let lines = app.breakpoints.entry(spell).or_default();
            if !lines.remove(&line) {
                lines.insert(line);
            }
            if app.running() {
                vec![Effect::LineBreaks(app.line_breaks())]
            } else {
                Vec::new()
            }
        }
        Action::Complete => {
            complete(app);
            Vec::new()
        }
        Action::Completions(names) => {
            app.completions = names;
            Vec::new()
        }
        other => apply(app, other).into_iter().collect(),
    }
}

/// Files changed on disk (saved here or in any other editor): the list is
/// read again, the open spell reloaded, and re-run when auto-run is on.
fn changed(app: &mut App, paths: &[PathBuf]) -> Vec<Effect> {
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
            effects.extend(apply(app, Action::Run));
        }
    }
    effects
}

/// A spell file was read: the buffer of that file hears what it holds
/// now; the spell chosen in the list opens, unless the buffer has edits.
fn source(app: &mut App, path: &std::path::Path, read: Read) -> Vec<Effect> {
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

fn extension(name: &str) -> &str {
    name.rsplit_once('.').map_or("", |(_, ext)| ext)
}

/// Why the open buffer takes no typing and is never saved.
fn not_text(app: &App) -> String {
    let name = app.open.as_deref().unwrap_or("this file");
    let why = match &app.editor.disk {
        Some(Read::Unreadable(why)) => why.as_str(),
        _ => "not text",
    };
    format!("{name} cannot be edited here: {why}; it is never saved over")
}

/// Writes the buffer to its own file, over only what the buffer knows is
/// there; anything else there is asked about first.
fn save(app: &mut App, then_run: bool) -> Vec<Effect> {
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
fn settle(app: &mut App, key: crossterm::event::KeyEvent, then_run: bool) -> Vec<Effect> {
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
                return apply(app, Action::Run).into_iter().collect();
            }
            Vec::new()
        }
        _ => {
            app.notice = Some("not saved: your edits and the file on disk are both kept".into());
            Vec::new()
        }
    }
}

fn resume(app: &mut App, how: Resume) -> Vec<Effect> {
    // What was edited at the pause goes with the resume, if it parses.
    let edited = match app.pause_edit.take() {
        None => None,
        Some(edit) => match serde_json::from_str(&edit.text()) {
            Ok(v) => Some(v),
            Err(e) => {
                app.notice = Some(format!("not JSON ({e}); fix it, or Esc to drop the edit"));
                app.pause_edit = Some(edit);
                return Vec::new();
            }
        },
    };
    app.paused = None;
    vec![Effect::Resume(how, edited)]
}

/// The prompt was answered.
fn answer(app: &mut App) -> Vec<Effect> {
    let Some((prompt, edit)) = app.prompt.take() else {
        return Vec::new();
    };
    let text = edit.text().trim().to_owned();
    match prompt {
        Prompt::BreakOn => {
            let patterns: Vec<&str> = text
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .collect();
            if patterns.is_empty() {
                app.notice = Some("no pattern: debug runs keep pausing as before".into());
            } else {
                app.break_on = patterns.join(", ");
                app.debug = true;
            }
            Vec::new()
        }
        Prompt::Args | Prompt::Replay => {
            let Some(key) = app.settings_key() else {
                return Vec::new();
            };
            let mut now = app.spell_settings();
            if prompt == Prompt::Args {
                match crate::settings::parse_args(&text) {
                    Ok(args) => now.args = args,
                    Err(e) => {
                        app.notice = Some(e);
                        return Vec::new();
                    }
                }
            } else if text.is_empty() {
                now.replay = None;
            } else {
                // Typed from the IDE's folder; kept from the project's.
                now.replay = Some(app.in_project(&app.dir.join(&text)));
            }
            app.settings.set(&key, now);
            let with = app.run_with();
            app.notice = Some(match with.is_empty() {
                true => format!("{key} runs with no args, on the live model"),
                false => format!("{key} runs {with}"),
            });
            vec![Effect::SaveSettings(
                app.project.clone(),
                app.settings.clone(),
            )]
        }
        Prompt::SearchEvents => {
            app.inspector.set_search(Some(text));
            Vec::new()
        }
        Prompt::FilterSpells => {
            app.spell_filter = (!text.is_empty()).then_some(text);
            Vec::new()
        }
        Prompt::GoToLine => {
            match text.parse::<usize>() {
                Ok(n) if n > 0 => {
                    app.editor.go_to_line(n);
                    let rows = app.editor_height();
                    app.editor.follow_cursor(rows);
                }
                _ => app.notice = Some(format!("{text:?}: give a line number (1, 2, ...)")),
            }
            Vec::new()
        }
        Prompt::Find => {
            app.find = (!text.is_empty()).then(|| text.clone());
            if !text.is_empty() {
                find_in_editor(app, &text, true);
            }
            Vec::new()
        }
        Prompt::Replace => {
            if text.is_empty() {
                return Vec::new();
            }
            app.find = Some(text);
            app.prompt = Some((Prompt::ReplaceWith, Editor::input("")));
            Vec::new()
        }
        Prompt::ReplaceWith => {
            let Some(term) = app.find.clone() else {
                return Vec::new();
            };
            if app.editor.read_only {
                app.notice = Some(not_text(app));
                return Vec::new();
            }
            // Not trimmed: what replaces may end in a space.
            let with = edit.text();
            let n = app.editor.replace_all(&term, &with);
            let rows = app.editor_height();
            app.editor.follow_cursor(rows);
            app.notice = Some(format!("replaced {n} of {term:?} with {with:?}"));
            Vec::new()
        }
        Prompt::NewSpell => {
            let engine = llmspell::EngineKind::from_path(std::path::Path::new(&text));
            if text.contains(['/', '\\']) || engine.is_err() {
                app.notice = Some(format!(
                    "{text:?}: a spell is a file name ending .lua, .js or .rhai"
                ));
                return Vec::new();
            }
            if app.editor.dirty() {
                app.notice = Some("unsaved edits: Ctrl+S saves them first".into());
                return Vec::new();
            }
            if !app.spells.contains(&text) {
                app.spells.push(text.clone());
                app.spells.sort();
            }
            app.selected = app.spells.iter().position(|s| *s == text).unwrap_or(0);
            app.focus = Focus::Editor;
            let path = app.dir.join(&text);
            vec![Effect::Create(path.clone()), Effect::Load(path)]
        }
    }
}

/// A click focuses the pane under it and picks what is under it: a spell
/// (opening it), an event, a state key, or the editor's cursor place.
fn click(app: &mut App, column: u16, row: u16) -> Option<Effect> {
    let pane = crate::layout::pane_at(app.screen, app.sizes, column, row)?;
    app.focus = pane;
    match pane {
        Focus::Spells => {
            let to = crate::state::spell_at(app, row)?;
            update(app, Action::ChooseSpell(to)).into_iter().next()
        }
        Focus::Inspector => {
            app.inspector.selected = Some(crate::state::event_at(app, row)?);
            None
        }
        Focus::State => {
            app.state_selected = crate::state::state_key_at(app, row)?;
            None
        }
        Focus::Editor if app.paused.is_none() && app.prompt.is_none() => {
            let (line, col) = crate::state::editor_at(app, column, row)?;
            let clamp = |n: usize| n.min(u16::MAX as usize) as u16;
            app.editor.area.cancel_selection();
            app.editor
                .area
                .move_cursor(ratatui_textarea::CursorMove::Jump(clamp(line), clamp(col)));
            None
        }
        Focus::Editor | Focus::Output => None,
    }
}

/// The spell editor's own commands, among keys that would otherwise
/// type or mean something else: Tab indents (Esc leaves the editor),
/// Ctrl+C copies a selection, and find, replace and go to line.
fn editor_command(app: &App, key: crossterm::event::KeyEvent) -> Option<Action> {
    use crossterm::event::{KeyCode, KeyModifiers};
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let shift = key.modifiers.contains(KeyModifiers::SHIFT);
    Some(match key.code {
        KeyCode::Tab | KeyCode::BackTab => Action::EditorKey(key),
        KeyCode::Char('c') if ctrl && app.editor.area.selection_range().is_some() => {
            Action::EditorKey(key)
        }
        KeyCode::Char('f') if ctrl => Action::Find,
        KeyCode::Char('g') if ctrl => Action::GoToLine,
        KeyCode::Char('h') if ctrl => Action::Replace,
        KeyCode::F(3) if shift => Action::FindPrev,
        KeyCode::F(3) => Action::FindNext,
        _ => return None,
    })
}

/// Moves the editor to the next (or previous) `term`, or says there is none.
fn find_in_editor(app: &mut App, term: &str, forward: bool) {
    if app.editor.find(term, forward) {
        let rows = app.editor_height();
        app.editor.follow_cursor(rows);
    } else {
        app.notice = Some(format!(
            "{term:?} is not in {}",
            app.open.as_deref().unwrap_or("the buffer")
        ));
    }
}

/// Pasted text goes where typing would: the prompt (its first line), a
/// JSON edit, the REPL's input or the spell.
fn paste(app: &mut App, text: &str) {
    let rows = app.editor_height();
    if let Some((_, edit)) = &mut app.prompt {
        edit.area.insert_str(text.lines().next().unwrap_or(""));
    } else if let Some(edit) = &mut app.pause_edit {
        edit.paste(text);
    } else if let Some((_, edit)) = &mut app.state_edit {
        edit.paste(text);
    } else if app.repl_typing() {
        app.repl_input.paste(text);
    } else if app.focus == Focus::Editor && app.paused.is_none() {
        if app.editor.read_only {
            app.notice = Some(not_text(app));
        } else {
            app.editor.paste(text);
            app.editor.follow_cursor(rows);
        }
    }
}

/// The bottom pane's text, moved by a scrolling key.
fn scroll_bottom(app: &mut App, action: &Action) {
    let room = app.bottom_room();
    let text = app.bottom_text();
    scroll_by_key(&mut text.scroll, &text.lines, room, action);
}

/// Up/Down a row, PageUp/PageDown a pane (of `room`: columns, rows) less
/// a row, Home to the top, End to the end and following.
fn scroll_by_key<L: crate::scroll::Lines + ?Sized>(
    scroll: &mut crate::scroll::Scroll,
    lines: &L,
    (width, rows): (usize, usize),
    action: &Action,
) {
    let page = rows.saturating_sub(1).max(1) as isize;
    match action {
        Action::Up => scroll.by(lines, width, rows, -1),
        Action::Down => scroll.by(lines, width, rows, 1),
        Action::PageUp => scroll.by(lines, width, rows, -page),
        Action::PageDown => scroll.by(lines, width, rows, page),
        Action::Home => scroll.home(),
        _ => scroll.follow(),
    }
}

/// The name being typed at the REPL's cursor (`state.g`).
fn word_before_cursor(input: &Editor) -> &str {
    let ratatui_textarea::DataCursor(row, col) = input.area.cursor();
    let line = input.area.lines().get(row).map_or("", String::as_str);
    let end = line.char_indices().nth(col).map_or(line.len(), |(i, _)| i);
    let start = line[..end]
        .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
        .map_or(0, |i| i + 1);
    &line[start..end]
}

/// Completes the REPL's word: as far as all the names that fit agree; the
/// names are listed when there is more than one.
fn complete(app: &mut App) {
    let word = word_before_cursor(&app.repl_input).to_owned();
    let fits: Vec<&String> = app
        .completions
        .iter()
        .filter(|c| c.starts_with(&word))
        .collect();
    let Some(first) = fits.first() else {
        app.notice = Some(format!("nothing completes {word:?}"));
        return;
    };
    let mut common = first.len();
    for f in &fits[1..] {
        common = common.min(
            first
                .bytes()
                .zip(f.bytes())
                .take_while(|(a, b)| a == b)
                .count(),
        );
    }
    app.repl_input.area.insert_str(&first[word.len()..common]);
    if fits.len() > 1 {
        let names: Vec<&str> = fits.iter().map(|f| f.as_str()).collect();
        app.notice = Some(names.join("  "));
    }
}

fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    a == b || (a.file_name() == b.file_name() && a.canonicalize().ok() == b.canonicalize().ok())
}

fn apply(app: &mut App, action: Action) -> Option<Effect> {
    match action {
        Action::Changed(_)
        | Action::Key(_)
        | Action::Spells(_)
        | Action::ToggleAutoRun
        | Action::ToggleDebug
        | Action::NextBreakPattern
        | Action::Help
        | Action::Escape
        | Action::Paused(_)
        | Action::Edit
        | Action::DeleteKey
        | Action::NextTab
        | Action::ReplSubmit
        | Action::HistoryPrev
        | Action::HistoryNext
        | Action::ReplLine(..)
        | Action::Repl(..)
        | Action::PrevPane
        | Action::GoToLine
        | Action::Find
        | Action::FindNext
        | Action::FindPrev
        | Action::Replace
        | Action::Paste(_)
        | Action::EditArgs
        | Action::PickReplay
        | Action::SearchEvents
        | Action::EventStep(_)
        | Action::History(..)
        | Action::Continue
        | Action::Step
        | Action::StepLine
        | Action::Abort
        | Action::ToggleBreakpoint
        | Action::Complete
        | Action::Completions(_)
        | Action::TypeBreakPattern
        | Action::NewSpell
        | Action::Answer
        | Action::Source(..)
        | Action::Save
        | Action::Saved { .. }
        | Action::NotSaved { .. }
        | Action::Notice(_) => None,
        Action::ResizePane(wider, by) => {
            app.sizes.grow(app.focus, wider, by);
            let rows = app.editor_height();
            app.editor.follow_cursor(rows);
            None
        }
        // Scrolling keys move an open event's detail, or the Output.
        Action::Up
        | Action::Down
        | Action::PageUp
        | Action::PageDown
        | Action::Home
        | Action::Follow
            if app.inspector.detail || (app.focus == Focus::Output && app.paused.is_none()) =>
        {
            if app.inspector.detail {
                let lines = app.inspector.detail_lines();
                let room = crate::layout::detail_room(app.screen);
                scroll_by_key(&mut app.inspector.detail_scroll, &lines[..], room, &action);
            } else {
                scroll_bottom(app, &action);
            }
            None
        }
        Action::PageUp | Action::PageDown | Action::Home => None,
        Action::Wheel(column, row, up) => {
            let rows = if up { -3 } else { 3 };
            match crate::layout::pane_at(app.screen, app.sizes, column, row) {
                Some(Focus::Output) if app.paused.is_none() => {
                    let (width, room) = app.bottom_room();
                    app.bottom_text().scroll_by(width, room, rows);
                }
                Some(Focus::Inspector) => (0..3).for_each(|_| match up {
                    true => app.inspector.up(),
                    false => app.inspector.down(),
                }),
                Some(Focus::State) => {
                    let last = app.state.len().saturating_sub(1);
                    app.state_selected = match up {
                        true => app.state_selected.saturating_sub(3),
                        false => (app.state_selected + 3).min(last),
                    };
                }
                // The editor's view moves; the cursor stays (a key brings
                // the view back to it).
                Some(Focus::Editor) => {
                    let last = app.editor.area.lines().len().saturating_sub(1);
                    app.editor.top = match up {
                        true => app.editor.top.saturating_sub(3),
                        false => (app.editor.top + 3).min(last),
                    };
                    let rows = app.editor_height();
                    app.editor
                        .highlight
                        .update(app.editor.area.lines(), app.editor.top + rows);
                }
                Some(Focus::Spells) => {
                    let shown = app.shown_spells();
                    let room = crate::layout::panes(app.screen, app.sizes)[0]
                        .height
                        .saturating_sub(2) as usize;
                    let now = crate::state::spells_offset(app, &shown, room);
                    let most = shown.len().saturating_sub(room);
                    app.spells_offset = Some(match up {
                        true => now.saturating_sub(3),
                        false => (now + 3).min(most),
                    });
                }
                // Output at a pause shows the pause, which does not scroll.
                Some(Focus::Output) | None => {}
            }
            None
        }
        Action::Clear => {
            app.bottom_text().clear();
            None
        }
        Action::Copy if app.focus == Focus::Output && app.tab.is_none() => {
            let text = app.output.since_mark();
            app.notice = Some(format!("copied the run's output ({} bytes)", text.len()));
            Some(Effect::Copy(text))
        }
        Action::ChooseSpell(to) if to < app.spells.len() => {
            app.selected = to;
            app.spells_offset = None;
            app.selected_path().map(Effect::Load)
        }
        Action::ChooseSpell(_) => None,
        Action::Up if app.focus == Focus::State => {
            app.state_selected = app.state_selected.saturating_sub(1);
            None
        }
        Action::Down if app.focus == Focus::State => {
            app.state_selected = (app.state_selected + 1).min(app.state.len().saturating_sub(1));
            None
        }
        Action::Up if app.focus == Focus::Inspector => {
            app.inspector.up();
            None
        }
        Action::Down if app.focus == Focus::Inspector => {
            app.inspector.down();
            None
        }
        Action::Up | Action::Down => None,
        Action::Resize(width, height) => {
            app.screen = ratatui::layout::Rect::new(0, 0, width, height);
            let rows = app.editor_height();
            app.editor.follow_cursor(rows);
            None
        }
        Action::Click(column, row) => click(app, column, row),
        Action::Follow => {
            app.inspector.selected = None;
            None
        }
        Action::NextFilter => {
            app.inspector.next_filter();
            None
        }
        Action::PauseEvents => {
            app.inspector.toggle_pause();
            None
        }
        // Enter on a spell: into the editor (it opened when chosen).
        Action::Detail if app.focus == Focus::Spells => {
            if app.open.is_some() {
                app.focus = Focus::Editor;
            }
            None
        }
        Action::Detail => {
            app.inspector.toggle_detail();
            None
        }
        Action::Copy => {
            let e = app.inspector.current()?;
            let topic = &e.topic;
            let text = serde_json::json!({"topic": topic, "data": e.data, "time_ms": e.time_ms})
                .to_string();
            app.notice = Some(format!("copied {topic} ({} bytes)", text.len()));
            Some(Effect::Copy(text))
        }
        Action::NextPane => {
            app.focus = match app.focus {
                Focus::Spells => Focus::Editor,
                Focus::Editor => Focus::Output,
                Focus::Output => Focus::Inspector,
                Focus::Inspector => Focus::State,
                Focus::State => Focus::Spells,
            };
            None
        }
        Action::Run if app.running() => None,
        Action::Run => {
            let path = app.open_path()?;
            let spell = app.open.clone()?;
            let now = chrono::Local::now().format("%H:%M:%S");
            let with = match app.run_with() {
                w if w.is_empty() => w,
                w => format!(" · {w}"),
            };
            app.output
                .push_mark(&format!("── {spell} · {now}{with} ──"), KEEP_OUTPUT);
            app.error_line = None;
            app.model = None;
            app.tokens = 0;
            let lines = if has_lines(&spell) {
                app.line_breaks()
            } else {
                Vec::new()
            };
            app.status = Status::Running { spell };
            // A run is debugged in debug mode, or when it has breakpoints.
            let breaks = (app.debug || !lines.is_empty()).then(|| Breaks {
                pattern: app.debug.then(|| app.break_on.clone()),
                lines,
            });
            Some(Effect::Start(Launch {
                path,
                breaks,
                args: app.spell_settings().args,
                replay: app.replay(),
            }))
        }
        Action::Stop if app.running() => Some(Effect::Stop),
        Action::Stop => None,
        Action::Quit => {
            app.quit = true;
            app.running().then_some(Effect::Stop)
        }
        Action::EditorKey(key) => {
            let typing_repl = app.repl_typing();
            if let Some((prompt, edit)) = &mut app.prompt {
                // One line: Enter answers, it never breaks the line.
                if key.code != crossterm::event::KeyCode::Enter {
                    edit.area.input(key);
                }
                // What is found is marked, and spells filtered, as typed.
                let typed = edit.text();
                match prompt {
                    Prompt::Find => app.find = (!typed.is_empty()).then_some(typed),
                    Prompt::FilterSpells => app.spell_filter = (!typed.is_empty()).then_some(typed),
                    _ => {}
                }
                return None;
            }
            // A JSON edit or the REPL's input: a few rows high.
            const BOX: usize = 8;
            let rows = app.editor_height();
            let clipboard = &mut app.clipboard;
            let keyed = match (&mut app.pause_edit, &mut app.state_edit) {
                (Some(edit), _) | (None, Some((_, edit))) => edit.key(key, BOX, clipboard),
                (None, None) if typing_repl => app.repl_input.key(key, BOX, clipboard),
                (None, None) if app.editor.read_only => {
                    app.notice = Some(not_text(app));
                    return None;
                }
                (None, None) => {
                    let keyed = app.editor.key(key, rows, clipboard);
                    app.editor.follow_cursor(rows);
                    keyed
                }
            };
            keyed.copied.then(|| {
                app.notice = Some(format!(
                    "copied {} characters",
                    app.clipboard.chars().count()
                ));
                Effect::Copy(app.clipboard.clone())
            })
        }
        Action::Output(line) => {
            app.output.push(&line, KEEP_OUTPUT);
            None
        }
        Action::Event {
            topic,
            data,
            time_ms,
        } => {
            // A write anywhere in the project shows in the state viewer.
            let changed = topic.starts_with("state.");
            if topic == "llm.response" {
                let usage = &data["usage"];
                let count = |k: &str| usage[k].as_u64().unwrap_or(0);
                app.tokens += count("input_tokens") + count("output_tokens");
                if let Some(model) = data["model"].as_str() {
                    app.model = Some(model.to_owned());
                }
            }
            app.inspector.push(topic, data, time_ms);
            changed.then(|| Effect::LoadState(app.dir.clone()))
        }
        Action::State(entries) => {
            app.state = entries;
            app.state_selected = app.state_selected.min(app.state.len().saturating_sub(1));
            None
        }
        Action::Finished {
            result,
            error_line,
            ms,
        } => {
            let spell = match &app.status {
                Status::Running { spell } => spell.clone(),
                _ => String::new(),
            };
            app.error_line = error_line.map(|line| (spell.clone(), line));
            // The result whole, at the end of the run's output.
            let shown = match &result {
                Ok(serde_json::Value::Null) => None,
                Ok(v) => serde_json::to_string_pretty(v)
                    .ok()
                    .map(|t| format!("=> {t}")),
                Err(e) => Some(e.clone()),
            };
            if let Some(shown) = shown {
                app.output.push(&shown, KEEP_OUTPUT);
            }
            let (ok, text) = match result {
                Ok(serde_json::Value::Null) => (true, "ok".to_owned()),
                Ok(v) => (true, v.to_string()),
                Err(e) => (false, e),
            };
            app.paused = None;
            app.status = Status::Finished {
                spell,
                ok,
                text,
                ms,
            };
            Some(Effect::LoadState(app.dir.clone()))
        }
    }
}
