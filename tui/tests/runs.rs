//! The Runs view through the same effects the binary carries out: every
//! run of the IDE is kept, the list refreshes (runs of other processes
//! too), a run opens whole, runs again from its journal, forks at an
//! exchange with its reply edited, and two runs compare; in each language.

#[path = "../../tests/support/project.rs"]
mod project;

use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use llmspell_tui::app::{update, Action, App, Effect, Focus, Launch, Replay, Status};
use llmspell_tui::effects::carry_out;
use llmspell_tui::runs::Opened;

struct Rig {
    a: App,
    runtime: llmspell::Runtime,
    tx: mpsc::Sender<Action>,
    rx: mpsc::Receiver<Action>,
    run: Option<llmspell_tui::effects::Running>,
    /// The effects asked for, in order, besides being carried out.
    asked: Vec<Effect>,
}

impl Rig {
    fn new(dir: &Path) -> Rig {
        let runtime = llmspell::Runtime::new();
        let (tx, rx) = mpsc::channel();
        llmspell_tui::effects::watch_runs(dir.to_path_buf(), tx.clone());
        let mut a = App::new(dir.to_path_buf(), App::scan(dir).unwrap());
        a.project = dir.to_path_buf();
        Rig {
            a,
            runtime,
            tx,
            rx,
            run: None,
            asked: Vec::new(),
        }
    }

    fn act(&mut self, action: Action) {
        let effects = update(&mut self.a, action);
        for effect in effects {
            self.asked.push(effect.clone());
            carry_out(effect, &self.runtime, &self.tx, &mut self.run);
        }
    }

