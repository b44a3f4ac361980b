//! Runs and the debugger: starting and stopping a run of the open spell,
//! what a run says while it goes (output, events, its end), and its pauses
//! (resuming, editing a call at a pause, breakpoints, debug mode).

use llmspell::debug::{Pause, Resume};

use crate::editor::Editor;
use crate::state::*;

/// Runs the open spell as it is on disk, unless one runs already.
pub(super) fn start(app: &mut App) -> Vec<Effect> {
    if app.running() {
        return Vec::new();
    }
    let (Some(path), Some(spell)) = (app.open_path(), app.open.clone()) else {
        return Vec::new();
    };
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
    let lines = app.breakpoint_list();
    app.status = Status::Running { spell };
    // A run is debugged in debug mode, when it has breakpoints, or when
    // it is to pause on failed calls.
    let breaks = (app.debug || !lines.is_empty() || app.break_errors).then(|| Breaks {
        pattern: app.debug.then(|| app.break_on.clone()),
        lines,
        errors: app.break_errors,
    });
    vec![Effect::Start(Launch {
        path,
        breaks,
        args: app.spell_settings().args,
        replay: app.replay(),
        from_run: None,
    })]
}

/// Runs a kept run again from its journal, or forks it (`from`): `spell`
/// at `path`, as the run ran it; `how` names it in the Output.
pub(super) fn start_kept(
    app: &mut App,
    spell: String,
    path: std::path::PathBuf,
    how: &str,
    from: FromRun,
) -> Vec<Effect> {
    let now = chrono::Local::now().format("%H:%M:%S");
    app.output
        .push_mark(&format!("── {spell} · {now} · {how} ──"), KEEP_OUTPUT);
    app.error_line = None;
    app.model = None;
    app.tokens = 0;
    app.status = Status::Running { spell };
    app.focus = Focus::Output;
    vec![Effect::Start(Launch {
        path,
        from_run: Some(from),
        ..Launch::default()
    })]
}

pub(super) fn stop(app: &mut App) -> Vec<Effect> {
    app.running().then_some(Effect::Stop).into_iter().collect()
}

pub(super) fn toggle_auto_run(app: &mut App) -> Vec<Effect> {
    app.auto_run = !app.auto_run;
    Vec::new()
}

pub(super) fn toggle_debug(app: &mut App) -> Vec<Effect> {
    app.debug = !app.debug;
    Vec::new()
}

/// `E`: pause after a bridge call that fails with a coded error (`e` there
/// gives the call a result instead), or no longer; a running spell hears
/// it at once.
pub(super) fn toggle_break_errors(app: &mut App) -> Vec<Effect> {
    app.break_errors = !app.break_errors;
    app.notice = Some(match app.break_errors {
        true => "runs pause when a bridge call fails: e gives it a result, F5 lets it fail".into(),
        false => "runs no longer pause when a bridge call fails".into(),
    });
    match app.running() {
        true => vec![Effect::BreakErrors(app.break_errors)],
        false => Vec::new(),
    }
}

/// The next of [`BREAK_PATTERNS`], in debug mode.
pub(super) fn next_break_pattern(app: &mut App) -> Vec<Effect> {
    let at = BREAK_PATTERNS.iter().position(|p| *p == app.break_on);
    let next = at.map_or(0, |i| (i + 1) % BREAK_PATTERNS.len());
    app.break_on = BREAK_PATTERNS[next].to_owned();
    app.debug = true;
    Vec::new()
}

/// A breakpoint on the cursor's line, or none there any more; a running
/// spell hears it at once.
pub(super) fn toggle_breakpoint(app: &mut App) -> Vec<Effect> {
    let Some(spell) = app.spell_name().map(str::to_owned) else {
        return Vec::new();
    };
    let line = app.editor.area.cursor().0 as u32 + 1;
    let lines = &mut app.breakpoints.entry(spell).or_default().0;
    if lines.remove(&line).is_none() {
        lines.insert(line, Default::default());
    }
    breakpoints_changed(app, line)
}

/// Shift+F9: asks what the breakpoint on the cursor's line asks (a
/// condition, a hit count, a log message), one question after another,
/// each showing what it asks now.
pub(super) fn edit_breakpoint(app: &mut App) -> Vec<Effect> {
    let Some(spell) = app.spell_name().map(str::to_owned) else {
        return Vec::new();
    };
    let line = app.editor.area.cursor().0 as u32 + 1;
    let now = app
        .breakpoints
        .get(&spell)
        .and_then(|b| b.0.get(&line))
        .cloned()
        .unwrap_or_default();
    let condition = now.condition.clone().unwrap_or_default();
    app.editing_break = Some((line, now));
    super::prompt::ask(app, Prompt::BreakIf, &condition)
}

/// The breakpoint being asked about, as the questions left it.
pub(super) fn set_breakpoint(app: &mut App) -> Vec<Effect> {
    let (Some(spell), Some((line, when))) = (
        app.spell_name().map(str::to_owned),
        app.editing_break.take(),
    ) else {
        return Vec::new();
    };
    if let Err(why) = when.at(line).check() {
        app.notice = Some(format!("breakpoint on line {line} not set: {why}"));
        return Vec::new();
    }
    app.breakpoints
        .entry(spell)
        .or_default()
        .0
        .insert(line, when);
    breakpoints_changed(app, line)
}

