//! Carrying out what `update` asks: reading a spell, starting a run on its
//! own thread, stopping it. Nothing here waits on a spell; its output and
//! its end come back to the loop as actions.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use llmspell::debug::Debugger;
use llmspell::history::{self, History, Recorder};
use llmspell::{Config, RunOptions, Runtime, Spell, StopHandle};

use crate::action::{Action, Effect, FromRun, Launch};
use crate::editor::Read;

/// The run in progress: how to stop it, and its debugger when it has one.
pub struct Running {
    pub stop: StopHandle,
    pub debugger: Option<Debugger>,
}

/// Carries out `effect`; `run` is the current run.
pub fn carry_out(
    effect: Effect,
    runtime: &Runtime,
    tx: &mpsc::Sender<Action>,
    run: &mut Option<Running>,
) {
    match effect {
        Effect::Scan(dir) => {
            if let Ok(spells) = crate::state::App::scan(&dir) {
                let _ = tx.send(Action::Spells(spells));
            }
        }
        Effect::LoadState(dir) => {
            let _ = tx.send(Action::State(read_state(&dir)));
        }
        Effect::Load(path) => {
            let read = Read::file(&path);
            let _ = tx.send(Action::Source(path, read));
        }
        Effect::Stop => {
            if let Some(run) = run {
                run.stop.stop();
            }
        }
        Effect::Start(launch) => *run = start(&launch, runtime, tx),
        Effect::OpenRun(project, id) => {
            let read = kept(&project, id).map(Box::new);
            let _ = tx.send(Action::RunOpened(read));
        }
        Effect::CompareRuns(project, a, b) => {
            let read =
                kept(&project, a).and_then(|a| Ok((Box::new(a), Box::new(kept(&project, b)?))));
            let _ = tx.send(Action::RunsCompared(read));
        }
        Effect::SaveSettings(project, settings) => {
            // Written whole, as a spell is saved.
            let file = crate::settings::Settings::file(&project);
            let written = std::fs::create_dir_all(file.parent().unwrap_or(&project))
                .and_then(|()| write_whole(&file, &settings.to_text()));
            if let Err(e) = written {
                let _ = tx.send(Action::Notice(format!("not saved {}: {e}", file.display())));
            }
        }
        Effect::Create(path) => {
            let made = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path);
            let notice = match made {
                Ok(_) => format!("created {}", path.display()),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    format!("{} is there already: opened it", path.display())
                }
                Err(e) => format!("cannot create {}: {e}", path.display()),
            };
            let _ = tx.send(Action::Notice(notice));
        }
        Effect::CheckConfig(dir) => {
            let notice = match Config::discover(&dir) {
                Ok(_) => "llmspell.toml changed: the next run uses it".to_owned(),
                Err(e) => e.report(),
            };
            let _ = tx.send(Action::Notice(notice));
        }
        Effect::BreakErrors(on) => {
            if let Some(debugger) = run.as_ref().and_then(|r| r.debugger.as_ref()) {
                debugger.break_on_errors(on);
            }
        }
        Effect::LineBreaks(lines) => {
            if let Some(debugger) = run.as_ref().and_then(|r| r.debugger.as_ref()) {
                refused(tx, &lines, debugger.set_breakpoints(lines.clone()));
            }
        }
        Effect::Save {
            path,
            text,
            over,
            then_run,
        } => {
            // Only over what the buffer knows is there: anything else
            // (another program's save, a deletion) goes back to be asked.
            let found = Read::file(&path);
            if found != over {
                let _ = tx.send(Action::NotSaved {
                    path,
                    found,
                    then_run,
                });
                return;
            }
            match write_whole(&path, &text) {
                Ok(()) => {
                    let _ = tx.send(Action::Saved {
                        path,
                        text,
                        then_run,
                    });
                }
                Err(e) => {
                    let _ = tx.send(Action::Notice(format!(
                        "not saved: cannot write {}: {e}; your edits are kept",
                        path.display()
                    )));
                }
            }
        }
        Effect::Copy(text) => copy(&text),
        // The loop owns the REPLs (`crate::repl::Repls`): it does these.
        Effect::ReplEval(..) | Effect::ReplStop(_) | Effect::OpenRepl(_) => {}
        Effect::LoadHistory(dir, kind) => {
            let saved = crate::repl::load_history(&crate::repl::history_file(&dir, kind));
            let _ = tx.send(Action::History(kind, saved));
        }
        Effect::SetState(dir, key, value) => {
            let done = store(&dir).and_then(|s| s.set(&key, &value));
            state_written(&dir, done, tx);
        }
        Effect::DeleteState(dir, key) => {
            let done = store(&dir).and_then(|s| s.delete(&key).map(|_| ()));
            state_written(&dir, done, tx);
        }
        Effect::Resume(how, edited) => {
            if let Some(debugger) = run.as_ref().and_then(|r| r.debugger.as_ref()) {
                debugger.resume(how, edited);
            }
        }
        Effect::Inspect { frame, watches } => {
            if let Some(debugger) = run.as_ref().and_then(|r| r.debugger.clone()) {
                let tx = tx.clone();
                // The spell answers on its own thread; the screen does not wait.
                std::thread::spawn(move || {
                    let _ = tx.send(Action::Inspected(inspect(&debugger, frame, watches)));
                });
            }
        }
        Effect::PauseEval {
            kind,
            frame,
            code,
            watches,
        } => {
            let Some(debugger) = run.as_ref().and_then(|r| r.debugger.clone()) else {
                let _ = tx.send(Action::ReplLine(kind, "the run is not paused".into()));
                return;
            };
            let tx = tx.clone();
            std::thread::spawn(move || {
                let line = match debugger.evaluate(frame, &code, ASK_WAIT) {
                    Ok(v) => v.to_string(),
                    Err(e) => format!("error: {e}"),
                };
                let _ = tx.send(Action::ReplLine(kind, line));
                let _ = tx.send(Action::Repl(kind, crate::action::ReplState::Ready));
                let _ = tx.send(Action::Inspected(inspect(&debugger, frame, watches)));
            });
        }
    }
}

