//! The IDE's state: the [`App`] every pane reads, what it says about
//! itself (the open spell, the panes' sizes, what is where on the screen),
//! and nothing that changes it (that is [`crate::app`]'s `update`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use llmspell::debug::Pause;
use ratatui::layout::Rect;

pub use crate::action::*;
use crate::editor::Editor;
use crate::inspector::Inspector;
pub use crate::inspector::KEEP_EVENTS;
use crate::layout::{panes, state_rows};
use crate::scroll::Transcript;

/// The bridge calls a debug run can pause before (`b` cycles them).
pub const BREAK_PATTERNS: &[&str] = &["*", "llm.*", "tool.call", "state.*", "workflow.*"];

/// How many output lines are kept; older ones go.
pub const KEEP_OUTPUT: usize = 5_000;

/// What was asked about once before it is done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Asked {
    /// Quit with unsaved edits.
    Quit,
    /// Delete this state key.
    Delete(String),
    /// Drop the buffer's unsaved edits to open another spell.
    Leave,
    /// The buffer's file changed on disk: overwrite it (`o`), take its
    /// text instead (`r`), or neither (any other key). Then run, if the
    /// save was a run's.
    Conflict { then_run: bool },
}

pub struct App {
    pub dir: PathBuf,
    /// Spell files in the folder, sorted, and the open one while its file
    /// is gone.
    pub spells: Vec<String>,
    /// The list's cursor.
    pub selected: usize,
    /// The file the buffer belongs to, in `dir`: runs, saves, breakpoints
    /// and pauses are of this file, and no other is ever written from it.
    pub open: Option<String>,
    /// The open spell's buffer.
    pub editor: Editor,
    /// One line for the status bar, until the next key.
    pub notice: Option<String>,
    /// A step that loses something, asked about once: the same key
    /// again takes it.
    pub(crate) asked: Option<Asked>,
    pub focus: Focus,
    /// What runs printed, each run's from a line naming it, and where the
    /// pane is scrolled.
    pub output: Transcript,
    /// Every event from the bus, for the inspector.
    pub inspector: Inspector,
    pub status: Status,
    /// The project's state as last read.
    pub state: Vec<(String, serde_json::Value)>,
    /// Re-run the open spell when its file is saved.
    pub auto_run: bool,
    /// Runs pause before bridge calls.
    pub debug: bool,
    /// Runs pause after a bridge call that failed with a coded error (`E`).
    pub break_errors: bool,
    /// The bridge calls debug runs pause before: one of [`BREAK_PATTERNS`]
    /// (`b` cycles them) or any patterns typed after `B`, comma-separated.
    pub break_on: String,
    /// A one-line question in the status bar, and its answer so far.
    pub prompt: Option<(Prompt, Editor)>,
    /// Where the run is paused, if it is.
    pub paused: Option<Pause>,
    /// The arguments or result of the pause, being edited as JSON.
    pub pause_edit: Option<Editor>,
    /// The frame of the pause's stack that its locals, watches and the
    /// REPL are of (0 the innermost).
    pub pause_frame: usize,
    /// What the paused spell last answered for that frame.
    pub inspected: Option<Inspected>,
    /// The State pane's selected key.
    pub state_selected: usize,
    /// A state value being edited as JSON: its key and the text.
    pub state_edit: Option<(String, Editor)>,
    /// What the bottom pane shows: `None` the run's output, else a REPL
    /// (or the Runs view, when `runs_tab`).
    pub tab: Option<llmspell::EngineKind>,
    /// The bottom pane shows the project's kept runs.
    pub runs_tab: bool,
    pub runs: crate::runs::RunsView,
    /// The colours.
    pub theme: crate::theme::Theme,
    /// The terminal's size, for mouse clicks.
    pub screen: ratatui::layout::Rect,
    /// How the panes share it (Alt+arrows change it).
    pub sizes: crate::layout::Sizes,
    /// The REPL input line(s).
    pub repl_input: Editor,
    /// Each engine's REPL transcript and entry history, and where Up/Down are.
    pub repl_log: std::collections::HashMap<llmspell::EngineKind, Transcript>,
    pub repl_history: std::collections::HashMap<llmspell::EngineKind, Vec<String>>,
    pub(crate) repl_recall: Option<usize>,
    /// What Ctrl+C or Ctrl+X took, for Ctrl+V (and sent to the
    /// terminal's clipboard).
    pub clipboard: String,
    /// What the editor finds (and marks), once asked.
    pub find: Option<String>,
    /// The project the folder belongs to (where `.llmspell/` is), and
    /// what the IDE remembers there per spell.
    pub project: PathBuf,
    pub settings: crate::settings::Settings,
    /// `--replay`: what runs replay when their spell has no cassette set.
    pub replay_all: Option<ReplayAll>,
    /// The Spells list shows only the spells whose path has this (`/`).
    pub spell_filter: Option<String>,
    /// The list's first row, once the wheel moved it; `None` keeps the
    /// chosen spell in view.
    pub spells_offset: Option<usize>,
    /// What each started REPL is doing.
    pub repl_state: std::collections::HashMap<llmspell::EngineKind, ReplState>,
    /// Line breakpoints, by spell file name.
    pub breakpoints: BTreeMap<String, crate::settings::LineBreaks>,
    /// The open spell's breakpoint lines that have no code (a blank line,
    /// a comment): they never stop, and the gutter says so. With the spell
    /// and the lines they were worked out for.
    pub no_code: Option<NoCode>,
    /// A line breakpoint being asked about (Shift+F9): its line and what
    /// the questions so far said.
    pub editing_break: Option<(u32, crate::settings::BreakIf)>,
    /// The last run's error line, and the spell it ran.
    pub error_line: Option<(String, u32)>,
    /// The last run's model and tokens, from its `llm.response` events.
    pub model: Option<String>,
    pub tokens: u64,
    /// What the REPLs complete.
    pub completions: Vec<String>,
    /// The user's keys, tried before the defaults.
    pub keymap: crate::keys::Keymap,
    /// The keys are shown over everything, scrolled down this many.
    pub help: bool,
    pub help_scroll: usize,
    pub quit: bool,
}

