//! Text typed or pasted, to what has the keyboard: a prompt, a JSON edit
//! at a pause or in the State pane, the REPL's input, or the spell; and
//! the spell editor's own commands among the keys.

use super::buffer::not_text;
use crate::state::*;

/// The spell editor's own commands, among keys that would otherwise
/// type or mean something else: Tab indents (Esc leaves the editor),
/// Ctrl+C copies a selection, and find, replace and go to line.
pub(super) fn editor_command(app: &App, key: crossterm::event::KeyEvent) -> Option<Action> {
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

/// A key that types, or edits what is typed.
pub(super) fn key(app: &mut App, key: crossterm::event::KeyEvent) -> Vec<Effect> {
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
        return Vec::new();
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
            return Vec::new();
        }
        (None, None) => {
            let keyed = app.editor.key(key, rows, clipboard);
            app.editor.follow_cursor(rows);
            keyed
        }
    };
    if !keyed.copied {
        return Vec::new();
    }
    app.notice = Some(format!(
        "copied {} characters",
        app.clipboard.chars().count()
    ));
    vec![Effect::Copy(app.clipboard.clone())]
}

/// Pasted text goes where typing would: the prompt (its first line), a
/// JSON edit, the REPL's input or the spell.
pub(super) fn paste(app: &mut App, text: &str) -> Vec<Effect> {
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
    Vec::new()
}
