//! The IDE's vocabulary: the [`Action`]s that change its state (keys,
//! news from runs, the disk and the REPLs), the [`Effect`]s that ask the
//! main loop for I/O, and the small types both name. Plain data: nothing
//! here changes the state or does I/O.

use std::path::PathBuf;

use llmspell::debug::{Pause, Resume};

use crate::editor::Read;

/// The pane that has the keyboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Spells,
    Editor,
    Output,
    Inspector,
    State,
}

/// What the status bar shows about the last run.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    Idle,
    Running {
        spell: String,
    },
    Finished {
        spell: String,
        ok: bool,
        text: String,
        ms: u64,
    },
}

/// Something that happened: a key, or news from a run.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Up,
    Down,
    NextPane,
    Run,
    Stop,
    Quit,
    /// The terminal changed size: nothing to change but the picture.
    Resize(u16, u16),
    /// A mouse click at (column, row): focuses the pane under it.
    Click(u16, u16),
    /// The mouse wheel at (column, row), up or down: scrolls the pane
    /// under it.
    Wheel(u16, u16, bool),
    /// A pane's text: a page up or down, to its top, to its end (and
    /// following); in the Output pane, Up and Down move a row.
    PageUp,
    PageDown,
    Home,
    /// Empty the bottom pane: the Output, or the REPL shown (Ctrl+L).
    Clear,
    /// The focus goes back a pane (Shift+Tab outside the editor).
    PrevPane,
    /// Editor: go to a line, find, the next or previous match, replace.
    GoToLine,
    Find,
    FindNext,
    FindPrev,
    Replace,
    /// Text pasted into the terminal (bracketed paste): it goes where
    /// typing would.
    Paste(String),
    /// Choose this spell of the list (its index), as Up/Down or a click do.
    ChooseSpell(usize),
    /// Ask for the open spell's args (`A`), or the cassette it replays (`R`).
    EditArgs,
    PickReplay,
    /// Events: ask what to search for (`/`).
    SearchEvents,
    /// In an event's detail: the next or previous event (`n`, `p`).
    EventStep(bool),
    /// A spell file, read by the main loop: it opens when it is the
    /// spell chosen in the list, and is news for the buffer of its own file.
    Source(PathBuf, Read),
    /// A key from the terminal, mapped by the keymap for the focused pane.
    Key(crossterm::event::KeyEvent),
    /// A key typed into the editor.
    EditorKey(crossterm::event::KeyEvent),
    /// Write the buffer to its file (Ctrl+S).
    Save,
    /// The buffer was written to its file, as this text; then the spell
    /// runs when the save was a run's.
    Saved {
        path: PathBuf,
        text: String,
        then_run: bool,
    },
    /// The buffer was not written: its file holds something the buffer
    /// does not know (changed, deleted or made unreadable since).
    NotSaved {
        path: PathBuf,
        found: Read,
        then_run: bool,
    },
    /// A line the running spell printed.
    Output(String),
    /// An event from the bus, and when it happened (ms since the epoch).
    Event {
        topic: String,
        data: serde_json::Value,
        time_ms: u64,
    },
    /// The run ended: its result as JSON, or its coded error (and the
    /// line of the spell it came from, when known).
    Finished {
        result: Result<serde_json::Value, String>,
        error_line: Option<u32>,
        ms: u64,
    },
    /// The project's kept runs, newest first, as read again (another
    /// process may have added some), or why they cannot be.
    Runs(Result<Vec<llmspell::history::Summary>, String>),
    /// A kept run, read whole to be shown.
    RunOpened(Result<Box<llmspell::history::Run>, String>),
    /// Two kept runs, read whole to be compared.
    RunsCompared(Result<(Box<llmspell::history::Run>, Box<llmspell::history::Run>), String>),
    /// The project's state, read by the main loop: `(key, value)`, sorted.
    State(Vec<(String, serde_json::Value)>),
    /// Files in the folder changed on disk.
    Changed(Vec<PathBuf>),
    /// The folder's spell files, read again.
    Spells(Vec<String>),
    /// Re-run the open spell whenever it is saved, or stop doing so.
    ToggleAutoRun,
    /// Runs pause before every bridge call, or not.
    ToggleDebug,
    /// Runs pause after a bridge call that failed with a coded error, or not.
    ToggleBreakErrors,
    /// Debug runs pause at the next family of bridge calls.
    NextBreakPattern,
    /// The focused pane grows or shrinks: wider (true) or taller, by this
    /// many percent of the screen.
    ResizePane(bool, i16),
    /// Ask which bridge calls debug runs pause at (typed patterns).
    TypeBreakPattern,
    /// Ask for a new spell's name, then create and open it.
    NewSpell,
    /// The status-bar prompt's answer is given (Enter).
    Answer,
    /// A line for the status bar.
    Notice(String),
    /// Show or hide the keys.
    Help,
    /// Closes the help, or leaves the editor for the spell list.
    Escape,
    /// Inspector: follow the newest event again.
    Follow,
    /// Inspector: show the next family of topics.
    NextFilter,
    /// Inspector: freeze the view, or let it move again.
    PauseEvents,
    /// Inspector: the selected event's whole JSON, or back.
    Detail,
    /// Inspector: copy the selected event (OSC 52).
    Copy,
    /// The run paused at a bridge call.
    Paused(Pause),
    /// At a pause: edit the arguments or the result as JSON.
    Edit,
    /// State pane: delete the selected key.
    DeleteKey,
    /// The bottom pane shows the next of Output, Lua, JavaScript, Rhai.
    NextTab,
    /// REPL: evaluate the input.
    ReplSubmit,
    /// REPL: the previous or next entry of this engine's history.
    HistoryPrev,
    HistoryNext,
    /// An engine's saved REPL history, oldest first.
    History(llmspell::EngineKind, Vec<String>),
    /// A line from a REPL: printed, or an entry's value or error.
    ReplLine(llmspell::EngineKind, String),
    /// A REPL waits for more of an entry, runs one, or is ready again.
    Repl(llmspell::EngineKind, ReplState),
    /// At a pause: run on to the end, to the next bridge call, or abort.
    Continue,
    Step,
    Abort,
    /// At a pause: to the next line or into the next call.
    StepLine,
    /// At a pause: on to where the paused function's caller goes on.
    StepOut,
    /// At a pause: the frame of the stack that locals, watches and the
    /// REPL are of: one out (towards main), or one in.
    FrameOut,
    FrameIn,
    /// At a pause: ask for an expression to watch at every pause.
    AddWatch,
    /// What the paused spell answered for a frame: its locals and watches.
    Inspected(Inspected),
    /// Editor: a line breakpoint on the cursor's line, or off it (F9).
    ToggleBreakpoint,
    /// Editor: ask the condition, hit count and log message of the
    /// cursor's line's breakpoint, setting one there (Shift+F9).
    EditBreakpoint,
    /// REPL: complete the name before the cursor.
    Complete,
    /// The names a REPL completes: globals and bridge functions.
    Completions(Vec<String>),
}

