//! The panes as places: which has the focus, the help over them, sizes,
//! scrolling and the wheel, clicks, Esc, the inspector's selection and
//! detail, and the State pane's keys (edit, delete, save a value).

use super::buffer;
use crate::editor::Editor;
use crate::state::*;

pub(super) fn next_pane(app: &mut App) -> Vec<Effect> {
    app.focus = match app.focus {
        Focus::Spells => Focus::Editor,
        Focus::Editor => Focus::Output,
        Focus::Output => Focus::Inspector,
        Focus::Inspector => Focus::State,
        Focus::State => Focus::Spells,
    };
    Vec::new()
}

pub(super) fn prev_pane(app: &mut App) -> Vec<Effect> {
    app.focus = match app.focus {
        Focus::Spells => Focus::State,
        Focus::Editor => Focus::Spells,
        Focus::Output => Focus::Editor,
        Focus::Inspector => Focus::Output,
        Focus::State => Focus::Inspector,
    };
    Vec::new()
}

pub(super) fn toggle_help(app: &mut App) -> Vec<Effect> {
    app.help = !app.help;
    app.help_scroll = 0;
    Vec::new()
}

pub(super) fn scroll_help(app: &mut App, up: bool) -> Vec<Effect> {
    app.help_scroll = match up {
        true => app.help_scroll.saturating_sub(1),
        false => app.help_scroll + 1,
    };
    Vec::new()
}

