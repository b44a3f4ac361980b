//! The REPL tabs of the bottom pane, one per engine: turning tabs, what is
//! typed and sent, each tab's history and completion, and what its thread
//! says back.

use llmspell::EngineKind;

use crate::editor::Editor;
use crate::state::*;

/// What a key means while the REPL's input has the keyboard, where that
/// differs from typing: Enter sends (Alt+Enter and Ctrl+J break the line),
/// Up and Down on one line recall, Tab after a word completes.
pub(super) fn key(app: &App, key: crossterm::event::KeyEvent) -> Option<Action> {
    use crossterm::event::{KeyCode, KeyModifiers};
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let alt = key.modifiers.contains(KeyModifiers::ALT);
    let one_line = app.repl_input.area.lines().len() <= 1;
    match key.code {
        KeyCode::Enter if alt => Some(Action::EditorKey(KeyCode::Enter.into())),
        KeyCode::Enter => Some(Action::ReplSubmit),
        KeyCode::Char('j') if ctrl => Some(Action::EditorKey(KeyCode::Enter.into())),
        KeyCode::PageUp => Some(Action::PageUp),
        KeyCode::PageDown => Some(Action::PageDown),
        KeyCode::Up if one_line => Some(Action::HistoryPrev),
        KeyCode::Down if one_line => Some(Action::HistoryNext),
        KeyCode::Tab if !word_before_cursor(&app.repl_input).is_empty() => Some(Action::Complete),
        _ => None,
    }
}

/// The next tab: the run's Output, then Lua, JavaScript, Rhai. A tab's
/// REPL and history open the first time it is shown.
pub(super) fn next_tab(app: &mut App) -> Vec<Effect> {
    use EngineKind::{Js, Lua, Rhai};
    // Output, the three REPLs, the Runs view, and round again; at a pause,
    // between the pause and the paused spell's REPL.
    let paused_in = app.paused.as_ref().and(app.running_kind());
    (app.tab, app.runs_tab) = match (app.tab, app.runs_tab) {
        (None, _) if paused_in.is_some() => (paused_in, false),
        (Some(_), _) if paused_in.is_some() => (None, false),
        (None, false) => (Some(Lua), false),
        (Some(Lua), _) => (Some(Js), false),
        (Some(Js), _) => (Some(Rhai), false),
        (Some(Rhai), _) => (None, true),
        (None, true) => (None, false),
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

/// Sends the input to the tab's REPL, echoed in its log.
pub(super) fn submit(app: &mut App) -> Vec<Effect> {
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
    // Paused in a spell of this language: the entry runs in its frame.
    if app.paused.is_some() && app.running_kind() == Some(kind) {
        app.repl_state.insert(kind, ReplState::Busy(entry.clone()));
        return vec![Effect::PauseEval {
            kind,
            frame: app.pause_frame,
            code: entry,
            watches: app.spell_settings().watches,
        }];
    }
    vec![Effect::ReplEval(kind, entry)]
}

/// What a REPL's thread is doing now; an entry it took joins the history.
pub(super) fn state(app: &mut App, kind: EngineKind, state: ReplState) -> Vec<Effect> {
    if let ReplState::Busy(entry) = &state {
        let history = app.repl_history.entry(kind).or_default();
        if history.last() != Some(entry) {
            history.push(entry.clone());
        }
    }
    app.repl_state.insert(kind, state);
    Vec::new()
}

/// Ctrl+C in a REPL: stops its running entry or drops its unfinished one.
pub(super) fn stop(app: &mut App) -> Vec<Effect> {
    let Some((kind, _)) = app.repl_now() else {
        return Vec::new();
    };
    app.repl_log
        .entry(kind)
        .or_default()
        .push("^C", KEEP_OUTPUT);
    vec![Effect::ReplStop(kind)]
}

/// Ctrl+C with nothing running: clears the input line.
pub(super) fn clear_input(app: &mut App) -> Vec<Effect> {
    app.repl_input = Editor::input("");
    app.repl_recall = None;
    Vec::new()
}

/// Up (`back`) or Down through the tab's history, into the input.
pub(super) fn recall(app: &mut App, back: bool) -> Vec<Effect> {
    let Some(kind) = app.tab else {
        return Vec::new();
    };
    let history = app.repl_history.get(&kind).map_or(&[][..], Vec::as_slice);
    let at = match (back, app.repl_recall) {
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

/// The tab's history as saved on disk.
pub(super) fn history(app: &mut App, kind: EngineKind, mut saved: Vec<String>) -> Vec<Effect> {
    // Entries made before the file was read come after it.
    let now = app.repl_history.remove(&kind).unwrap_or_default();
    saved.extend(now);
    app.repl_history.insert(kind, saved);
    Vec::new()
}

pub(super) fn line(app: &mut App, kind: EngineKind, line: &str) -> Vec<Effect> {
    app.repl_log
        .entry(kind)
        .or_default()
        .push(line, KEEP_OUTPUT);
    Vec::new()
}

/// The names the REPL can complete, from its engine.
pub(super) fn completions(app: &mut App, names: Vec<String>) -> Vec<Effect> {
    app.completions = names;
    Vec::new()
}

/// Completes the REPL's word: as far as all the names that fit agree; the
/// names are listed when there is more than one.
pub(super) fn complete(app: &mut App) -> Vec<Effect> {
    let word = word_before_cursor(&app.repl_input).to_owned();
    let fits: Vec<&String> = app
        .completions
        .iter()
        .filter(|c| c.starts_with(&word))
        .collect();
    let Some(first) = fits.first() else {
        app.notice = Some(format!("nothing completes {word:?}"));
        return Vec::new();
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
    Vec::new()
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