impl App {
    /// The IDE on a folder whose spell files are `spells`.
    pub fn new(dir: PathBuf, mut spells: Vec<String>) -> App {
        spells.sort();
        App {
            project: dir.clone(),
            dir,
            spells,
            selected: 0,
            open: None,
            editor: Editor::default(),
            notice: None,
            asked: None,
            focus: Focus::Spells,
            output: Transcript::default(),
            inspector: Inspector::default(),
            status: Status::Idle,
            state: Vec::new(),
            auto_run: false,
            debug: false,
            break_on: BREAK_PATTERNS[0].to_owned(),
            prompt: None,
            paused: None,
            pause_edit: None,
            pause_frame: 0,
            inspected: None,
            state_selected: 0,
            state_edit: None,
            tab: None,
            runs_tab: false,
            runs: Default::default(),
            screen: ratatui::layout::Rect::new(0, 0, 80, 24),
            sizes: Default::default(),
            theme: crate::theme::Theme::default(),
            repl_input: Editor::input(""),
            repl_log: Default::default(),
            repl_history: Default::default(),
            repl_recall: None,
            repl_state: Default::default(),
            clipboard: String::new(),
            find: None,
            settings: Default::default(),
            replay_all: None,
            spell_filter: None,
            spells_offset: None,
            break_errors: false,
            breakpoints: BTreeMap::new(),
            no_code: None,
            editing_break: None,
            error_line: None,
            model: None,
            tokens: 0,
            completions: Vec::new(),
            keymap: Default::default(),
            help: false,
            help_scroll: 0,
            quit: false,
        }
    }

    /// The spell files (`.lua`, `.js`, `.rhai`) directly in `dir`.
    pub fn scan(dir: &std::path::Path) -> std::io::Result<Vec<String>> {
        let mut found = Vec::new();
        scan_into(dir, "", 0, &mut found)?;
        Ok(found)
    }

    /// The spell under the list's cursor.
    pub fn selected_path(&self) -> Option<PathBuf> {
        self.spells.get(self.selected).map(|s| self.dir.join(s))
    }

    /// The open spell's file.
    pub fn open_path(&self) -> Option<PathBuf> {
        self.open.as_ref().map(|s| self.dir.join(s))
    }