impl Action {
    /// Whether the user did this (a key already mapped, a click), rather
    /// than a run, the disk or the main loop reporting something. A raw
    /// key is not yet: it is mapped to the user's action first.
    pub fn is_the_users(&self) -> bool {
        !matches!(
            self,
            Action::Key(_)
                | Action::Resize(..)
                | Action::Source(..)
                | Action::Saved { .. }
                | Action::NotSaved { .. }
                | Action::Output(_)
                | Action::Event { .. }
                | Action::Finished { .. }
                | Action::State(_)
                | Action::Changed(_)
                | Action::Spells(_)
                | Action::Notice(_)
                | Action::Paused(_)
                | Action::History(..)
                | Action::ReplLine(..)
                | Action::Repl(..)
                | Action::Completions(_)
                | Action::Runs(_)
                | Action::RunOpened(_)
                | Action::RunsCompared(_)
                | Action::Inspected(_)
        )
    }
}

/// A frame of a paused run, as it answered: the frame, its locals, and
/// each watch with its value or why it has none.
#[derive(Debug, Clone, PartialEq)]
pub struct Inspected {
    pub frame: usize,
    pub locals: Vec<llmspell::debug::Local>,
    pub watches: Vec<(String, Result<serde_json::Value, String>)>,
}

/// What a REPL is doing, as its thread last said.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ReplState {
    /// Waiting for an entry.
    #[default]
    Ready,
    /// The lines so far are an unfinished entry: it waits for more.
    Unfinished,
    /// Running this (whole) entry.
    Busy(String),
}

/// What the status-bar prompt asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prompt {
    /// A file name for a new spell (Ctrl+N).
    NewSpell,
    /// The bridge calls debug runs pause before (`B`).
    BreakOn,
    /// A line to go to (Ctrl+G).
    GoToLine,
    /// Text to find in the spell (Ctrl+F); it is marked as it is typed.
    Find,
    /// Text to replace (Ctrl+H), then what replaces it.
    Replace,
    ReplaceWith,
    /// The open spell's `spell.args` (`A`).
    Args,
    /// The cassette the open spell's runs replay (`R`).
    Replay,
    /// Text the Events pane shows only the events with (`/`).
    SearchEvents,
    /// Text the Spells list shows only the spells with (`/`); it filters
    /// as it is typed.
    FilterSpells,
    /// An expression to watch at every pause (`w`; empty: drop the last).
    Watch,
    /// A line breakpoint's condition, then its hit count, then its log
    /// message (Shift+F9).
    BreakIf,
    BreakHits,
    BreakLog,
}