/// How long the IDE waits for a paused spell to answer a question (a
/// watch that runs away is stopped by the run's own limits).
const ASK_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// A frame's locals and the watches' values there.
/// The breakpoints the debugger would not take say why, in the notice line.
fn refused(
    tx: &mpsc::Sender<Action>,
    breaks: &[llmspell::debug::Breakpoint],
    answers: Vec<Result<(), String>>,
) {
    for (bp, answer) in breaks.iter().zip(answers) {
        if let Err(why) = answer {
            let _ = tx.send(Action::Notice(format!(
                "breakpoint on line {} not set: {why}",
                bp.line
            )));
        }
    }
}

fn inspect(debugger: &Debugger, frame: usize, watches: Vec<String>) -> crate::action::Inspected {
    let locals = debugger.frame_locals(frame, ASK_WAIT).unwrap_or_default();
    let watches = watches
        .into_iter()
        .map(|w| {
            let value = debugger.evaluate(frame, &w, ASK_WAIT);
            (w, value)
        })
        .collect();
    crate::action::Inspected {
        frame,
        locals,
        watches,
    }
}

/// The state of the project in `dir` (the folder of its llmspell.toml).
fn store(dir: &Path) -> llmspell::Result<llmspell::store::Store> {
    let project = Config::discover(dir).map_or_else(|_| dir.to_path_buf(), |c| c.project_dir);
    llmspell::store::Store::open(&project)
}

/// After the IDE wrote state: the new state, or why the write failed.
fn state_written(dir: &Path, done: llmspell::Result<()>, tx: &mpsc::Sender<Action>) {
    if let Err(e) = done {
        let _ = tx.send(Action::Output(format!("state not written: {}", e.report())));
    }
    let _ = tx.send(Action::State(read_state(dir)));
}

/// Writes `text` as the whole of the file at `path` (through a link, to
/// what it points at): beside it first, then renamed over it, so a full
/// disk or a crash mid-write leaves the old file whole, never half of each.
fn write_whole(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let target = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let dir = target.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".llmspell-save-")
        .tempfile_in(dir)?;
    tmp.write_all(text.as_bytes())?;
    tmp.as_file().sync_data()?;
    if let Ok(meta) = std::fs::metadata(&target) {
        tmp.as_file().set_permissions(meta.permissions())?;
    }
    tmp.persist(&target).map_err(|e| e.error)?;
    Ok(())
}