/// Esc closes the innermost thing open: the help, a prompt, an edit, an
/// event's detail, a search or filter, what was found; else it leaves the
/// editor or the REPL for the spell list.
pub(super) fn escape(app: &mut App) -> Vec<Effect> {
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

pub(super) fn notice(app: &mut App, text: String) -> Vec<Effect> {
    app.notice = Some(text);
    Vec::new()
}

/// The focused pane grows (or shrinks) `by` columns or rows.
pub(super) fn resize_pane(app: &mut App, wider: bool, by: i16) -> Vec<Effect> {
    app.sizes.grow(app.focus, wider, by);
    let rows = app.editor_height();
    app.editor.follow_cursor(rows);
    Vec::new()
}

/// The terminal's new size.
pub(super) fn resize(app: &mut App, width: u16, height: u16) -> Vec<Effect> {
    app.screen = ratatui::layout::Rect::new(0, 0, width, height);
    let rows = app.editor_height();
    app.editor.follow_cursor(rows);
    Vec::new()
}

/// A scrolling key moves an open event's detail, or the bottom pane.
pub(super) fn scroll(app: &mut App, action: &Action) -> Vec<Effect> {
    if app.inspector.detail {
        let lines = app.inspector.detail_lines();
        let room = crate::layout::detail_room(app.screen);
        scroll_by_key(&mut app.inspector.detail_scroll, &lines[..], room, action);
    } else {
        let room = app.bottom_room();
        let text = app.bottom_text();
        scroll_by_key(&mut text.scroll, &text.lines, room, action);
    }
    Vec::new()
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

/// The wheel scrolls the pane under the mouse, three rows a notch.
pub(super) fn wheel(app: &mut App, column: u16, row: u16, up: bool) -> Vec<Effect> {
    let rows = if up { -3 } else { 3 };
    match crate::layout::pane_at(app.screen, app.sizes, column, row) {
        Some(Focus::Output) if app.paused.is_none() && app.runs_tab => {
            let (width, room) = app.bottom_room();
            app.runs.wheel(width, room, rows);
        }
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
    Vec::new()
}

/// A click focuses the pane under it and picks what is under it: a spell
/// (opening it), an event, a state key, or the editor's cursor place.
pub(super) fn click(app: &mut App, column: u16, row: u16) -> Vec<Effect> {
    let Some(pane) = crate::layout::pane_at(app.screen, app.sizes, column, row) else {
        return Vec::new();
    };
    app.focus = pane;
    match pane {
        Focus::Spells => match crate::state::spell_at(app, row) {
            Some(to) => buffer::choose(app, to),
            None => Vec::new(),
        },
        Focus::Inspector => {
            if let Some(at) = crate::state::event_at(app, row) {
                app.inspector.selected = Some(at);
            }
            Vec::new()
        }
        Focus::State => {
            if let Some(at) = crate::state::state_key_at(app, row) {
                app.state_selected = at;
            }
            Vec::new()
        }
        Focus::Editor if app.paused.is_none() && app.prompt.is_none() => {
            if let Some((line, col)) = crate::state::editor_at(app, column, row) {
                let clamp = |n: usize| n.min(u16::MAX as usize) as u16;
                app.editor.area.cancel_selection();
                app.editor
                    .area
                    .move_cursor(ratatui_textarea::CursorMove::Jump(clamp(line), clamp(col)));
            }
            Vec::new()
        }
        Focus::Editor | Focus::Output => Vec::new(),
    }
}

/// Clears the bottom pane's text.
pub(super) fn clear(app: &mut App) -> Vec<Effect> {
    app.bottom_text().clear();
    Vec::new()
}

/// Copies the last run's output.
pub(super) fn copy_output(app: &mut App) -> Vec<Effect> {
    let text = app.output.since_mark();
    app.notice = Some(format!("copied the run's output ({} bytes)", text.len()));
    vec![Effect::Copy(text)]
}

/// Copies the selected event, as JSON.
pub(super) fn copy_event(app: &mut App) -> Vec<Effect> {
    let Some(e) = app.inspector.current() else {
        return Vec::new();
    };
    let topic = &e.topic;
    let text =
        serde_json::json!({"topic": topic, "data": e.data, "time_ms": e.time_ms}).to_string();
    app.notice = Some(format!("copied {topic} ({} bytes)", text.len()));
    vec![Effect::Copy(text)]
}

/// Up or Down a row in the inspector's list.
pub(super) fn inspector_row(app: &mut App, up: bool) -> Vec<Effect> {
    match up {
        true => app.inspector.up(),
        false => app.inspector.down(),
    }
    Vec::new()
}

/// The next (or previous) event, with its detail open.
pub(super) fn step_event(app: &mut App, forward: bool) -> Vec<Effect> {
    app.inspector.step(forward);
    Vec::new()
}

/// The inspector follows the newest event again.
pub(super) fn follow(app: &mut App) -> Vec<Effect> {
    app.inspector.selected = None;
    Vec::new()
}

pub(super) fn next_filter(app: &mut App) -> Vec<Effect> {
    app.inspector.next_filter();
    Vec::new()
}

pub(super) fn pause_events(app: &mut App) -> Vec<Effect> {
    app.inspector.toggle_pause();
    Vec::new()
}

pub(super) fn toggle_detail(app: &mut App) -> Vec<Effect> {
    app.inspector.toggle_detail();
    Vec::new()
}

/// Enter on a spell: into the editor (it opened when chosen).
pub(super) fn enter_spell(app: &mut App) -> Vec<Effect> {
    if app.open.is_some() {
        app.focus = Focus::Editor;
    }
    Vec::new()
}

/// Up or Down a key in the State pane.
pub(super) fn state_step(app: &mut App, up: bool) -> Vec<Effect> {
    app.state_selected = match up {
        true => app.state_selected.saturating_sub(1),
        false => (app.state_selected + 1).min(app.state.len().saturating_sub(1)),
    };
    Vec::new()
}

/// The project's state, read again.
pub(super) fn state_read(app: &mut App, entries: Vec<(String, serde_json::Value)>) -> Vec<Effect> {
    app.state = entries;
    app.state_selected = app.state_selected.min(app.state.len().saturating_sub(1));
    Vec::new()
}

/// In the State pane, e edits the selected key's value.
pub(super) fn edit_state(app: &mut App) -> Vec<Effect> {
    let Some((key, value)) = app.state.get(app.state_selected) else {
        return Vec::new();
    };
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    app.state_edit = Some((key.clone(), Editor::new(&text)));
    Vec::new()
}

/// Ctrl+S on a state edit writes the value, if it is JSON.
pub(super) fn save_state(app: &mut App) -> Vec<Effect> {
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

/// Deleting cannot be undone: the first press asks, the second deletes.
pub(super) fn delete_state(app: &mut App) -> Vec<Effect> {
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