/// The open spell's breakpoints changed at `line`: a running spell hears
/// at once, and a breakpoint where there is no code says it never stops.
fn breakpoints_changed(app: &mut App, line: u32) -> Vec<Effect> {
    super::check_code_lines(app, false);
    let set = app.line_breaks().contains(&line);
    if set
        && app
            .no_code
            .as_ref()
            .is_some_and(|n| n.lines.contains(&line))
    {
        app.notice = Some(format!(
            "line {line} has no code (blank or a comment): its breakpoint never stops; \
             put it on a statement"
        ));
    } else if let Some(when) = app
        .spell_name()
        .and_then(|s| app.breakpoints.get(s)?.0.get(&line))
        .filter(|w| **w != Default::default())
    {
        app.notice = Some(format!("breakpoint on line {line}: {}", when.describe()));
    }
    if app.running() {
        vec![Effect::LineBreaks(app.breakpoint_list())]
    } else {
        Vec::new()
    }
}

/// The run paused: the editor shows where; the innermost frame's watches
/// are asked for.
pub(super) fn paused(app: &mut App, p: Pause) -> Vec<Effect> {
    app.pause_frame = 0;
    app.inspected = None;
    if let Some(at) = &p.location {
        if app.spell_name() == Some(at.file.as_str()) {
            let rows = app.editor_height();
            app.editor
                .show_row(at.line.saturating_sub(1) as usize, rows);
        }
    }
    app.paused = Some(p);
    inspect(app)
}

/// Asks the paused spell for the chosen frame's locals and the watches
/// there (the innermost frame's locals came with the pause).
pub(super) fn inspect(app: &mut App) -> Vec<Effect> {
    let watches = app.spell_settings().watches;
    // The innermost frame's locals came with the pause.
    if app.paused.is_none() || (app.pause_frame == 0 && watches.is_empty()) {
        return Vec::new();
    }
    vec![Effect::Inspect {
        frame: app.pause_frame,
        watches,
    }]
}

/// `<` and `>`: a frame further out (towards main) or in.
pub(super) fn choose_frame(app: &mut App, by: isize) -> Vec<Effect> {
    let Some(p) = &app.paused else {
        return Vec::new();
    };
    let most = p.stack.len().saturating_sub(1);
    let to = app.pause_frame.saturating_add_signed(by).min(most);
    if to == app.pause_frame {
        return Vec::new();
    }
    app.pause_frame = to;
    app.inspected = None;
    inspect(app)
}

/// The paused spell answered for a frame: shown if it is still the one chosen.
pub(super) fn inspected(app: &mut App, i: Inspected) -> Vec<Effect> {
    if app.paused.is_some() && i.frame == app.pause_frame {
        app.inspected = Some(i);
    }
    Vec::new()
}

/// F10: over the pending call (pausing when it returns), or from a line
/// or a call's return on to the next line of this function or its callers.
pub(super) fn step_over(app: &mut App) -> Vec<Effect> {
    let before = app
        .paused
        .as_ref()
        .is_some_and(|p| p.when == llmspell::debug::When::Before);
    resume(app, if before { Resume::Step } else { Resume::Next })
}

/// At a pause, e edits what goes in (before) or comes out (after).
pub(super) fn edit_pause(app: &mut App) -> Vec<Effect> {
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

/// Goes on from a pause, with what was edited at it, if it parses.
pub(super) fn resume(app: &mut App, how: Resume) -> Vec<Effect> {
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
    app.inspected = None;
    vec![Effect::Resume(how, edited)]
}

pub(super) fn output(app: &mut App, line: &str) -> Vec<Effect> {
    app.output.push(line, KEEP_OUTPUT);
    Vec::new()
}

/// An event from the bus: to the inspector, and the status bar's model
/// and tokens; a write anywhere in the project shows in the state viewer.
pub(super) fn event(
    app: &mut App,
    topic: String,
    data: serde_json::Value,
    time_ms: u64,
) -> Vec<Effect> {
    let changed = topic.starts_with("state.");
    if topic == "llm.response" {
        let usage = &data["usage"];
        let count = |k: &str| usage[k].as_u64().unwrap_or(0);
        app.tokens += count("input_tokens") + count("output_tokens");
        if let Some(model) = data["model"].as_str() {
            app.model = Some(model.to_owned());
        }
    }
    // A log message of a breakpoint prints, as the spell's own output.
    if topic == "debug.log" {
        if let Some(message) = data["message"].as_str() {
            let line = data["line"].as_u64().unwrap_or(0);
            app.output
                .push(&format!("[log :{line}] {message}"), KEEP_OUTPUT);
        }
    }
    app.inspector.push(topic, data, time_ms);
    changed
        .then(|| Effect::LoadState(app.dir.clone()))
        .into_iter()
        .collect()
}

/// The run ended: its result whole at the end of its output, and in the
/// status bar.
pub(super) fn finished(
    app: &mut App,
    result: Result<serde_json::Value, String>,
    error_line: Option<u32>,
    ms: u64,
) -> Vec<Effect> {
    let spell = match &app.status {
        Status::Running { spell } => spell.clone(),
        _ => String::new(),
    };
    app.error_line = error_line.map(|line| (spell.clone(), line));
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
    vec![Effect::LoadState(app.dir.clone())]
}