/// Puts `text` on the clipboard of the terminal (and of the machine the
/// terminal runs on, over ssh too) with the OSC 52 escape.
fn copy(text: &str) {
    use base64::Engine;
    use std::io::Write;
    let encoded = base64::engine::general_purpose::STANDARD.encode(text);
    let mut out = std::io::stdout();
    let _ = write!(out, "\x1b]52;c;{encoded}\x07");
    let _ = out.flush();
}

/// The project's state, `(key, value)` sorted by key; an unreadable store
/// shows as one entry saying why.
pub fn read_state(dir: &Path) -> Vec<(String, serde_json::Value)> {
    let read = || -> llmspell::Result<Vec<(String, serde_json::Value)>> {
        let store = store(dir)?;
        let mut out = Vec::new();
        for key in store.keys("")? {
            if let Some(entry) = store.get(&key)? {
                out.push((key, entry.value));
            }
        }
        Ok(out)
    };
    read().unwrap_or_else(|e| vec![("(state)".into(), serde_json::Value::String(e.report()))])
}

/// Starts a run on its own thread; its output, its pauses (with `breaks`)
/// and its end come back as actions.
pub fn start(launch: &Launch, runtime: &Runtime, tx: &mpsc::Sender<Action>) -> Option<Running> {
    let (path, breaks) = (&launch.path, launch.breaks.as_ref());
    let started = Instant::now();
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let finish = move |result: Result<serde_json::Value, llmspell::Error>| {
        // The line is marked in the editor when it is in the spell's file.
        let at = result.as_ref().err().and_then(|e| e.location.as_ref());
        let error_line = at
            .filter(|l| Some(&l.file) == name.as_ref())
            .map(|l| l.line);
        Action::Finished {
            error_line,
            result: result.map_err(|e| e.report()),
            ms: started.elapsed().as_millis() as u64,
        }
    };
    let prepared = match &launch.from_run {
        None => Spell::load(path).and_then(|spell| {
            let config = Config::discover(&spell.dir)?;
            Ok((spell, config, launch.args.clone(), None))
        }),
        Some(from) => from_journal(path, from),
    };
    let (spell, config, args, journal) = match prepared {
        Ok(x) => x,
        Err(e) => {
            let _ = tx.send(finish(Err(e)));
            return None;
        }
    };
    let parent = launch.from_run.as_ref().map(|f| f.id);
    let mut opts = RunOptions::new(config);
    opts.args = args;
    if let Some(cassette) = journal {
        opts.cassette = Some(Arc::new(std::sync::Mutex::new(cassette)));
    }
    let replay = launch.replay.as_ref().filter(|r| {
        let there = !r.if_there || r.path.exists();
        if !there {
            let note = format!(
                "(no {} to replay: this run calls the live model)",
                r.path.display()
            );
            let _ = tx.send(Action::Output(note));
        }
        there
    });
    if let Some(replay) = replay {
        let mode = llmspell::provider::CassetteMode {
            replay: Some(replay.path.clone()),
            ..Default::default()
        };
        match llmspell::provider::Cassette::open(&mode) {
            Ok(c) => opts.cassette = Some(Arc::new(std::sync::Mutex::new(c))),
            Err(e) => {
                let _ = tx.send(finish(Err(e)));
                return None;
            }
        }
    }
    let out = tx.clone();
    opts.output = Arc::new(move |line: &[u8]| {
        let _ = out.send(Action::Output(String::from_utf8_lossy(line).into_owned()));
    });
    opts.log = Arc::new(|_, _, _| {});
    // Every run is kept in the project's history, as `llmspell run` keeps
    // it; one that cannot be says so and runs all the same.
    let recorder = match opts.config.history.enabled {
        false => None,
        true => match Recorder::begin(&opts.config, &spell, path, &opts.args, parent) {
            Ok(r) => Some(r),
            Err(e) => {
                let _ = tx.send(Action::Output(format!(
                    "(this run is not kept: {})",
                    e.report()
                )));
                None
            }
        },
    };
    if let Some(r) = &recorder {
        r.attach(&mut opts);
    }
    let debugger = breaks.map(|b| {
        let d = Debugger::new();
        for pattern in b.pattern.iter().flat_map(|p| p.split(',')) {
            d.break_on(pattern.trim());
        }
        refused(tx, &b.lines, d.set_breakpoints(b.lines.clone()));
        d.break_on_errors(b.errors);
        d
    });
    opts.debugger = debugger.clone();
    let handle = runtime.spawn(spell, opts);
    let stop = handle.stop_handle();
    let ended = Arc::new(AtomicBool::new(false));
    if let Some(d) = &debugger {
        forward_pauses(d.clone(), ended.clone(), tx.clone());
    }
    let tx = tx.clone();
    std::thread::spawn(move || {
        let outcome = handle.join();
        ended.store(true, Ordering::Release);
        if let Some(r) = recorder {
            if let Err(e) = r.finish(&outcome) {
                let _ = tx.send(Action::Output(format!(
                    "(this run is not kept: {})",
                    e.report()
                )));
            }
        }
        let _ = tx.send(finish(outcome.result));
    });
    Some(Running { stop, debugger })
}

