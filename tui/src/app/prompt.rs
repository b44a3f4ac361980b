//! The one-line questions at the bottom of the screen (find, replace, go
//! to line, a new spell, args, replay, break patterns, search and filter),
//! and what their answers do.

use super::buffer::not_text;
use crate::editor::Editor;
use crate::state::*;

/// Asks `prompt`, with `text` typed already and the cursor after it.
pub(super) fn ask(app: &mut App, prompt: Prompt, text: &str) -> Vec<Effect> {
    let mut edit = Editor::input(text);
    edit.area.move_cursor(ratatui_textarea::CursorMove::End);
    app.prompt = Some((prompt, edit));
    Vec::new()
}

pub(super) fn break_pattern(app: &mut App) -> Vec<Effect> {
    let now = app.break_on.clone();
    ask(app, Prompt::BreakOn, &now)
}

pub(super) fn watch(app: &mut App) -> Vec<Effect> {
    ask(app, Prompt::Watch, "")
}

pub(super) fn new_spell(app: &mut App) -> Vec<Effect> {
    ask(app, Prompt::NewSpell, "")
}

/// Go to line (empty), find or replace (what is selected or found).
pub(super) fn open_editor_prompt(app: &mut App, action: &Action) -> Vec<Effect> {
    let (prompt, text) = match action {
        Action::GoToLine => (Prompt::GoToLine, String::new()),
        Action::Find => (Prompt::Find, app.find_default()),
        _ => (Prompt::Replace, app.find_default()),
    };
    ask(app, prompt, &text)
}

/// F3: the next (or previous) place of what was found; with nothing found
/// yet, asks what to find.
pub(super) fn find_again(app: &mut App, forward: bool) -> Vec<Effect> {
    let Some(term) = app.find.clone() else {
        return open_editor_prompt(app, &Action::Find);
    };
    find_in_editor(app, &term, forward);
    Vec::new()
}

/// The open spell's args (`args`) or the cassette it replays.
pub(super) fn spell_settings(app: &mut App, args: bool) -> Vec<Effect> {
    if app.open.is_none() {
        app.notice = Some("open a spell first".into());
        return Vec::new();
    }
    let now = app.spell_settings();
    let (prompt, text) = if args {
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
    ask(app, prompt, &text)
}

pub(super) fn filter_spells(app: &mut App) -> Vec<Effect> {
    let now = app.spell_filter.clone().unwrap_or_default();
    ask(app, Prompt::FilterSpells, &now)
}

pub(super) fn search_events(app: &mut App) -> Vec<Effect> {
    let now = app.inspector.search.clone().unwrap_or_default();
    ask(app, Prompt::SearchEvents, &now)
}

/// The prompt was answered.
pub(super) fn answer(app: &mut App) -> Vec<Effect> {
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
        Prompt::Watch => {
            let Some(key) = app.settings_key() else {
                return Vec::new();
            };
            let mut now = app.spell_settings();
            match text.is_empty() {
                true => drop(now.watches.pop()),
                false => now.watches.push(text),
            }
            app.settings.set(&key, now);
            let mut effects = vec![Effect::SaveSettings(
                app.project.clone(),
                app.settings.clone(),
            )];
            effects.extend(super::run::inspect(app));
            effects
        }
        Prompt::BreakIf | Prompt::BreakHits | Prompt::BreakLog => {
            let Some((_, when)) = app.editing_break.as_mut() else {
                return Vec::new();
            };
            let answer = (!text.is_empty()).then_some(text);
            let next = match prompt {
                Prompt::BreakIf => {
                    when.condition = answer;
                    Some((Prompt::BreakHits, when.hits.clone()))
                }
                Prompt::BreakHits => {
                    when.hits = answer;
                    Some((Prompt::BreakLog, when.log.clone()))
                }
                _ => {
                    when.log = answer;
                    None
                }
            };
            match next {
                Some((prompt, now)) => ask(app, prompt, &now.unwrap_or_default()),
                None => super::run::set_breakpoint(app),
            }
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
            ask(app, Prompt::ReplaceWith, "")
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
        Prompt::NewSpell => new_spell_named(app, text),
    }
}

/// A new spell file named `text`, opened in the editor.
fn new_spell_named(app: &mut App, text: String) -> Vec<Effect> {
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
