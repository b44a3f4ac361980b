//! The default keymap: terminal keys to actions.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::app::Action;

pub fn action_for(key: KeyEvent) -> Option<Action> {
    if key.kind != KeyEventKind::Press {
        return None;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let shift = key.modifiers.contains(KeyModifiers::SHIFT);
    Some(match key.code {
        KeyCode::F(5) if shift => Action::Stop,
        KeyCode::F(5) => Action::Run,
        KeyCode::F(10) | KeyCode::Char('n') => Action::Step,
        KeyCode::Char('c') if !ctrl => Action::Continue,
        KeyCode::Char('x') => Action::Abort,
        KeyCode::Char('d') => Action::ToggleDebug,
        KeyCode::Char('c') if ctrl => Action::Stop,
        KeyCode::Char('q') if !ctrl => Action::Quit,
        KeyCode::Up | KeyCode::Char('k') => Action::Up,
        KeyCode::Down | KeyCode::Char('j') => Action::Down,
        KeyCode::Tab => Action::NextPane,
        KeyCode::Char('a') if !ctrl => Action::ToggleAutoRun,
        _ => return None,
    })
}
