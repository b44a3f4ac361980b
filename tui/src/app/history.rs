//! The Runs view: the project's kept runs (every run, the IDE's and other
//! processes'), one opened whole, two compared, a run again from its
//! journal, and a fork at an exchange with its reply edited as JSON.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::run;
use crate::editor::Editor;
use crate::runs::{exchange_line, Opened};
use crate::state::*;

/// The rows a fork's JSON edit may take before it scrolls.
const BOX: usize = 8;

/// A key for the Runs view, if it is one of its own; otherwise the
/// keymap has it (F2, Tab, F1, q...).
pub(super) fn key(app: &mut App, key: KeyEvent) -> Option<Vec<Effect>> {
    // A fork's reply being edited takes every key but F5 and Esc.
    if let Some((id, n, edit)) = &mut app.runs.fork {
        return Some(match key.code {
            KeyCode::F(5) if key.modifiers.is_empty() => {
                let (id, n, text) = (*id, *n, edit.text());
                fork(app, id, n, text)
            }
            KeyCode::Esc => {
                app.runs.fork = None;
                app.notice = Some("fork dropped".into());
                Vec::new()
            }
            _ => {
                edit.key(key, BOX, &mut app.clipboard);
                Vec::new()
            }
        });
    }
    if !key.modifiers.difference(KeyModifiers::SHIFT).is_empty() {
        return None;
    }
    let (width, room) = app.bottom_room();
    let page = room.saturating_sub(2).max(1) as isize;
    let moved = match key.code {
        KeyCode::Up | KeyCode::Char('k') => Some(-1),
        KeyCode::Down | KeyCode::Char('j') => Some(1),
        KeyCode::PageUp => Some(-page),
        KeyCode::PageDown => Some(page),
        KeyCode::Home => Some(isize::MIN / 2),
        KeyCode::End | KeyCode::Char('G') => Some(isize::MAX / 2),
        _ => None,
    };
    match (&mut app.runs.open, key.code) {
        (None, _) if moved.is_some() => {
            app.runs.step(moved.unwrap_or(0));
            Some(Vec::new())
        }
        (Some(open), _) if moved.is_some() => {
            let by = moved.unwrap_or(0).clamp(-1_000_000, 1_000_000);
            let lines: Vec<String> = open.lines().to_vec();
            let scroll = open.scroll_mut();
            match key.code {
                KeyCode::Home => scroll.home(),
                _ => scroll.by(&lines[..], width, room, by),
            }
            Some(Vec::new())
        }
        (None, KeyCode::Enter) => {
            let id = app.runs.selected_run()?.id;
            Some(vec![Effect::OpenRun(app.project.clone(), id)])
        }
        (None, KeyCode::Char('m')) => Some(mark(app)),
        (None, KeyCode::Char('r')) => {
            let s = app.runs.selected_run()?;
            let (id, spell, path) = (s.id, s.spell.clone(), s.path.clone());
            Some(again(app, id, spell, path, None))
        }
        (Some(Opened::Run { run, .. }), KeyCode::Char('r')) => {
            let s = &run.summary;
            let (id, spell, path) = (s.id, s.spell.clone(), s.path.clone());
            Some(again(app, id, spell, path, None))
        }
        (
            Some(Opened::Run {
                run,
                lines,
                exchange,
                scroll,
            }),
            KeyCode::Char(c @ ('[' | ']')),
        ) => {
            let count = run.exchanges.len();
            if count > 0 {
                *exchange = match c {
                    '[' => exchange.saturating_sub(1).max(1),
                    _ => (*exchange + 1).min(count),
                };
                if let Some(line) = exchange_line(lines, *exchange) {
                    scroll.to_line(line);
                }
            }
            Some(Vec::new())
        }
        (Some(Opened::Run { run, exchange, .. }), KeyCode::Char('f')) => {
            let Some(ex) = run.exchanges.get(exchange.wrapping_sub(1)) else {
                app.notice = Some("this run received nothing from outside: nothing to fork".into());
                return Some(Vec::new());
            };
            let reply = match &ex.error {
                Some(e) => serde_json::json!({"error": {"code": e.code, "message": e.message}}),
                None => ex.reply.clone().unwrap_or_default(),
            };
            let text = serde_json::to_string_pretty(&reply).unwrap_or_default();
            app.runs.fork = Some((run.summary.id, ex.n, Editor::new(&text)));
            Some(Vec::new())
        }
        (Some(open), KeyCode::Char('y')) => Some(vec![Effect::Copy(open.lines().join("\n"))]),
        (Some(_), KeyCode::Esc) => {
            app.runs.open = None;
            Some(Vec::new())
        }
        _ => None,
    }
}