    /// The spells the list shows (indexes into `spells`): those the
    /// filter keeps (ASCII case ignored), all without one.
    pub fn shown_spells(&self) -> Vec<usize> {
        let filter = self.spell_filter.as_deref().map(str::to_ascii_lowercase);
        (0..self.spells.len())
            .filter(|&i| {
                filter
                    .as_deref()
                    .is_none_or(|f| self.spells[i].to_ascii_lowercase().contains(f))
            })
            .collect()
    }

    /// The spell Up (or Down) in the list moves to from the selected one.
    pub fn spell_step(&self, up: bool) -> Option<usize> {
        let shown = self.shown_spells();
        let at = shown.iter().position(|&i| i == self.selected);
        let to = match (at, up) {
            (None, _) => 0,
            (Some(p), true) => p.saturating_sub(1),
            (Some(p), false) => (p + 1).min(shown.len().saturating_sub(1)),
        };
        shown.get(to).copied()
    }

    /// The open spell's name in the project's settings: its path inside
    /// the project.
    /// The language of the spell that is running.
    pub fn running_kind(&self) -> Option<llmspell::EngineKind> {
        match &self.status {
            Status::Running { spell } => {
                llmspell::EngineKind::from_path(std::path::Path::new(spell)).ok()
            }
            _ => None,
        }
    }

    pub fn settings_key(&self) -> Option<String> {
        Some(self.in_project(&self.open_path()?))
    }

    /// `path` as the project's settings name it: from the project's
    /// folder, with `/` (a path outside the project stays whole).
    pub fn in_project(&self, path: &std::path::Path) -> String {
        let inside = path.strip_prefix(&self.project).unwrap_or(path);
        inside.to_string_lossy().replace('\\', "/")
    }

    /// What the IDE remembers for the open spell.
    pub fn spell_settings(&self) -> crate::settings::SpellSettings {
        self.settings_key()
            .and_then(|k| self.settings.spells.get(&k).cloned())
            .unwrap_or_default()
    }

    /// The cassette the open spell's next run replays: its own, else what
    /// `--replay` named.
    pub fn replay(&self) -> Option<Replay> {
        if let Some(own) = self.spell_settings().replay {
            return Some(Replay {
                path: self.project.join(own),
                if_there: false,
            });
        }
        match self.replay_all.as_ref()? {
            ReplayAll::File(path) => Some(Replay {
                path: path.clone(),
                if_there: false,
            }),
            ReplayAll::Folder(dir) => {
                let stem = std::path::Path::new(self.open.as_deref()?).file_stem()?;
                let mut name = stem.to_os_string();
                name.push(".jsonl");
                Some(Replay {
                    path: dir.join(name),
                    if_there: true,
                })
            }
        }
    }

    /// How the open spell runs, for the status bar: `replaying ...`,
    /// `args ...`, or nothing for a plain run.
    pub fn run_with(&self) -> String {
        let mut parts = Vec::new();
        if let Some(r) = self.replay() {
            let shown = r.path.strip_prefix(&self.dir).unwrap_or(&r.path);
            parts.push(format!("replaying {}", shown.display()));
        }
        let args = self.spell_settings().args;
        if !args.is_empty() {
            parts.push(format!("args {}", crate::settings::show_args(&args)));
        }
        parts.join(", ")
    }

    /// Keys go to the REPL input: a REPL tab is shown and its pane has focus.
    pub fn repl_typing(&self) -> bool {
        self.tab.is_some() && self.focus == Focus::Output
    }

    /// The Runs view has the keyboard (a pause's keys come first).
    pub fn runs_keys(&self) -> bool {
        self.runs_tab && self.focus == Focus::Output && self.paused.is_none()
    }

    /// Columns and rows of the bottom pane's text (inside its border; a
    /// REPL's transcript, above its input).
    pub fn bottom_room(&self) -> (usize, usize) {
        let area = crate::layout::panes(self.screen, self.sizes)[2];
        let width = area.width.saturating_sub(2) as usize;
        let mut rows = area.height.saturating_sub(2) as usize;
        if self.tab.is_some() {
            rows = rows.saturating_sub(self.repl_input.area.lines().len().clamp(1, 4));
        }
        (width, rows)
    }

    /// The text the bottom pane shows: the Output, or the REPL's.
    pub fn bottom_text(&mut self) -> &mut Transcript {
        match self.tab {
            None => &mut self.output,
            Some(kind) => self.repl_log.entry(kind).or_default(),
        }
    }