    fn key(&mut self, code: KeyCode) {
        self.act(Action::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    }

    fn until(&mut self, what: &str, done: impl Fn(&App) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while !done(&self.a) {
            if let Ok(action) = self.rx.recv_timeout(Duration::from_millis(50)) {
                self.act(action);
            }
            assert!(Instant::now() < deadline, "never: {what}");
        }
    }

    /// Runs the spell at `path` as F5 does, replaying `cassette`.
    fn run(&mut self, path: &Path, cassette: &Path) {
        self.a.status = Status::Running {
            spell: path.file_name().unwrap().to_string_lossy().into(),
        };
        let launch = Launch {
            path: path.to_path_buf(),
            replay: Some(Replay {
                path: cassette.to_path_buf(),
                if_there: false,
            }),
            ..Launch::default()
        };
        self.asked.push(Effect::Start(launch.clone()));
        carry_out(
            Effect::Start(launch),
            &self.runtime,
            &self.tx,
            &mut self.run,
        );
        self.until("the run ends", |a| {
            matches!(a.status, Status::Finished { .. })
        });
    }

    fn output(&self) -> Vec<String> {
        self.a.output.lines.iter().cloned().collect()
    }
}

fn finished_ok(a: &App) -> bool {
    matches!(a.status, Status::Finished { ok: true, .. })
}

#[test]
fn the_runs_view_opens_reruns_forks_and_compares_kept_runs_in_each_language() {
    let d = project::chat_project();
    let dir = d.path();
    let cassette = dir.join("cassettes/chat.jsonl");
    let mut rig = Rig::new(dir);
    // Output, the three REPLs, then the Runs view.
    for _ in 0..4 {
        rig.act(Action::NextTab);
    }
    assert!(rig.a.runs_tab && rig.a.focus == Focus::Output);
    for (i, spell) in ["chat.lua", "chat.js", "chat.rhai"].iter().enumerate() {
        rig.run(&dir.join(spell), &cassette);
        assert!(finished_ok(&rig.a), "{:?}", rig.a.status);
        let first = (3 * i + 1) as i64;
        rig.until("the run is listed", |a| {
            a.runs.list.first().map(|s| s.id) == Some(first)
        });
        let s = &rig.a.runs.list[0];
        assert_eq!((s.spell.as_str(), s.tokens), (*spell, 58));

        // Enter opens the newest run whole.
        rig.a.runs.chosen = None;
        rig.key(KeyCode::Enter);
        assert_eq!(
            rig.asked.last(),
            Some(&Effect::OpenRun(dir.to_path_buf(), first))
        );
        rig.until("the run opens", |a| a.runs.open.is_some());
        let Some(Opened::Run {
            lines, exchange, ..
        }) = &rig.a.runs.open
        else {
            panic!("not a run")
        };
        assert_eq!(*exchange, 1);
        let text = lines.join("\n");
        assert!(
            text.contains("[user] Name one planet of the solar system."),
            "{text}"
        );
        assert!(text.contains("The exoplanet Kepler-452b"), "{text}");

        // r: the same run again, from its journal: the same output.
        let before = rig.output().len();
        rig.key(KeyCode::Char('r'));
        assert!(!rig.a.runs_tab, "the Output shows the run");
        rig.until("the rerun ends", finished_ok);
        let again = rig.output()[before..].to_vec();
        assert!(again[0].contains(&format!("run {first} again, from its journal")));
        assert!(
            again[1].starts_with("The exoplanet Kepler-452b"),
            "{again:?}"
        );

        // Back to the Runs view; the rerun is listed with its parent.
        for _ in 0..4 {
            rig.act(Action::NextTab);
        }
        rig.until("the rerun is listed", |a| {
            a.runs.list.first().map(|s| s.id) == Some(first + 1)
        });
        assert_eq!(rig.a.runs.list[0].parent, Some(first));

        // Fork the first run at its exchange 1, with another reply.
        rig.a.runs.chosen = None;
        rig.key(KeyCode::Down);
        rig.key(KeyCode::Enter);
        rig.until("the run opens", |a| a.runs.open.is_some());
        rig.key(KeyCode::Char(']'));
        rig.key(KeyCode::Char('f'));
        let (id, n, _) = rig.a.runs.fork.as_ref().expect("a fork edit");
        assert_eq!((*id, *n), (first, 1));
        // Not JSON: it stays, and says so.
        rig.key(KeyCode::Char('{'));
        rig.key(KeyCode::F(5));
        assert!(rig
            .a
            .notice
            .as_deref()
            .unwrap_or("")
            .starts_with("not JSON"));
        assert!(rig.a.runs.fork.is_some());
        rig.a.runs.fork.as_mut().unwrap().2 =
            llmspell_tui::editor::Editor::new("{\"text\": \"Mars, in a fork.\"}");
        let before = rig.output().len();
        rig.key(KeyCode::F(5));
        rig.until("the fork ends", finished_ok);
        let fork = rig.output()[before..].to_vec();
        assert!(
            fork[0].contains(&format!("fork of run {first} at #1")),
            "{fork:?}"
        );
        assert_eq!(fork[1], "Mars, in a fork.");

        // Mark the fork and the first run: compared as `runs diff` does.
        for _ in 0..4 {
            rig.act(Action::NextTab);
        }
        rig.until("the fork is listed", |a| {
            a.runs.list.first().map(|s| s.id) == Some(first + 2)
        });
        rig.a.runs.chosen = None;
        rig.key(KeyCode::Char('m'));
        rig.key(KeyCode::Down);
        rig.key(KeyCode::Down);
        rig.key(KeyCode::Char('m'));
        assert_eq!(
            rig.asked.last(),
            Some(&Effect::CompareRuns(dir.to_path_buf(), first + 2, first))
        );
        rig.until("they compare", |a| {
            matches!(a.runs.open, Some(Opened::Diff { .. }))
        });
        let text = rig.a.runs.open.as_ref().unwrap().lines().join("\n");
        assert!(text.contains("exchanges: they part at #1"), "{text}");
        assert!(text.contains("-Mars, in a fork."), "{text}");
        rig.key(KeyCode::Esc);
        assert!(rig.a.runs.open.is_none());
    }
    // A run of another process (here, of the library, as `llmspell run`
    // keeps one) shows in the list on its own.
    let config = llmspell::Config::discover(dir).unwrap();
    let spell = llmspell::Spell::load(&dir.join("chat.lua")).unwrap();
    let mut opts = llmspell::RunOptions::new(config.clone());
    opts.output = std::sync::Arc::new(|_| {});
    let mode = llmspell::provider::CassetteMode {
        replay: Some(cassette),
        ..Default::default()
    };
    let c = llmspell::provider::Cassette::open(&mode).unwrap();
    opts.cassette = Some(std::sync::Arc::new(std::sync::Mutex::new(c)));
    let recorder = llmspell::history::Recorder::begin(
        &config,
        &spell,
        &dir.join("chat.lua"),
        &opts.args,
        None,
    )
    .unwrap();
    recorder.attach(&mut opts);
    let out = llmspell::Runtime::new().run(&spell, &opts);
    let id = recorder.finish(&out).unwrap();
    assert_eq!(id, 10);
    rig.until("another process's run is listed", |a| {
        a.runs.list.first().map(|s| s.id) == Some(10)
    });
    assert_eq!(rig.a.runs.list.len(), 10);
    // The wheel over the Runs view moves the choice, and scrolls an open run.
    rig.a.runs.chosen = None;
    let pane = llmspell_tui::layout::panes(rig.a.screen, rig.a.sizes)[2];
    let (x, y) = (pane.x + pane.width / 2, pane.y + pane.height / 2);
    rig.act(Action::Wheel(x, y, false));
    assert_eq!(rig.a.runs.selected(), 3);
    rig.key(KeyCode::Enter);
    rig.until("the run opens", |a| a.runs.open.is_some());
    let top = |a: &App| {
        a.runs
            .open
            .as_ref()
            .unwrap()
            .scroll()
            .view(a.runs.open.as_ref().unwrap().lines(), 40, 5)[0]
            .clone()
    };
    let before = top(&rig.a);
    rig.act(Action::Wheel(x, y, false));
    assert_ne!(top(&rig.a), before);
}
