//! The default keymap: terminal keys to actions.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::action::Action;

/// Every key, as the help shows it: keep in step with `action_for`.
pub const HELP: &[(&str, &str)] = &[
    ("F5", "run the open spell; at a pause, go on"),
    ("Shift+F5, Ctrl+C", "stop the run (in a REPL: its entry)"),
    (
        "Up/Down, k/j",
        "choose a spell (or click it; the wheel scrolls)",
    ),
    (
        "Tab, Shift+Tab",
        "next, previous pane (Esc leaves the editor)",
    ),
    (
        "Alt+arrows",
        "make the focused pane wider/narrower, taller/shorter",
    ),
    ("F2", "bottom pane: Output, Lua, JS or Rhai REPL, Runs"),
    (
        "Enter (Runs)",
        "open the chosen kept run: output, events, exchanges",
    ),
    (
        "r (Runs)",
        "run it again from its journal (no network), same args",
    ),
    ("m (Runs)", "mark a run; m on another compares the two"),
    (
        "[ ] f (a run)",
        "choose an exchange; f forks there (edit reply, F5)",
    ),
    ("Esc (Runs)", "back to the list (a fork: drop it)"),
    (
        "Enter (REPL)",
        "evaluate; Ctrl+J or Alt+Enter: new line; Up/Down: history",
    ),
    (
        "Tab (REPL)",
        "complete a global or bridge name (Esc leaves)",
    ),
    (
        "PgUp/PgDn, Home",
        "Output: scroll (Up/Down and the wheel too; End follows)",
    ),
    ("PgUp/PgDn (REPL)", "scroll the REPL's transcript"),
    ("y (Output)", "copy the last run's output"),
    ("Ctrl+L", "clear the Output, or the REPL shown"),
    ("Ctrl+S", "save the open spell (asks if it changed on disk)"),
    (
        "Tab (editor)",
        "indent (the selected lines); Shift+Tab outdents",
    ),
    (
        "Shift+arrows",
        "editor: select; Ctrl+C copy, Ctrl+X cut, Ctrl+V paste",
    ),
    (
        "Ctrl+Z, Ctrl+Y",
        "editor: undo, redo (a burst of typing at once)",
    ),
    (
        "PgUp/PgDn",
        "editor: a page up or down (Ctrl+Home/End: start, end)",
    ),
    ("Ctrl+G", "editor: go to line"),
    (
        "Ctrl+F, F3",
        "editor: find, next (Shift+F3 previous; Esc unmarks)",
    ),
    ("Ctrl+H", "editor: replace every match"),
    ("Ctrl+/", "editor: comment the line(s) out, or back in"),
    ("Ctrl+Q", "quit (asks again with unsaved edits)"),
    ("a", "auto-run: run again on every save"),
    ("A", "the open spell's spell.args (kept in .llmspell/)"),
    ("R", "the cassette its runs replay (empty: the live model)"),
    ("d", "debug: pause before bridge calls"),
    ("E", "debug: pause when a bridge call fails (e: a result)"),
    (
        "b",
        "debug: which calls (*, llm.*, tool.call, state.*, workflow.*)",
    ),
    ("B", "debug: type the calls to pause at (tool.*, state.set)"),
    ("Ctrl+N", "new spell: asks its name, creates and opens it"),
    ("c", "at a pause: go on to the next call"),
    (
        "F10, n",
        "at a pause: step over (this call; at a line, to the next)",
    ),
    (
        "F11, s",
        "at a pause: step in (the next line, or into the call)",
    ),
    ("Shift+F11, o", "at a pause: step out of this function"),
    (
        "< >",
        "at a pause: the frame out or in (locals, watches, REPL)",
    ),
    (
        "w",
        "at a pause: watch an expression (empty drops the last)",
    ),
    (
        "F2 (paused)",
        "the spell's REPL evaluates in the paused frame",
    ),
    ("F9", "editor: line breakpoint on or off"),
    (
        "Shift+F9",
        "editor: breakpoint's condition, hit count, log message",
    ),
    (
        "● ◉ ◆ ○",
        "gutter: breakpoint, conditional, logpoint, no code there",
    ),
    ("x", "at a pause: abort the run"),
    (
        "e",
        "at a pause: edit arguments/reply as JSON (then F5 or F10)",
    ),
    (
        "e (State)",
        "edit the selected value as JSON (Ctrl+S sets it)",
    ),
    (
        "Delete, D",
        "State: delete the selected key (asks; again deletes)",
    ),
    ("f", "events: next topic filter"),
    ("p", "events: pause or resume the view"),
    (
        "Enter",
        "events: the selected event in full (Up/Down scroll it)",
    ),
    ("n, p (detail)", "events: the next, previous event in full"),
    (
        "/",
        "events: only those with a text; spells: filter as you type",
    ),
    ("Enter (Spells)", "into the editor with the chosen spell"),
    ("y", "events: copy the selected event"),
    ("End, G", "events: follow the newest"),
    ("F1, ?", "this help (Up/Down scroll it, Esc closes it)"),
    ("q", "quit"),
];