impl Prompt {
    pub fn question(self) -> &'static str {
        match self {
            Prompt::NewSpell => "new spell (name.lua, name.js or name.rhai): ",
            Prompt::Watch => "watch at every pause (empty: drop the last): ",
            Prompt::BreakIf => "pause only if (an expression; empty: always): ",
            Prompt::BreakHits => "on hits (3, >=3, %3; empty: every hit): ",
            Prompt::BreakLog => "log instead of pausing ({expression} for values; empty: pause): ",
            Prompt::BreakOn => "pause before (patterns, comma-separated): ",
            Prompt::GoToLine => "go to line: ",
            Prompt::Find => "find (F3 next, Shift+F3 previous): ",
            Prompt::Replace => "replace: ",
            Prompt::ReplaceWith => "replace every match with: ",
            Prompt::Args => "spell.args (key=value words, or a JSON object; empty: none): ",
            Prompt::Replay => "replay cassette (empty: the live model): ",
            Prompt::SearchEvents => "events with (empty: all): ",
            Prompt::FilterSpells => "spells with (Enter keeps it, Esc: all): ",
        }
    }
}

/// What a debugged run pauses at.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Breaks {
    /// Before bridge calls matching this (debug mode), if any.
    pub pattern: Option<String>,
    /// At these lines.
    pub lines: Vec<llmspell::debug::Breakpoint>,
    /// After a bridge call that failed with a coded error.
    pub errors: bool,
}

/// A run to start: the spell, its breaks (under a debugger), its
/// `spell.args`, and the cassette it replays.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Launch {
    pub path: PathBuf,
    pub breaks: Option<Breaks>,
    pub args: serde_json::Map<String, serde_json::Value>,
    pub replay: Option<Replay>,
    /// A kept run to run again from its journal (then `path`, `args` and
    /// `replay` are the run's own), forked with another reply, if given.
    pub from_run: Option<FromRun>,
}

/// A kept run run again: from its journal, or forked at exchange `n`
/// with the reply in JSON text, live after it.
#[derive(Debug, Clone, PartialEq)]
pub struct FromRun {
    pub id: i64,
    pub fork: Option<(usize, String)>,
}

impl Launch {
    /// A run of `path` with no args and no cassette.
    pub fn new(path: PathBuf, breaks: Option<Breaks>) -> Launch {
        Launch {
            path,
            breaks,
            ..Launch::default()
        }
    }
}

/// A cassette a run replays.
#[derive(Debug, Clone, PartialEq)]
pub struct Replay {
    pub path: PathBuf,
    /// Found by the spell's name in a folder of cassettes (`--replay
    /// DIR`): without that file the run calls the live model.
    pub if_there: bool,
}

/// What `--replay` named: one cassette for every run, or a folder of them
/// with one per spell (`chat.lua`, `chat.js`, `chat.rhai` replay
/// `chat.jsonl`).
#[derive(Debug, Clone, PartialEq)]
pub enum ReplayAll {
    File(PathBuf),
    Folder(PathBuf),
}

/// Work for the main loop.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Load(PathBuf),
    /// Read the state of the project in this folder again.
    LoadState(PathBuf),
    /// Read the folder's list of spells again.
    Scan(PathBuf),
    /// Read this kept run of the project (in this folder) whole.
    OpenRun(PathBuf, i64),
    /// Read these two kept runs whole, to compare them.
    CompareRuns(PathBuf, i64, i64),
    /// Start a run.
    Start(Launch),
    /// The running spell's line breakpoints changed.
    LineBreaks(Vec<llmspell::debug::Breakpoint>),
    /// The running spell pauses on failed calls, or no longer.
    BreakErrors(bool),
    /// Create an empty spell file (never over an existing one).
    Create(PathBuf),
    /// Read the project's llmspell.toml again, to report a mistake in it.
    CheckConfig(PathBuf),
    /// Start this engine's REPL (it sends its completions back).
    OpenRepl(llmspell::EngineKind),
    /// Let a paused run go on.
    Resume(Resume, Option<serde_json::Value>),
    /// Ask the paused run for a frame's locals and these watches there.
    Inspect {
        frame: usize,
        watches: Vec<String>,
    },
    /// Evaluate a REPL entry in a frame of the paused run (its answer goes
    /// to that engine's REPL), then ask for the frame again (the entry may
    /// have set a local).
    PauseEval {
        kind: llmspell::EngineKind,
        frame: usize,
        code: String,
        watches: Vec<String>,
    },
    /// Write this text to this spell file, only if the file holds `over`
    /// (what the buffer knows of it); then run it when `then_run`.
    Save {
        path: PathBuf,
        text: String,
        over: Read,
        then_run: bool,
    },
    /// Put this text on the terminal's clipboard.
    Copy(String),
    /// Read this engine's saved REPL history (of the project in this folder).
    LoadHistory(PathBuf, llmspell::EngineKind),
    /// Send a line to this engine's REPL (the loop owns the REPLs).
    ReplEval(llmspell::EngineKind, String),
    /// Stop this REPL's running entry and forget its unfinished one.
    ReplStop(llmspell::EngineKind),
    /// Write the IDE's per-spell settings into this project.
    SaveSettings(PathBuf, crate::settings::Settings),
    /// Set a key of the project (in this folder)'s state.
    SetState(PathBuf, String, serde_json::Value),
    DeleteState(PathBuf, String),
    Stop,
}
