//! `llmspell-tui [DIR]`: the loop. Keys, spell output, bus events and ended
//! runs arrive on one channel as actions; `update` applies them; effects
//! (read a file, start or stop a run) are carried out here, never waited on.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc;

use llmspell::Runtime;
use llmspell_tui::app::{update, Action, App, Effect, ReplayAll};
use llmspell_tui::effects::carry_out;
use llmspell_tui::ui;

#[global_allocator]
static ALLOC: llmspell::CountingAllocator = llmspell::CountingAllocator;

fn main() -> ExitCode {
    const USAGE: &str =
        "usage: llmspell-tui [DIR] [--theme dark|light|FILE] [--keys FILE] [--replay CASSETTE|FOLDER]";
    let usage_error = |what: String| {
        eprintln!("llmspell-tui: {what}\n{USAGE}");
        ExitCode::from(2)
    };
    let mut dir = None;
    let mut theme = "dark".to_owned();
    let mut keys = user_keys();
    let mut replay = None;
    let mut args = std::env::args_os().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--theme" || arg == "--keys" || arg == "--replay" {
            let Some(value) = args.next() else {
                return usage_error(format!("{} needs a value", arg.to_string_lossy()));
            };
            if arg == "--theme" {
                theme = value.to_string_lossy().into_owned();
            } else if arg == "--keys" {
                keys = Some(PathBuf::from(value));
            } else {
                let path = PathBuf::from(value);
                replay = Some(match std::fs::metadata(&path) {
                    Ok(m) if m.is_dir() => ReplayAll::Folder(path),
                    Ok(_) => ReplayAll::File(path),
                    Err(e) => {
                        return usage_error(format!("--replay {}: {e}", path.display()));
                    }
                });
            }
        } else if arg == "--help" || arg == "-h" {
            println!("{USAGE}\nF1 in the IDE shows every key; ~/.config/llmspell/keys.toml is read when there.");
            return ExitCode::SUCCESS;
        } else if arg.to_string_lossy().starts_with('-') {
            return usage_error(format!("unknown option {}", arg.to_string_lossy()));
        } else if dir.is_some() {
            return usage_error(format!(
                "one folder only, not also {}",
                arg.to_string_lossy()
            ));
        } else {
            dir = Some(PathBuf::from(arg));
        }
    }
    // Absolute, so that the folder and its project compare as paths.
    let dir = dir.unwrap_or_else(|| PathBuf::from("."));
    let dir = std::path::absolute(&dir).unwrap_or(dir);
    let keymap = match keys.map(|k| llmspell_tui::keys::Keymap::load(&k)) {
        None => Default::default(),
        Some(Ok(k)) => k,
        Some(Err(e)) => {
            eprintln!("llmspell-tui: {e}");
            return ExitCode::from(2);
        }
    };
    let theme = match llmspell_tui::theme::Theme::load(&theme) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("llmspell-tui: {e}");
            return ExitCode::from(2);
        }
    };
    let spells = match App::scan(&dir) {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "llmspell-tui: {}: {e}; give a folder of spells",
                dir.display()
            );
            return ExitCode::from(2);
        }
    };
    // A full-screen IDE draws on and reads from a terminal; without one
    // it would fail deep inside (a panic), so say so plainly.
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        eprintln!(
            "llmspell-tui: needs a terminal (its input and output are not one); \
             run it in a terminal, or run spells with `llmspell run`"
        );
        return ExitCode::from(2);
    }
    let project = llmspell::Config::discover(&dir).map_or_else(|_| dir.clone(), |c| c.project_dir);
    let project = std::path::absolute(&project).unwrap_or(project);
    let mut app = App::new(dir, spells);
    app.theme = theme;
    app.keymap = keymap;
    app.replay_all = replay;
    match llmspell_tui::settings::Settings::load(&project) {
        Ok(settings) => app.settings = settings,
        Err(e) => app.notice = Some(e),
    }
    app.project = project;
    let (tx, rx) = mpsc::channel::<Action>();
    let runtime = Runtime::new();
    llmspell_tui::effects::forward_events(&runtime, tx.clone());
    llmspell_tui::effects::watch_runs(app.project.clone(), tx.clone());
    forward_keys(tx.clone());
    // Without a watcher the IDE still works; saved files just do not reload.
    let _watching = llmspell_tui::watch::watch(&app.dir, tx.clone())
        .map_err(|e| {
            let _ = tx.send(Action::Output(format!("not watching for changes: {e}")));
        })
        .ok();
    let mut terminal = match ratatui::try_init() {
        Ok(t) => t,
        Err(e) => {
            ratatui::restore();
            eprintln!("llmspell-tui: cannot use this terminal: {e}");
            return ExitCode::from(2);
        }
    };
    let _ = crossterm::execute!(
        std::io::stdout(),
        crossterm::event::EnableMouseCapture,
        crossterm::event::EnableBracketedPaste
    );
    if let Ok(size) = terminal.size() {
        let _ = tx.send(Action::Resize(size.width, size.height));
    }
    let mut run = None;
    let mut repls = llmspell_tui::repl::Repls::default();
    if let Some(path) = app.selected_path() {
        carry_out(Effect::Load(path), &runtime, &tx, &mut run);
    }
    carry_out(Effect::LoadState(app.dir.clone()), &runtime, &tx, &mut run);
    let outcome = loop {
        if let Err(e) = terminal.draw(|f| ui::render(&app, f)) {
            break Err(e.to_string());
        }
        let Ok(action) = rx.recv() else {
            break Ok(());
        };
        // Apply everything already waiting before drawing again.
        let mut effects: Vec<Effect> = update(&mut app, action);
        while let Ok(more) = rx.try_recv() {
            effects.extend(update(&mut app, more));
        }
        // A burst of state events needs one read, not one each.
        effects.dedup();
        for effect in effects {
            match effect {
                Effect::ReplEval(kind, line) => repls.eval(kind, &app.dir, &runtime, line, &tx),
                Effect::ReplStop(kind) => repls.interrupt(kind),
                Effect::OpenRepl(kind) => repls.open(kind, &app.dir, &runtime, &tx),
                other => carry_out(other, &runtime, &tx, &mut run),
            }
        }
        if app.quit {
            break Ok(());
        }
    };
    let _ = crossterm::execute!(
        std::io::stdout(),
        crossterm::event::DisableBracketedPaste,
        crossterm::event::DisableMouseCapture
    );
    ratatui::restore();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("llmspell-tui: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `~/.config/llmspell/keys.toml` (or under `$XDG_CONFIG_HOME`), when there.
fn user_keys() -> Option<PathBuf> {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(config.join("llmspell").join("keys.toml")).filter(|p| p.exists())
}

fn forward_keys(tx: mpsc::Sender<Action>) {
    std::thread::spawn(move || loop {
        let Ok(event) = crossterm::event::read() else {
            return;
        };
        let action = match event {
            crossterm::event::Event::Key(key) => Some(Action::Key(key)),
            crossterm::event::Event::Resize(w, h) => Some(Action::Resize(w, h)),
            crossterm::event::Event::Paste(text) => Some(Action::Paste(text)),
            crossterm::event::Event::Mouse(m) => {
                use crossterm::event::MouseEventKind::{Down, ScrollDown, ScrollUp};
                match m.kind {
                    Down(_) => Some(Action::Click(m.column, m.row)),
                    ScrollUp => Some(Action::Wheel(m.column, m.row, true)),
                    ScrollDown => Some(Action::Wheel(m.column, m.row, false)),
                    _ => None,
                }
            }
            _ => None,
        };
        if let Some(action) = action {
            if tx.send(action).is_err() {
                return;
            }
        }
    });
}