/// The actions a keymap file may bind, by the names it uses.
pub const ACTIONS: &[(&str, Action)] = &[
    ("run", Action::Run),
    ("stop", Action::Stop),
    ("continue", Action::Continue),
    ("step", Action::Step),
    ("step_line", Action::StepLine),
    ("step_out", Action::StepOut),
    ("frame_out", Action::FrameOut),
    ("frame_in", Action::FrameIn),
    ("watch", Action::AddWatch),
    ("abort", Action::Abort),
    ("edit", Action::Edit),
    ("breakpoint", Action::ToggleBreakpoint),
    ("breakpoint_if", Action::EditBreakpoint),
    ("debug", Action::ToggleDebug),
    ("break_errors", Action::ToggleBreakErrors),
    ("break_pattern", Action::NextBreakPattern),
    ("type_break_pattern", Action::TypeBreakPattern),
    ("new_spell", Action::NewSpell),
    ("auto_run", Action::ToggleAutoRun),
    ("args", Action::EditArgs),
    ("replay", Action::PickReplay),
    ("save", Action::Save),
    ("quit", Action::Quit),
    ("up", Action::Up),
    ("down", Action::Down),
    ("next_pane", Action::NextPane),
    ("prev_pane", Action::PrevPane),
    ("find", Action::Find),
    ("find_next", Action::FindNext),
    ("find_prev", Action::FindPrev),
    ("replace", Action::Replace),
    ("go_to_line", Action::GoToLine),
    ("next_tab", Action::NextTab),
    ("delete_key", Action::DeleteKey),
    ("follow", Action::Follow),
    ("filter", Action::NextFilter),
    ("pause_events", Action::PauseEvents),
    ("search_events", Action::SearchEvents),
    ("detail", Action::Detail),
    ("copy", Action::Copy),
    ("page_up", Action::PageUp),
    ("page_down", Action::PageDown),
    ("home", Action::Home),
    ("clear", Action::Clear),
    ("wider", Action::ResizePane(true, 5)),
    ("narrower", Action::ResizePane(true, -5)),
    ("taller", Action::ResizePane(false, 5)),
    ("shorter", Action::ResizePane(false, -5)),
    ("help", Action::Help),
    ("escape", Action::Escape),
];

/// A user's keys (`--keys FILE`, or `~/.config/llmspell/keys.toml`), tried
/// before the defaults, which stay bound unless a user key takes them:
///
/// ```toml
/// run = "F6"
/// step = ["F8", "ctrl+n"]
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Keymap {
    bindings: Vec<(KeyCode, KeyModifiers, Action)>,
    /// `(key, action name)` as the file wrote them, for the help.
    pub shown: Vec<(String, String)>,
}

impl Keymap {
    /// Reads a keymap file; a mistake is named with the line it is on.
    pub fn load(path: &std::path::Path) -> Result<Keymap, String> {
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("keys {}: {e}", path.display()))?;
        Keymap::parse(&text).map_err(|e| format!("keys {}: {e}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Keymap, String> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Keys {
            One(String),
            Many(Vec<String>),
        }
        let table: std::collections::BTreeMap<String, Keys> =
            toml::from_str(text).map_err(|e| e.to_string())?;
        let mut bindings = Vec::new();
        let mut shown = Vec::new();
        for (name, keys) in table {
            let action = ACTIONS
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, a)| a.clone())
                .ok_or_else(|| {
                    let names: Vec<&str> = ACTIONS.iter().map(|(n, _)| *n).collect();
                    format!("no action {name:?}; actions: {}", names.join(", "))
                })?;
            let keys = match keys {
                Keys::One(k) => vec![k],
                Keys::Many(ks) => ks,
            };
            for key in keys {
                let (code, mods) = parse_key(&key).ok_or_else(|| {
                    format!("{name} = {key:?}: not a key (try \"F6\", \"ctrl+r\", \"shift+F5\", \"x\", \"Enter\")")
                })?;
                bindings.push((code, mods, action.clone()));
                shown.push((key, name.clone()));
            }
        }
        Ok(Keymap { bindings, shown })
    }

    /// The user's action for `key`, if they bound it.
    fn get(&self, key: &KeyEvent) -> Option<Action> {
        let mut mods =
            key.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
        // Terminals report Shift+letter as the capital letter itself.
        if let KeyCode::Char(_) = key.code {
            mods -= KeyModifiers::SHIFT;
        }
        self.bindings
            .iter()
            .find(|(c, m, _)| *c == key.code && *m == mods)
            .map(|(_, _, a)| a.clone())
    }
}

