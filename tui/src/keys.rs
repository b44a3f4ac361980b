//! The default keymap: terminal keys to actions.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::app::Action;

/// Every key, as the help shows it: keep in step with `action_for`.
pub const HELP: &[(&str, &str)] = &[
    ("F5", "run the open spell; at a pause, go on"),
    ("Shift+F5, Ctrl+C", "stop the run"),
    ("Up/Down, k/j", "choose a spell"),
    ("Tab", "next pane (Esc leaves the editor)"),
    ("F2", "bottom pane: Output, Lua, JS or Rhai REPL"),
    (
        "Enter (REPL)",
        "evaluate; Ctrl+J or Alt+Enter: new line; Up/Down: history",
    ),
    ("Ctrl+S", "save the open spell"),
    ("Ctrl+Q", "quit (asks again with unsaved edits)"),
    ("a", "auto-run: run again on every save"),
    ("d", "debug: pause before bridge calls"),
    (
        "b",
        "debug: which calls (*, llm.*, tool.call, state.*, workflow.*)",
    ),
    ("c", "at a pause: go on to the next call"),
    ("F10, n", "at a pause: step over this call"),
    ("x", "at a pause: abort the run"),
    (
        "e",
        "at a pause: edit arguments/reply as JSON (then F5 or F10)",
    ),
    (
        "e (State)",
        "edit the selected value as JSON (Ctrl+S sets it)",
    ),
    ("Delete, D", "State: delete the selected key"),
    ("f", "events: next topic filter"),
    ("p", "events: pause or resume the view"),
    ("Enter", "events: the selected event in full"),
    ("y", "events: copy the selected event"),
    ("End, G", "events: follow the newest"),
    ("F1, ?", "this help (Esc closes it)"),
    ("q", "quit"),
];

/// The action for `key`; in the editor, keys that are not commands type.
pub fn action_for(key: KeyEvent, in_editor: bool) -> Option<Action> {
    if key.kind != KeyEventKind::Press {
        return None;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let shift = key.modifiers.contains(KeyModifiers::SHIFT);
    let command = matches!(key.code, KeyCode::F(_) | KeyCode::Tab | KeyCode::Esc)
        || (ctrl && matches!(key.code, KeyCode::Char('s' | 'c' | 'q')));
    if in_editor && !command {
        return Some(Action::EditorKey(key));
    }
    Some(match key.code {
        KeyCode::Char('s') if ctrl => Action::Save,
        KeyCode::Char('q') if ctrl => Action::Quit,
        KeyCode::F(5) if shift => Action::Stop,
        KeyCode::F(5) => Action::Run,
        KeyCode::F(10) | KeyCode::Char('n') => Action::Step,
        KeyCode::Char('c') if !ctrl => Action::Continue,
        KeyCode::Char('x') => Action::Abort,
        KeyCode::Char('e') => Action::Edit,
        KeyCode::Delete | KeyCode::Char('D') => Action::DeleteKey,
        KeyCode::Char('d') => Action::ToggleDebug,
        KeyCode::Char('b') => Action::NextBreakPattern,
        KeyCode::Char('c') if ctrl => Action::Stop,
        KeyCode::Char('q') if !ctrl => Action::Quit,
        KeyCode::Up | KeyCode::Char('k') => Action::Up,
        KeyCode::Down | KeyCode::Char('j') => Action::Down,
        KeyCode::Tab => Action::NextPane,
        KeyCode::F(2) => Action::NextTab,
        KeyCode::End | KeyCode::Char('G') => Action::Follow,
        KeyCode::Char('f') => Action::NextFilter,
        KeyCode::Char('p') => Action::PauseEvents,
        KeyCode::Enter => Action::Detail,
        KeyCode::Char('y') => Action::Copy,
        KeyCode::F(1) | KeyCode::Char('?') => Action::Help,
        KeyCode::Esc => Action::Escape,
        KeyCode::Char('a') if !ctrl => Action::ToggleAutoRun,
        _ => return None,
    })
}
