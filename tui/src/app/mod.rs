//! The IDE's state and the one place it changes: `update(&mut App, Action)`.
//!
//! Terminal keys, spell output, bus events and finished runs all arrive as
//! [`Action`]s. `update` never does I/O and never waits: what needs the
//! outside world (reading a file, starting or stopping a run) comes back as
//! an [`Effect`] for the main loop to carry out.
//!
//! Where a thing is handled, in three steps:
//!
//! 1. `update` settles what the user was asked ("q again quits").
//! 2. A terminal key goes to what has the keyboard (`keyed`): a question
//!    about the file on disk, a prompt, the REPL's input, an open event,
//!    the editor's own commands, else the keymap of `crate::keys`. Each
//!    turns the key into an action, and that action goes round again.
//! 3. `route` is a table: one arm per action, whose guard only reads the
//!    state and whose body is one call into the file of the concern whose
//!    state the action changes:
//!    - `buffer`: the spell list, the open buffer and its file on disk;
//!    - `run`: runs, their news, and the debugger;
//!    - `repl_tabs`: the REPL tabs;
//!    - `history`: the Runs view (kept runs, opened, compared, forked);
//!    - `prompt`: the one-line questions and what their answers do;
//!    - `panes`: focus, help, scrolling, clicks, the inspector and the
//!      State pane;
//!    - `typing`: text typed or pasted into what has the keyboard.
//!
//! A new key is an action in `crate::action`, its key in `crate::keys`, an
//! arm here (arms of one action are tried in order: the narrower guard
//! first) and its body in its concern's file. The concern files never call
//! `update`: one concern may call a lower one's function directly
//! (`buffer` starts a run through `run`), and none calls back up.

mod buffer;
mod history;
mod panes;
mod prompt;
mod repl_tabs;
mod run;
mod typing;

use llmspell::debug::Resume;

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
    // The open spell's breakpoints follow their lines through an edit:
    // the text before is kept only when there are some to move. A key
    // goes through here twice (as a key, then as what it does): only a
    // pass that finds the marks as it left them moves them.
    let before = app.spell_name().and_then(|s| {
        let marks = app.breakpoints.get(s).filter(|b| !b.is_empty())?;
        Some((
            s.to_owned(),
            marks.clone(),
            app.editor.area.lines().to_vec(),
        ))
    });
    let mut effects = route(app, action);
    let mut edited = false;
    if let Some((spell, was, old)) = before {
        let new = app.editor.area.lines();
        let marks = app.breakpoints.get(&spell).filter(|m| **m == was);
        edited = app.spell_name() == Some(spell.as_str()) && old != new;
        if let (Some(marks), true) = (marks, edited) {
            let moved = crate::settings::LineBreaks(crate::edit::follow_lines(&old, new, &marks.0));
            if moved != *marks {
                app.breakpoints.insert(spell, moved);
                if app.running() {
                    effects.push(Effect::LineBreaks(app.breakpoint_list()));
                }
            }
        }
    }
    keep_breakpoints(app, &mut effects);
    check_code_lines(app, edited);
    effects
}

/// Works out which of the open spell's breakpoints are on lines with no
/// code, when its breakpoints, the spell or its text changed. A spell
/// that does not compile as it stands (mid-typing) cannot tell: none is
/// marked.
pub(super) fn check_code_lines(app: &mut App, edited: bool) {
    let breaks = app
        .spell_name()
        .and_then(|s| Some((s, app.breakpoints.get(s).filter(|b| !b.is_empty())?)));
    let Some((spell, breaks)) = breaks else {
        app.no_code = None;
        return;
    };
    let checked: Vec<u32> = breaks.lines().collect();
    let same = app
        .no_code
        .as_ref()
        .is_some_and(|n| n.spell == spell && n.checked == checked);
    if same && !edited {
        return;
    }
    let text = app.editor.area.lines().join("\n");
    let code = llmspell::Spell::from_source(spell, &text)
        .ok()
        .and_then(|s| REGISTRY.with(|r| llmspell::engine::code_lines(&s, r)));
    let lines = match code {
        Some(code) => checked
            .iter()
            .filter(|l| !code.contains(l))
            .copied()
            .collect(),
        None => Default::default(),
    };
    app.no_code = Some(NoCode {
        spell: spell.to_owned(),
        checked,
        lines,
    });
}

thread_local! {
    /// The bridges a spell's code is read with (Rhai reads their members'
    /// names as names, even its keywords).
    static REGISTRY: llmspell::Registry = llmspell::Registry::standard();
}