/// `"F6"`, `"ctrl+r"`, `"shift+F5"`, `"alt+x"`, `"x"`, `"Enter"`, ...
fn parse_key(text: &str) -> Option<(KeyCode, KeyModifiers)> {
    let mut mods = KeyModifiers::NONE;
    let mut parts: Vec<&str> = text.split('+').collect();
    let last = parts.pop()?;
    for m in parts {
        mods |= match m.to_ascii_lowercase().as_str() {
            "ctrl" | "control" => KeyModifiers::CONTROL,
            "alt" => KeyModifiers::ALT,
            "shift" => KeyModifiers::SHIFT,
            _ => return None,
        };
    }
    let lower = last.to_ascii_lowercase();
    let code = match lower.as_str() {
        "enter" => KeyCode::Enter,
        "esc" | "escape" => KeyCode::Esc,
        "tab" => KeyCode::Tab,
        "up" => KeyCode::Up,
        "down" => KeyCode::Down,
        "left" => KeyCode::Left,
        "right" => KeyCode::Right,
        "home" => KeyCode::Home,
        "end" => KeyCode::End,
        "delete" | "del" => KeyCode::Delete,
        "backspace" => KeyCode::Backspace,
        "pageup" => KeyCode::PageUp,
        "pagedown" => KeyCode::PageDown,
        "space" => KeyCode::Char(' '),
        f if f.starts_with('f') && f.len() > 1 => KeyCode::F(f[1..].parse().ok()?),
        _ => {
            let mut chars = last.chars();
            let c = chars.next()?;
            if chars.next().is_some() {
                return None;
            }
            // A capital letter is itself; ctrl+R is ctrl+r.
            if mods.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) {
                KeyCode::Char(c.to_ascii_lowercase())
            } else {
                KeyCode::Char(c)
            }
        }
    };
    if let KeyCode::Char(_) = code {
        mods -= KeyModifiers::SHIFT;
    }
    Some((code, mods))
}

/// Whether `key` is a command even while typing: function keys, Tab, Esc,
/// and Ctrl or Alt with a key.
fn is_command(key: &KeyEvent) -> bool {
    matches!(key.code, KeyCode::F(_) | KeyCode::Tab | KeyCode::Esc)
        || key
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
}