/// `m`: marks the chosen run; on another, compares the two.
fn mark(app: &mut App) -> Vec<Effect> {
    let Some(id) = app.runs.selected_run().map(|s| s.id) else {
        return Vec::new();
    };
    match app.runs.marked {
        Some(first) if first != id => {
            app.runs.marked = None;
            vec![Effect::CompareRuns(app.project.clone(), first, id)]
        }
        Some(_) => {
            app.runs.marked = None;
            Vec::new()
        }
        None => {
            app.runs.marked = Some(id);
            app.notice = Some(format!("run {id} marked: m on another run compares them"));
            Vec::new()
        }
    }
}

/// A fork's edited reply: JSON, or it stays to be fixed.
fn fork(app: &mut App, id: i64, n: usize, text: String) -> Vec<Effect> {
    if let Err(e) = serde_json::from_str::<serde_json::Value>(&text) {
        app.notice = Some(format!("not JSON ({e}); fix it, or Esc to drop the fork"));
        return Vec::new();
    }
    let Some(Opened::Run { run, .. }) = &app.runs.open else {
        return Vec::new();
    };
    let (spell, path) = (run.summary.spell.clone(), run.summary.path.clone());
    let effects = again(app, id, spell, path, Some((n, text)));
    if !effects.is_empty() {
        app.runs.fork = None;
    }
    effects
}

/// Runs a kept run again from its journal (forked, if given), its
/// output in the Output pane, which turns to show it.
fn again(
    app: &mut App,
    id: i64,
    spell: String,
    path: String,
    fork: Option<(usize, String)>,
) -> Vec<Effect> {
    if app.running() {
        app.notice = Some("a run is going: Shift+F5 stops it".into());
        return Vec::new();
    }
    let how = match &fork {
        Some((n, _)) => format!("fork of run {id} at #{n}"),
        None => format!("run {id} again, from its journal"),
    };
    app.runs_tab = false;
    app.runs.open = None;
    run::start_kept(
        app,
        spell,
        std::path::PathBuf::from(path),
        &how,
        FromRun { id, fork },
    )
}

/// The kept runs as read again.
pub(super) fn listed(
    app: &mut App,
    list: Result<Vec<llmspell::history::Summary>, String>,
) -> Vec<Effect> {
    match list {
        Ok(list) => {
            // A choice of the newest run follows the newest as runs come.
            let newest = app.runs.list.first().map(|s| s.id);
            if app.runs.chosen == newest {
                app.runs.chosen = None;
            }
            app.runs.list = list;
            app.runs.error = None;
        }
        Err(e) => app.runs.error = Some(e),
    }
    Vec::new()
}

pub(super) fn opened(
    app: &mut App,
    run: Result<Box<llmspell::history::Run>, String>,
) -> Vec<Effect> {
    match run {
        Ok(run) => {
            app.runs.chosen = Some(run.summary.id);
            app.runs.open = Some(Opened::run(*run));
        }
        Err(e) => app.notice = Some(e),
    }
    Vec::new()
}

pub(super) fn compared(
    app: &mut App,
    runs: Result<(Box<llmspell::history::Run>, Box<llmspell::history::Run>), String>,
) -> Vec<Effect> {
    match runs {
        Ok((a, b)) => app.runs.open = Some(Opened::diff(&a, &b)),
        Err(e) => app.notice = Some(e),
    }
    Vec::new()
}