/// The open spell's breakpoints are kept in the project's settings: read
/// from there when the spell is first opened, written there when they
/// change (set, cleared or moved by an edit).
fn keep_breakpoints(app: &mut App, effects: &mut Vec<Effect>) {
    // Every action comes here (output lines, events): it compares before
    // it copies anything.
    let (Some(spell), Some(key)) = (app.spell_name(), app.settings_key()) else {
        return;
    };
    let kept = app.settings.spells.get(&key).map(|s| &s.breakpoints);
    match (app.breakpoints.get(spell), kept) {
        (None, Some(kept)) if !kept.is_empty() => {
            let kept = kept.clone();
            app.breakpoints.insert(spell.to_owned(), kept);
        }
        (Some(now), kept) if kept.map_or(!now.is_empty(), |k| k != now) => {
            let mut settings = app.spell_settings();
            settings.breakpoints = now.clone();
            app.settings.set(&key, settings);
            effects.push(Effect::SaveSettings(
                app.project.clone(),
                app.settings.clone(),
            ));
        }
        _ => {}
    }
}

/// A terminal key, to what has the keyboard now.
fn keyed(app: &mut App, key: crossterm::event::KeyEvent) -> Vec<Effect> {
    use crossterm::event::KeyCode;
    // A question about the file on disk has the keyboard until answered.
    if let (Some(Asked::Conflict { then_run }), false) = (&app.asked, app.help) {
        let then_run = *then_run;
        app.asked = None;
        return buffer::settle(app, key, then_run);
    }
    if app.prompt.is_some() && !app.help {
        let mapped = match key.code {
            KeyCode::Enter => Action::Answer,
            KeyCode::Esc => Action::Escape,
            _ => Action::EditorKey(key),
        };
        return update(app, mapped);
    }
    if app.repl_typing() && !app.help {
        if let Some(action) = repl_tabs::key(app, key) {
            return update(app, action);
        }
    }
    if app.runs_keys() && !app.help {
        if let Some(effects) = history::key(app, key) {
            return effects;
        }
    }
    let editing = app.pause_edit.is_some() || app.state_edit.is_some() || app.repl_typing();
    if app.inspector.detail && !editing && !app.help && key.modifiers.is_empty() {
        match key.code {
            KeyCode::Char('n') => return update(app, Action::EventStep(true)),
            KeyCode::Char('p') => return update(app, Action::EventStep(false)),
            _ => {}
        }
    }
    // At a pause the keys are the pause's (c n s e x): the editor
    // takes no typing then, so none lands in the spell.
    let typing_spell = app.focus == Focus::Editor && app.paused.is_none();
    if typing_spell && !editing && !app.help {
        if let Some(action) = typing::editor_command(app, key) {
            return update(app, action);
        }
    }
    let in_editor = (typing_spell || editing) && !app.help;
    match crate::keys::action_for(key, in_editor, &app.keymap) {
        Some(action) => update(app, action),
        None => Vec::new(),
    }
}