/// The action for `key`, from the user's keymap, then the defaults; in the
/// editor, keys that are not commands type.
pub fn action_for(key: KeyEvent, in_editor: bool, user: &Keymap) -> Option<Action> {
    if key.kind != KeyEventKind::Press {
        return None;
    }
    if !in_editor || is_command(&key) {
        if let Some(action) = user.get(&key) {
            return Some(action);
        }
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let shift = key.modifiers.contains(KeyModifiers::SHIFT);
    let alt = key.modifiers.contains(KeyModifiers::ALT);
    let arrow = matches!(
        key.code,
        KeyCode::Left | KeyCode::Right | KeyCode::Up | KeyCode::Down
    );
    let command = matches!(key.code, KeyCode::F(_) | KeyCode::Tab | KeyCode::Esc)
        || (ctrl && matches!(key.code, KeyCode::Char('s' | 'c' | 'q' | 'n' | 'l')))
        || (alt && arrow);
    if in_editor && !command {
        return Some(Action::EditorKey(key));
    }
    Some(match key.code {
        KeyCode::Char('s') if ctrl => Action::Save,
        KeyCode::Char('q') if ctrl => Action::Quit,
        KeyCode::F(5) if shift => Action::Stop,
        KeyCode::F(5) => Action::Run,
        KeyCode::Char('n') if ctrl => Action::NewSpell,
        KeyCode::Left if alt => Action::ResizePane(true, -5),
        KeyCode::Right if alt => Action::ResizePane(true, 5),
        KeyCode::Up if alt => Action::ResizePane(false, -5),
        KeyCode::Down if alt => Action::ResizePane(false, 5),
        KeyCode::F(10) | KeyCode::Char('n') => Action::Step,
        KeyCode::F(11) if shift => Action::StepOut,
        KeyCode::F(11) | KeyCode::Char('s') => Action::StepLine,
        KeyCode::Char('o') => Action::StepOut,
        KeyCode::Char('<') => Action::FrameOut,
        KeyCode::Char('>') => Action::FrameIn,
        KeyCode::Char('w') => Action::AddWatch,
        KeyCode::F(9) if shift => Action::EditBreakpoint,
        KeyCode::F(9) => Action::ToggleBreakpoint,
        KeyCode::Char('c') if !ctrl => Action::Continue,
        KeyCode::Char('x') => Action::Abort,
        KeyCode::Char('e') => Action::Edit,
        KeyCode::Delete | KeyCode::Char('D') => Action::DeleteKey,
        KeyCode::Char('d') => Action::ToggleDebug,
        KeyCode::Char('E') => Action::ToggleBreakErrors,
        KeyCode::Char('b') => Action::NextBreakPattern,
        KeyCode::Char('B') => Action::TypeBreakPattern,
        KeyCode::Char('c') if ctrl => Action::Stop,
        KeyCode::Char('l') if ctrl => Action::Clear,
        KeyCode::PageUp => Action::PageUp,
        KeyCode::PageDown => Action::PageDown,
        KeyCode::Home => Action::Home,
        KeyCode::Char('q') if !ctrl => Action::Quit,
        KeyCode::Up | KeyCode::Char('k') => Action::Up,
        KeyCode::Down | KeyCode::Char('j') => Action::Down,
        KeyCode::Tab => Action::NextPane,
        KeyCode::BackTab => Action::PrevPane,
        KeyCode::F(2) => Action::NextTab,
        KeyCode::End | KeyCode::Char('G') => Action::Follow,
        KeyCode::Char('f') => Action::NextFilter,
        KeyCode::Char('p') => Action::PauseEvents,
        KeyCode::Char('/') => Action::SearchEvents,
        KeyCode::Enter => Action::Detail,
        KeyCode::Char('y') => Action::Copy,
        KeyCode::F(1) | KeyCode::Char('?') => Action::Help,
        KeyCode::Esc => Action::Escape,
        KeyCode::Char('a') if !ctrl => Action::ToggleAutoRun,
        KeyCode::Char('A') => Action::EditArgs,
        KeyCode::Char('R') => Action::PickReplay,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    #[test]
    fn user_keys_come_first_and_the_defaults_stay() {
        let user =
            Keymap::parse("run = \"F6\"\nstep = [\"F8\", \"ctrl+n\"]\nquit = \"Q\"\n").unwrap();
        let none = KeyModifiers::NONE;
        let act = |code, mods, in_editor| action_for(press(code, mods), in_editor, &user);
        assert_eq!(act(KeyCode::F(6), none, false), Some(Action::Run));
        assert_eq!(
            act(KeyCode::F(5), none, false),
            Some(Action::Run),
            "defaults stay"
        );
        assert_eq!(
            act(KeyCode::F(8), none, true),
            Some(Action::Step),
            "F-keys work while typing"
        );
        assert_eq!(
            act(KeyCode::Char('n'), KeyModifiers::CONTROL, true),
            Some(Action::Step)
        );
        assert_eq!(
            act(KeyCode::Char('Q'), KeyModifiers::SHIFT, false),
            Some(Action::Quit)
        );
        // A letter still types in the editor.
        assert!(matches!(
            act(KeyCode::Char('Q'), KeyModifiers::SHIFT, true),
            Some(Action::EditorKey(_))
        ));
    }

    #[test]
    fn a_bad_keymap_names_its_mistake() {
        let e = Keymap::parse("rnu = \"F6\"").unwrap_err();
        assert!(e.contains("no action \"rnu\"") && e.contains("run"), "{e}");
        let e = Keymap::parse("run = \"ctrl+F99x\"").unwrap_err();
        assert!(e.contains("not a key"), "{e}");
        let e = Keymap::parse("run = 5").unwrap_err();
        assert!(e.contains("line 1"), "{e}");
    }
}