    /// What a find or replace prompt starts with: the selection (one
    /// line of it), or what was found last.
    pub fn find_default(&self) -> String {
        let area = &self.editor.area;
        match area.selection_range() {
            Some(((r0, c0), (r1, c1))) if r0 == r1 && c1 > c0 && self.focus == Focus::Editor => {
                area.lines()
                    .get(r0)
                    .map(|l| l.chars().skip(c0).take(c1 - c0).collect())
                    .unwrap_or_default()
            }
            _ => self.find.clone().unwrap_or_default(),
        }
    }

    /// The focused REPL's engine and what it is doing.
    pub fn repl_now(&self) -> Option<(llmspell::EngineKind, &ReplState)> {
        let kind = self.tab.filter(|_| self.repl_typing())?;
        let state = self.repl_state.get(&kind).unwrap_or(&ReplState::Ready);
        Some((kind, state))
    }

    pub fn running(&self) -> bool {
        matches!(self.status, Status::Running { .. })
    }

    /// The open spell's file name.
    pub fn spell_name(&self) -> Option<&str> {
        self.open.as_deref()
    }

    /// The file name under the list's cursor.
    pub fn spell_name_selected(&self) -> Option<&String> {
        self.spells.get(self.selected)
    }

    /// The open spell's line breakpoints' lines.
    pub fn line_breaks(&self) -> Vec<u32> {
        self.spell_name()
            .and_then(|s| self.breakpoints.get(s))
            .map_or_else(Vec::new, |b| b.lines().collect())
    }

    /// The open spell's line breakpoints, as its run's debugger takes them.
    pub fn breakpoint_list(&self) -> Vec<llmspell::debug::Breakpoint> {
        self.spell_name()
            .and_then(|s| self.breakpoints.get(s))
            .map_or_else(Vec::new, |b| b.to_debugger())
    }

    /// Rows of text the editor pane shows.
    pub fn editor_height(&self) -> usize {
        crate::layout::panes(self.screen, self.sizes)[1]
            .height
            .saturating_sub(2) as usize
    }
}

/// Which breakpoint lines of a spell have no code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoCode {
    pub spell: String,
    /// The breakpoint lines looked at.
    pub checked: Vec<u32>,
    /// Those of them with no code.
    pub lines: BTreeSet<u32>,
}

/// How deep the Spells list looks into subfolders.
const SCAN_DEPTH: usize = 4;

/// Whether a folder is not for spells: hidden ones (`.llmspell`, `.git`)
/// and build output.
pub fn skipped_folder(name: &str) -> bool {
    name.starts_with('.') || name == "target" || name == "node_modules"
}

/// The spell files in `dir` (shown as `prefix` + name) and its
/// subfolders, `depth` folders down so far.
pub fn scan_into(
    dir: &std::path::Path,
    prefix: &str,
    depth: usize,
    found: &mut Vec<String>,
) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            if depth < SCAN_DEPTH && !skipped_folder(&name) {
                // A folder that cannot be read is left out, not an error.
                let _ = scan_into(&path, &format!("{prefix}{name}/"), depth + 1, found);
            }
        } else if llmspell::EngineKind::from_path(&path).is_ok() {
            found.push(format!("{prefix}{name}"));
        }
    }
    Ok(())
}

/// The first row the Spells list shows: where the wheel left it, else
/// where the chosen spell is in view.
pub fn spells_offset(app: &App, shown: &[usize], room: usize) -> usize {
    let at = shown.iter().position(|&i| i == app.selected).unwrap_or(0);
    let most = shown.len().saturating_sub(room);
    app.spells_offset
        .unwrap_or_else(|| (at + 1).saturating_sub(room))
        .min(most)
}

/// The spell (its index in the list) at screen `row`, as the list draws.
pub fn spell_at(app: &App, row: u16) -> Option<usize> {
    let area = panes(app.screen, app.sizes)[0];
    let room = area.height.saturating_sub(2) as usize;
    let shown = app.shown_spells();
    let offset = spells_offset(app, &shown, room);
    let r = row.checked_sub(area.y + 1)? as usize;
    (r < room).then(|| shown.get(offset + r).copied()).flatten()
}