/// Each action to what handles it: a key to what has the keyboard, every
/// other action to its concern.
fn route(app: &mut App, action: Action) -> Vec<Effect> {
    use Action as A;
    let nothing = Vec::new;
    match action {
        A::Key(key) => keyed(app, key),

        A::Up | A::Down if app.help => panes::scroll_help(app, action == A::Up),
        A::Up | A::Down if app.focus == Focus::Spells => buffer::step(app, action == A::Up),
        A::Up | A::Down | A::PageUp | A::PageDown | A::Home | A::Follow
            if app.inspector.detail || (app.focus == Focus::Output && app.paused.is_none()) =>
        {
            panes::scroll(app, &action)
        }
        A::Up | A::Down if app.focus == Focus::State => panes::state_step(app, action == A::Up),
        A::Up | A::Down if app.focus == Focus::Inspector => {
            panes::inspector_row(app, action == A::Up)
        }
        A::Up | A::Down | A::PageUp | A::PageDown | A::Home => nothing(),

        // The spell list, the buffer and the disk.
        A::ChooseSpell(to) => buffer::choose(app, to),
        A::Quit => buffer::quit(app),
        A::Run if app.paused.is_none() && !app.running() && app.editor.dirty() => {
            buffer::save(app, true)
        }
        A::Save if app.state_edit.is_some() => panes::save_state(app),
        A::Save => buffer::save(app, false),
        A::Source(path, read) => buffer::source(app, &path, read),
        A::Saved {
            path,
            text,
            then_run,
        } => buffer::saved(app, path, text, then_run),
        A::NotSaved {
            path,
            found,
            then_run,
        } => buffer::not_saved(app, path, found, then_run),
        A::Changed(paths) => buffer::changed(app, &paths),
        A::Spells(spells) => buffer::listed(app, spells),

        // Runs and the debugger.
        A::Continue | A::Run if app.paused.is_some() => run::resume(app, Resume::Continue),
        A::Step if app.paused.is_some() => run::step_over(app),
        A::StepLine if app.paused.is_some() => run::resume(app, Resume::StepLine),
        A::StepOut if app.paused.is_some() => run::resume(app, Resume::StepOut),
        A::Abort if app.paused.is_some() => run::resume(app, Resume::Abort),
        A::FrameOut if app.paused.is_some() => run::choose_frame(app, 1),
        A::FrameIn if app.paused.is_some() => run::choose_frame(app, -1),
        A::AddWatch if app.paused.is_some() || app.open.is_some() => prompt::watch(app),
        A::Inspected(i) => run::inspected(app, i),
        A::Continue | A::Step | A::StepLine | A::StepOut | A::Abort => nothing(),
        A::FrameOut | A::FrameIn | A::AddWatch => nothing(),
        A::Run => run::start(app),
        A::Stop if app.repl_now().is_some_and(|(_, s)| *s != ReplState::Ready) => {
            repl_tabs::stop(app)
        }
        A::Stop if app.repl_typing() && !app.repl_input.text().is_empty() => {
            repl_tabs::clear_input(app)
        }
        A::Stop => run::stop(app),
        A::ToggleAutoRun => run::toggle_auto_run(app),
        A::ToggleDebug => run::toggle_debug(app),
        A::ToggleBreakErrors => run::toggle_break_errors(app),
        A::NextBreakPattern => run::next_break_pattern(app),
        A::ToggleBreakpoint => run::toggle_breakpoint(app),
        A::EditBreakpoint => run::edit_breakpoint(app),
        A::Paused(p) => run::paused(app, p),
        A::Edit if app.paused.is_some() && app.pause_edit.is_none() => run::edit_pause(app),
        A::Edit if app.focus == Focus::State && app.state_edit.is_none() => panes::edit_state(app),
        A::Edit => nothing(),
        A::Output(line) => run::output(app, &line),
        A::Event {
            topic,
            data,
            time_ms,
        } => run::event(app, topic, data, time_ms),
        A::Finished {
            result,
            error_line,
            ms,
        } => run::finished(app, result, error_line, ms),

        // The REPL tabs.
        A::NextTab => repl_tabs::next_tab(app),
        A::ReplSubmit => repl_tabs::submit(app),
        A::Repl(kind, state) => repl_tabs::state(app, kind, state),
        A::HistoryPrev | A::HistoryNext => repl_tabs::recall(app, action == A::HistoryPrev),
        A::History(kind, saved) => repl_tabs::history(app, kind, saved),
        A::ReplLine(kind, line) => repl_tabs::line(app, kind, &line),
        A::Complete => repl_tabs::complete(app),
        A::Completions(names) => repl_tabs::completions(app, names),

        // Prompts and their answers.
        A::TypeBreakPattern => prompt::break_pattern(app),
        A::NewSpell => prompt::new_spell(app),
        A::GoToLine | A::Find | A::Replace => prompt::open_editor_prompt(app, &action),
        A::FindNext | A::FindPrev => prompt::find_again(app, action == A::FindNext),
        A::EditArgs | A::PickReplay => prompt::spell_settings(app, action == A::EditArgs),
        A::SearchEvents if app.focus == Focus::Spells => prompt::filter_spells(app),
        A::SearchEvents => prompt::search_events(app),
        A::Answer => prompt::answer(app),

        // Panes.
        A::NextPane => panes::next_pane(app),
        A::PrevPane => panes::prev_pane(app),
        A::Help => panes::toggle_help(app),
        A::Escape => panes::escape(app),
        A::Notice(text) => panes::notice(app, text),
        A::ResizePane(wider, by) => panes::resize_pane(app, wider, by),
        A::Resize(width, height) => panes::resize(app, width, height),
        A::Wheel(column, row, up) => panes::wheel(app, column, row, up),
        A::Click(column, row) => panes::click(app, column, row),
        A::Clear => panes::clear(app),
        A::Copy if app.focus == Focus::Output && app.tab.is_none() => panes::copy_output(app),
        A::Copy => panes::copy_event(app),
        A::EventStep(forward) => panes::step_event(app, forward),
        A::Follow => panes::follow(app),
        A::NextFilter => panes::next_filter(app),
        A::PauseEvents => panes::pause_events(app),
        A::Detail if app.focus == Focus::Spells => panes::enter_spell(app),
        A::Detail => panes::toggle_detail(app),
        A::DeleteKey if app.focus == Focus::State && app.state_edit.is_none() => {
            panes::delete_state(app)
        }
        A::DeleteKey => nothing(),
        A::State(entries) => panes::state_read(app, entries),

        // The Runs view.
        A::Runs(list) => history::listed(app, list),
        A::RunOpened(run) => history::opened(app, run),
        A::RunsCompared(runs) => history::compared(app, runs),

        // Typing.
        A::EditorKey(key) => typing::key(app, key),
        A::Paste(text) => typing::paste(app, &text),
    }
}