/// A kept run of the project in `project`, whole.
fn kept(project: &Path, id: i64) -> Result<llmspell::history::Run, String> {
    let history = History::open_existing(project).map_err(|e| e.report())?;
    let history = history.ok_or_else(|| "no runs are kept in this project yet".to_owned())?;
    history.get(id).map_err(|e| e.report())
}

type Prepared = (
    Spell,
    Config,
    serde_json::Map<String, serde_json::Value>,
    Option<llmspell::provider::Cassette>,
);

/// A kept run to run again (of the spell at `path`): the source it ran,
/// its args, and its journal to answer from (forked, if asked).
fn from_journal(path: &Path, from: &FromRun) -> Result<Prepared, llmspell::Error> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let config = Config::discover(dir)?;
    let history = History::open_existing(&config.project_dir)?.ok_or_else(|| {
        llmspell::Error::new(
            llmspell::ErrorCode::HistoryNoRun,
            "no runs are kept in this project yet",
        )
    })?;
    let run = history.get(from.id)?;
    let reply = match &from.fork {
        Some((n, text)) => Some((*n, history::fork_reply(&run, *n, text)?)),
        None => None,
    };
    let fork = history::Fork {
        live_after: None,
        reply,
    };
    let cassette = history::replay_cassette(&run, &fork)?;
    let spell = history::replay_spell(&run, false)?;
    Ok((spell, config, run.summary.args.clone(), Some(cassette)))
}

/// The project's kept runs, sent again whenever they change (a run of
/// this IDE or of another process ends or starts), checked a few times
/// a second; the list holds the newest [`LISTED`].
pub fn watch_runs(project: std::path::PathBuf, tx: mpsc::Sender<Action>) {
    std::thread::spawn(move || {
        let mut history = None;
        let mut seen = None;
        let mut quiet = 0;
        loop {
            if history.is_none() {
                match History::open_existing(&project) {
                    Ok(h) => history = h,
                    Err(e) => {
                        if tx.send(Action::Runs(Err(e.report()))).is_err() {
                            return;
                        }
                        std::thread::sleep(Duration::from_secs(5));
                        continue;
                    }
                }
            }
            if let Some(h) = &history {
                // Also now and then unchanged: a run whose process died
                // shows as lost.
                let version = h.version().ok();
                quiet += 1;
                if version != seen || quiet >= 20 {
                    seen = version;
                    quiet = 0;
                    let filter = history::Filter {
                        limit: Some(LISTED),
                        ..Default::default()
                    };
                    let list = h.list(&filter).map_err(|e| e.report());
                    if tx.send(Action::Runs(list)).is_err() {
                        return;
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    });
}

/// The most runs the Runs view lists (`llmspell runs` lists them all).
pub const LISTED: usize = 1000;

/// Each new pause of a run, as an action, until the run ends.
fn forward_pauses(debugger: Debugger, ended: Arc<AtomicBool>, tx: mpsc::Sender<Action>) {
    std::thread::spawn(move || {
        let mut seen = 0;
        while !ended.load(Ordering::Acquire) {
            if let Some((n, p)) = debugger.wait_next_pause(seen, Duration::from_millis(50)) {
                seen = n;
                if tx.send(Action::Paused(p)).is_err() {
                    return;
                }
            }
        }
    });
}

/// Every event on `runtime`'s bus, as an action, on a thread of its own.
pub fn forward_events(runtime: &Runtime, tx: mpsc::Sender<Action>) {
    let events = runtime.bus().subscribe("*");
    std::thread::spawn(move || {
        for e in events {
            let action = Action::Event {
                topic: e.topic,
                data: e.data,
                time_ms: e.time_ms,
            };
            if tx.send(action).is_err() {
                return;
            }
        }
    });
}