/// The editor's text place (line, column) at a screen cell, as it draws.
pub fn editor_at(app: &App, column: u16, row: u16) -> Option<(usize, usize)> {
    let inner = panes(app.screen, app.sizes)[1].inner(ratatui::layout::Margin::new(1, 1));
    let r = row.checked_sub(inner.y)?;
    if r >= inner.height {
        return None;
    }
    let editor = &app.editor;
    let text = editor.area.lines();
    let digits = text.len().to_string().len().max(2);
    let gutter = digits + 2;
    let width = (inner.width as usize).saturating_sub(gutter);
    let ratatui_textarea::DataCursor(_, cursor_col) = editor.area.cursor();
    let left = match app.focus == Focus::Editor && app.paused.is_none() {
        true => (cursor_col + 1).saturating_sub(width),
        false => 0,
    };
    let line = (editor.top + r as usize).min(text.len().saturating_sub(1));
    let col = (column.checked_sub(inner.x)? as usize).saturating_sub(gutter) + left;
    let len = text.get(line).map_or(0, |l| l.chars().count());
    Some((line, col.min(len)))
}

/// The Events pane's rows on screen, top first: an event's index, or a
/// line naming the run whose events start there; and how many events the
/// filters show in all.
pub fn event_rows(app: &App, area: Rect) -> (Vec<Result<usize, String>>, usize) {
    let ins = &app.inspector;
    let visible = ins.visible();
    let room = area.height.saturating_sub(2) as usize;
    // Only the events near the one in view are laid out: a screenful on
    // either side of it is enough.
    let target = ins
        .selected
        .and_then(|sel| visible.iter().position(|&v| v == sel))
        .unwrap_or(visible.len().saturating_sub(1));
    let lo = target.saturating_sub(room);
    let hi = (target + room + 1).min(visible.len());
    let mut rows: Vec<Result<usize, String>> = Vec::with_capacity(2 * room + 4);
    let mut run = lo.checked_sub(1).map(|p| ins.events[visible[p]].run);
    for &i in &visible[lo..hi] {
        let e = &ins.events[i];
        if run != Some(e.run) {
            run = Some(e.run);
            let what = match (e.run, e.topic.as_str()) {
                (0, _) => "before any run".to_owned(),
                (n, "spell.start") if e.data["spell"].is_string() => {
                    format!("run {n} {}", e.data["spell"].as_str().unwrap_or(""))
                }
                (n, _) => format!("run {n}"),
            };
            rows.push(Err(format!("── {what} ──")));
        }
        rows.push(Ok(i));
    }
    // Show the selected event, or the newest when following.
    let end = match ins.selected {
        Some(sel) => rows
            .iter()
            .position(|v| *v == Ok(sel))
            .map_or(rows.len(), |p| (p + 1).max(room.min(rows.len()))),
        None => rows.len(),
    };
    let start = end.saturating_sub(room);
    (rows.drain(start..end).collect(), visible.len())
}

/// The event (its index) at screen `row` of the Events pane.
pub fn event_at(app: &App, row: u16) -> Option<usize> {
    let area = panes(app.screen, app.sizes)[3];
    let r = row.checked_sub(area.y + 1)? as usize;
    event_rows(app, area).0.get(r)?.as_ref().ok().copied()
}

/// How many of the State pane's rows are above its view, with `room` rows
/// shown: the selected key stays in view. Drawing and clicks both use it.
pub fn state_skip(app: &App, rows: &[crate::layout::StateRow], room: usize) -> usize {
    let at = rows
        .iter()
        .position(|x| x.key == Some(app.state_selected))
        .unwrap_or(0);
    (at + 1).saturating_sub(room)
}

/// The state key (its index) at screen `row` of the State pane.
pub fn state_key_at(app: &App, row: u16) -> Option<usize> {
    let area = panes(app.screen, app.sizes)[4];
    let r = row.checked_sub(area.y + 1)? as usize;
    let rows = state_rows(&app.state);
    let room = area.height.saturating_sub(2) as usize;
    let skip = state_skip(app, &rows, room);
    if r >= room {
        return None;
    }
    let here = skip + r;
    let row = rows.get(here)?;
    if row.label.ends_with('/') && row.key.is_none() {
        // A folder: its first key.
        return rows[here..].iter().find_map(|x| x.key);
    }
    // A key's row, or a field's, which belongs to the key above it.
    rows[..=here].iter().rev().find_map(|x| x.key)
}
