//! The IDE's state, its pictures, and a real run through the same effects
//! the binary carries out.

#[path = "../../tests/support/project.rs"]
mod project;

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use llmspell::debug::{Breakpoint, Pause, When, Why};
use llmspell_tui::app::{
    update, Action, App, Breaks, Effect, Focus, Launch, Prompt, Status, KEEP_OUTPUT,
};
use llmspell_tui::editor::Read;
use llmspell_tui::effects::carry_out;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use serde_json::json;

#[global_allocator]
static ALLOC: llmspell::CountingAllocator = llmspell::CountingAllocator;

/// The main loop's answer to loading the spell under the list's cursor.
fn opened(a: &mut App, text: String) -> Vec<Effect> {
    let path = a.selected_path().unwrap();
    update(a, Action::Source(path, Read::Text(text)))
}

/// What a debug-mode run with no line breakpoints pauses at.
fn debug(pattern: &str) -> Breaks {
    Breaks {
        pattern: Some(pattern.into()),
        lines: vec![],
        errors: false,
    }
}

/// The IDE on a project of three spells, with the first (agent.rhai) read
/// as the binary reads it on start.
fn app() -> App {
    let mut a = App::new(
        PathBuf::from("/project"),
        vec!["hello.lua".into(), "chat.js".into(), "agent.rhai".into()],
    );
    opened(&mut a, String::new());
    a
}

#[test]
fn moving_through_spells_loads_each_and_stops_at_the_ends() {
    let mut a = app();
    assert_eq!(a.spells, ["agent.rhai", "chat.js", "hello.lua"]);
    assert_eq!(
        update(&mut a, Action::Up),
        vec![Effect::Load("/project/agent.rhai".into())]
    );
    assert_eq!(
        update(&mut a, Action::Down),
        vec![Effect::Load("/project/chat.js".into())]
    );
    update(&mut a, Action::Down);
    update(&mut a, Action::Down);
    assert_eq!(a.selected, 2);
    // Keys for the list do nothing in another pane.
    update(&mut a, Action::NextPane);
    assert_eq!(a.focus, Focus::Editor);
    assert_eq!(update(&mut a, Action::Up), vec![]);
    assert_eq!(a.selected, 2);
}

#[test]
fn state_writes_reload_the_state_viewer() {
    let mut a = app();
    let write = Action::Event {
        topic: "state.set".into(),
        data: json!({"key": "n"}),
        time_ms: 0,
    };
    assert_eq!(
        update(&mut a, write),
        vec![Effect::LoadState("/project".into())]
    );
    let other = Action::Event {
        topic: "log".into(),
        data: json!({}),
        time_ms: 0,
    };
    assert_eq!(update(&mut a, other), vec![]);
    update(&mut a, Action::State(vec![("n".into(), json!(2))]));
    assert_eq!(a.state, [("n".to_owned(), json!(2))]);
}

#[test]
fn a_saved_spell_reloads_and_reruns_only_with_auto_run() {
    let mut a = app();
    let open = PathBuf::from("/project/agent.rhai");
    let saved = Action::Changed(vec![open.clone()]);
    assert_eq!(
        update(&mut a, saved.clone()),
        vec![Effect::Scan("/project".into()), Effect::Load(open.clone())]
    );
    let other = Action::Changed(vec!["/project/hello.lua".into()]);
    assert_eq!(update(&mut a, other), vec![Effect::Scan("/project".into())]);
    update(&mut a, Action::ToggleAutoRun);
    assert_eq!(
        update(&mut a, saved.clone()),
        vec![
            Effect::Scan("/project".into()),
            Effect::Load(open.clone()),
            Effect::Start(Launch::new(open.clone(), None))
        ]
    );
    // Saved again while it runs: reloaded, not started twice.
    assert_eq!(
        update(&mut a, saved),
        vec![Effect::Scan("/project".into()), Effect::Load(open)]
    );
    // A new list keeps the open spell selected.
    update(
        &mut a,
        Action::Spells(vec!["b.lua".into(), "agent.rhai".into(), "a.js".into()]),
    );
    assert_eq!(a.spells[a.selected], "agent.rhai");
}

#[test]
fn a_file_saved_by_another_program_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (tx, rx) = mpsc::channel();
    let _watching = llmspell_tui::watch::watch(dir.path(), tx).unwrap();
    let file = dir.path().join("new.lua");
    std::fs::write(&file, "return 1").unwrap();
    let Action::Changed(paths) = rx.recv_timeout(Duration::from_secs(10)).unwrap() else {
        panic!("not a change");
    };
    assert!(
        paths.iter().any(|p| p.file_name() == file.file_name()),
        "{paths:?}"
    );
    // Reading is not a change.
    while rx.recv_timeout(Duration::from_millis(300)).is_ok() {}
    let _ = std::fs::read_to_string(&file).unwrap();
    assert!(rx.recv_timeout(Duration::from_millis(500)).is_err());
}

#[test]
fn a_run_starts_once_shows_its_output_and_ends_with_its_result() {
    let mut a = app();
    assert_eq!(
        update(&mut a, Action::Run),
        vec![Effect::Start(Launch::new(
            "/project/agent.rhai".into(),
            None
        ))]
    );
    assert!(matches!(a.status, Status::Running { .. }));
    assert_eq!(update(&mut a, Action::Run), vec![], "one run at a time");
    assert_eq!(update(&mut a, Action::Quit), vec![Effect::Stop]);
    for i in 0..KEEP_OUTPUT + 10 {
        update(&mut a, Action::Output(format!("line {i}")));
    }
    assert_eq!(a.output.lines.len(), KEEP_OUTPUT, "output is bounded");
    assert_eq!(a.output.lines[0], "line 10");
    let after = update(
        &mut a,
        Action::Finished {
            result: Err("cancelled: stopped".into()),
            error_line: None,
            ms: 3,
        },
    );
    assert_eq!(after, vec![Effect::LoadState("/project".into())]);
    let Status::Finished { ok, text, .. } = &a.status.clone() else {
        panic!("{:?}", a.status)
    };
    assert!(!ok);
    assert_eq!(text, "cancelled: stopped");
    assert_eq!(update(&mut a, Action::Stop), vec![], "nothing to stop");
}

fn picture(a: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| llmspell_tui::ui::render(a, f)).unwrap();
    without_clock(&terminal.backend().to_string())
}

/// `text` with every time of day (`14:03:22`) as `HH:MM:SS`, so that
/// pictures of it stay the same in any time zone, at any time.
fn without_clock(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    let clock_at = |i: usize| {
        bytes.len() >= i + 8
            && bytes[i..i + 8].iter().enumerate().all(|(k, b)| match k {
                2 | 5 => *b == b':',
                _ => b.is_ascii_digit(),
            })
    };
    while at < text.len() {
        if clock_at(at) {
            out.push_str("HH:MM:SS");
            at += 8;
        } else {
            let c = text[at..].chars().next().unwrap();
            out.push(c);
            at += c.len_utf8();
        }
    }
    out
}

fn busy_app() -> App {
    let mut a = app();
    update(&mut a, Action::Down);
    opened(
        &mut a,
        "const r = await llm.chat(\"hi\");\nprint(r.text);\nexport default r.model;".into(),
    );

    update(&mut a, Action::Run);
    update(&mut a, Action::Output("Hello there".into()));
    for topic in ["spell.start", "llm.request", "llm.response", "spell.end"] {
        let mut data = json!({"model": "local/smollm2"});
        if topic == "llm.response" {
            data["usage"] = json!({"input_tokens": 12, "output_tokens": 30});
        }
        update(
            &mut a,
            Action::Event {
                topic: topic.into(),
                data,
                time_ms: 0,
            },
        );
    }
    update(
        &mut a,
        Action::State(vec![
            ("counter/runs".into(), json!(3)),
            ("greeting".into(), json!("hi")),
        ]),
    );
    update(
        &mut a,
        Action::Finished {
            result: Ok(json!("local/smollm2")),
            error_line: None,
            ms: 42,
        },
    );
    a
}

/// The style of the first cell on screen showing `text`.
fn style_of(a: &App, text: &str) -> ratatui::style::Style {
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    terminal.draw(|f| llmspell_tui::ui::render(a, f)).unwrap();
    let buffer = terminal.backend().buffer().clone();
    let width = buffer.area.width as usize;
    let cells: Vec<&str> = buffer.content.iter().map(|c| c.symbol()).collect();
    let first = text.chars().next().unwrap().to_string();
    for i in 0..cells.len() {
        let here: String = cells[i..]
            .iter()
            .take(text.chars().count())
            .copied()
            .collect();
        if here == text && i % width + text.len() <= width && cells[i] == first {
            return buffer.content[i].style();
        }
    }
    panic!("{text:?} is not on screen")
}

#[test]
fn the_editor_colours_code_and_marks_breakpoints_pauses_and_errors() {
    let mut a = app();
    a.selected = 2; // hello.lua
    opened(
        &mut a,
        "local name = \"owl\" -- who\nprint(name)\nreturn 42\n".into(),
    );

    let theme = a.theme.clone();
    assert_eq!(style_of(&a, "local").fg, Some(theme.keyword));
    assert_eq!(style_of(&a, "\"owl\"").fg, Some(theme.string));
    assert_eq!(style_of(&a, "-- who").fg, Some(theme.comment));
    assert_eq!(style_of(&a, "42").fg, Some(theme.number));

    // F9 puts a breakpoint on the cursor's line, and takes it off again.
    a.focus = Focus::Editor;
    let f9 = || Action::Key(KeyEvent::from(KeyCode::F(9)));
    update(&mut a, Action::Key(KeyEvent::from(KeyCode::Down)));
    update(&mut a, f9());
    assert_eq!(a.line_breaks(), vec![2]);
    assert_eq!(style_of(&a, "●").fg, Some(theme.breakpoint));
    assert!(picture(&a, 80, 24).contains("● 2 print(name)"));
    update(&mut a, f9());
    assert!(a.line_breaks().is_empty());
    update(&mut a, f9());
    // A run with a breakpoint is debugged, even out of debug mode.
    assert_eq!(
        update(&mut a, Action::Run),
        vec![Effect::Start(Launch::new(
            "/project/hello.lua".into(),
            Some(Breaks {
                pattern: None,
                lines: vec![Breakpoint::at(2)],
                errors: false,
            })
        ))]
    );
    // Breakpoints set while it runs go to its debugger.
    update(&mut a, Action::Key(KeyEvent::from(KeyCode::Down)));
    // And are kept in the project's settings, for the next session.
    let kept = |lines: &[u32]| {
        let mut s = llmspell_tui::settings::Settings::default();
        s.set(
            "hello.lua",
            llmspell_tui::settings::SpellSettings {
                breakpoints: lines.iter().copied().collect(),
                ..Default::default()
            },
        );
        Effect::SaveSettings("/project".into(), s)
    };
    assert_eq!(
        update(&mut a, f9()),
        vec![
            Effect::LineBreaks(vec![Breakpoint::at(2), Breakpoint::at(3)]),
            kept(&[2, 3])
        ]
    );
    assert_eq!(
        update(&mut a, f9()),
        vec![Effect::LineBreaks(vec![Breakpoint::at(2)]), kept(&[2])]
    );

    // Paused at a line: marked, its locals listed, and no call to edit.
    update(
        &mut a,
        Action::Paused(Pause {
            when: When::Line,
            why: Why::Breakpoint,
            call: "line".into(),
            args: vec![],
            result: None,
            location: Some(llmspell::Location {
                file: "hello.lua".into(),
                line: 2,
            }),
            locals: vec![("name".into(), json!("owl"))],
            stack: vec![],
            note: None,
        }),
    );
    assert_eq!(style_of(&a, "▶").fg, Some(theme.pause));
    assert_eq!(style_of(&a, "print").bg, Some(theme.paused_line));
    let paused = picture(&a, 80, 24);
    assert!(paused.contains("Paused at hello.lua:2"), "{paused}");
    assert!(paused.contains("name = \"owl\""), "{paused}");
    insta::assert_snapshot!("paused_at_a_line_80x24", paused);
    assert_eq!(update(&mut a, Action::Edit), vec![]);
    assert!(a.pause_edit.is_none());
    // F11 steps to the next line.
    assert_eq!(
        update(&mut a, Action::Key(KeyEvent::from(KeyCode::F(11)))),
        vec![Effect::Resume(llmspell::debug::Resume::StepLine, None)]
    );

    // The run failed on line 3: marked there until the next run.
    update(
        &mut a,
        Action::Finished {
            result: Err("spell.error: boom".into()),
            error_line: Some(3),
            ms: 1,
        },
    );
    assert_eq!(style_of(&a, "✖").fg, Some(theme.error));
    assert_eq!(style_of(&a, "return").bg, Some(theme.error_line));
    update(&mut a, Action::Run);
    assert!(!picture(&a, 80, 24).contains('✖'));

    // JavaScript has line breakpoints too.
    a.selected = 1;
    opened(&mut a, "print(1);\n".into());
    update(&mut a, f9());
    assert_eq!(a.line_breaks(), vec![1]);
}

#[test]
fn a_long_spell_scrolls_to_the_cursor_and_to_a_pause() {
    let mut a = app();
    update(&mut a, Action::Resize(80, 24));
    let text: String = (1..=100).map(|i| format!("x = {i}\n")).collect();
    opened(&mut a, text);
    a.focus = Focus::Editor;
    for _ in 0..40 {
        update(&mut a, Action::Key(KeyEvent::from(KeyCode::Down)));
    }
    let rows = a.editor_height();
    assert!(
        a.editor.top <= 40 && 40 < a.editor.top + rows,
        "{}",
        a.editor.top
    );
    assert!(picture(&a, 80, 24).contains(" 41 x = 41"));
    update(
        &mut a,
        Action::Paused(Pause {
            when: When::Line,
            why: Why::Breakpoint,
            call: "line".into(),
            args: vec![],
            result: None,
            location: Some(llmspell::Location {
                file: "agent.rhai".into(),
                line: 90,
            }),
            locals: vec![],
            stack: vec![],
            note: None,
        }),
    );
    assert!(picture(&a, 80, 24).contains("▶ 90 x = 90"));
}

#[test]
fn the_whole_layout_at_80x24_and_120x40() {
    insta::assert_snapshot!("layout_80x24", picture(&busy_app(), 80, 24));
    insta::assert_snapshot!("layout_120x40", picture(&busy_app(), 120, 40));
    insta::assert_snapshot!("idle_80x24", picture(&app(), 80, 24));
    let mut help = app();
    update(&mut help, Action::Help);
    insta::assert_snapshot!("help_80x24", picture(&help, 80, 24));
    // Too many keys for 24 rows: the list scrolls to its last one.
    for _ in 0..40 {
        update(&mut help, Action::Down);
    }
    let end = picture(&help, 80, 24);
    assert!(end.contains("this help") && end.contains("quit"), "{end}");
    assert!(!end.contains("run the open spell"), "{end}");
    update(&mut help, Action::Escape);
    assert_eq!(picture(&help, 80, 24), picture(&app(), 80, 24));
}

#[test]
fn running_a_real_spell_sends_its_output_events_and_end_back() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hi.lua");
    std::fs::write(
        &file,
        "print('hi from ' .. spell.engine)\nstate.set('seen', true)\nreturn 7",
    )
    .unwrap();
    let runtime = llmspell::Runtime::new();
    let events = runtime.bus().subscribe("state.*");
    let all = runtime.bus().subscribe("*");
    let (tx, rx) = mpsc::channel();
    let mut run = None;
    carry_out(
        Effect::Start(Launch::new(file, None)),
        &runtime,
        &tx,
        &mut run,
    );
    assert!(run.is_some());
    let mut got = Vec::new();
    loop {
        match rx
            .recv_timeout(Duration::from_secs(10))
            .expect("the run ends")
        {
            Action::Finished { result, .. } => {
                assert_eq!(result, Ok(json!(7)));
                break;
            }
            other => got.push(other),
        }
    }
    assert_eq!(got, [Action::Output("hi from lua".into())]);
    assert_eq!(
        events.recv_timeout(Duration::from_secs(1)).unwrap().topic,
        "state.set"
    );
    carry_out(
        Effect::LoadState(dir.path().into()),
        &runtime,
        &tx,
        &mut run,
    );
    let state = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(state, Action::State(vec![("seen".into(), json!(true))]));
    let topics: Vec<String> = all.try_iter().map(|e| e.topic).collect();
    assert_eq!(topics, ["spell.start", "state.set", "spell.end"]);
}

#[test]
fn debug_mode_pauses_runs_and_keys_go_on_step_or_abort() {
    use llmspell::debug::{Pause, Resume, When};
    let mut a = app();
    update(&mut a, Action::ToggleDebug);
    assert_eq!(
        update(&mut a, Action::Run),
        vec![Effect::Start(Launch::new(
            "/project/agent.rhai".into(),
            Some(debug("*"))
        ))]
    );
    assert_eq!(update(&mut a, Action::Step), vec![], "not paused yet");
    ended_ok(&mut a);
    update(&mut a, Action::NextBreakPattern);
    assert_eq!(
        update(&mut a, Action::Run),
        vec![Effect::Start(Launch::new(
            "/project/agent.rhai".into(),
            Some(debug("llm.*"))
        ))]
    );
    assert!(picture(&a, 100, 30).contains("[debug llm.*]"));
    let pause = Pause {
        when: When::Before,
        why: Why::Call,
        call: "llm.chat".into(),
        args: vec![json!("hi")],
        result: None,
        location: Some(llmspell::Location {
            file: "agent.rhai".into(),
            line: 3,
        }),
        locals: vec![("topic".into(), json!("owls"))],
        stack: vec![
            llmspell::debug::Frame {
                function: "ask".into(),
                file: "agent.rhai".into(),
                line: 3,
            },
            llmspell::debug::Frame {
                function: "main".into(),
                file: "agent.rhai".into(),
                line: 9,
            },
        ],
        note: None,
    };
    update(&mut a, Action::Paused(pause.clone()));
    let paused = picture(&a, 80, 24);
    assert!(
        paused.contains("Paused before llm.chat at agent.rhai:3"),
        "{paused}"
    );
    // The stack, innermost first, under the locals (cut first when the
    // pane is short: a taller screen shows it).
    let tall = picture(&a, 100, 44);
    let rows: Vec<&str> = tall.lines().collect();
    let at = |text: &str| rows.iter().position(|r| r.contains(text));
    let (locals, stack) = (at("locals").unwrap(), at("stack").unwrap());
    let (ask, main) = (
        at("ask  agent.rhai:3").unwrap(),
        at("main  agent.rhai:9").unwrap(),
    );
    assert!(locals < stack && stack < ask && ask < main, "{tall}");
    assert!(paused.contains("\"hi\""), "{paused}");
    assert_eq!(
        update(&mut a, Action::Step),
        vec![Effect::Resume(Resume::Step, None)]
    );
    assert!(a.paused.is_none());
    update(&mut a, Action::Paused(pause.clone()));
    assert_eq!(
        update(&mut a, Action::Run),
        vec![Effect::Resume(Resume::Continue, None)]
    );
    update(&mut a, Action::Paused(pause));
    assert_eq!(
        update(&mut a, Action::Abort),
        vec![Effect::Resume(Resume::Abort, None)]
    );
}

#[test]
fn at_a_pause_its_letters_act_and_never_type_into_the_spell() {
    let mut a = app();
    opened(&mut a, "return 1\n".into());
    update(&mut a, Action::NextPane);
    assert_eq!(a.focus, Focus::Editor);
    let pause = Pause {
        when: When::Before,
        why: Why::Call,
        call: "state.set".into(),
        args: vec![json!("k")],
        result: None,
        location: None,
        locals: vec![],
        stack: vec![],
        note: None,
    };
    update(&mut a, Action::Paused(pause.clone()));
    assert_eq!(
        update(&mut a, key('c')),
        vec![Effect::Resume(llmspell::debug::Resume::Continue, None)]
    );
    update(&mut a, Action::Paused(pause));
    assert_eq!(
        update(&mut a, key('x')),
        vec![Effect::Resume(llmspell::debug::Resume::Abort, None)]
    );
    assert!(!a.editor.dirty(), "a pause letter typed into the spell");
    // With no pause, the letters type again.
    update(&mut a, key('c'));
    assert!(a.editor.dirty());
}

#[test]
fn at_a_pause_f10_steps_by_where_it_is_and_frames_watches_and_the_repl_ask_the_spell() {
    use llmspell::debug::{Frame, Resume};
    let mut a = app();
    opened(
        &mut a,
        "local function f(n)\n  return n\nend\nreturn f(1)\n".into(),
    );
    a.status = Status::Running {
        spell: "hello.lua".into(),
    };
    let frame = |function: &str, line| Frame {
        function: function.into(),
        file: "hello.lua".into(),
        line,
    };
    let at_line = Pause {
        when: When::Line,
        why: Why::Step,
        call: "line".into(),
        args: vec![],
        result: None,
        location: None,
        locals: vec![("n".into(), json!(1))],
        stack: vec![frame("f", 2), frame("main", 4)],
        note: None,
    };
    let before = Pause {
        when: When::Before,
        call: "state.set".into(),
        why: Why::Call,
        ..at_line.clone()
    };
    // F10: over a pending call; from a line, to the next line.
    update(&mut a, Action::Paused(before.clone()));
    assert_eq!(
        update(&mut a, Action::Step),
        vec![Effect::Resume(Resume::Step, None)]
    );
    update(&mut a, Action::Paused(at_line.clone()));
    assert_eq!(
        update(&mut a, Action::Step),
        vec![Effect::Resume(Resume::Next, None)]
    );
    update(&mut a, Action::Paused(at_line.clone()));
    let shift_f11 = Action::Key(KeyEvent::new(KeyCode::F(11), KeyModifiers::SHIFT));
    assert_eq!(
        update(&mut a, shift_f11),
        vec![Effect::Resume(Resume::StepOut, None)]
    );

    // `<` asks for the caller's frame; its answer shows; `>` goes back in
    // and there is no frame further out than main.
    update(&mut a, Action::Paused(at_line.clone()));
    assert_eq!(
        update(&mut a, key('<')),
        vec![Effect::Inspect {
            frame: 1,
            watches: vec![]
        }]
    );
    assert_eq!(update(&mut a, key('<')), vec![]);
    update(
        &mut a,
        Action::Inspected(llmspell_tui::action::Inspected {
            frame: 1,
            locals: vec![("base".into(), json!(20))],
            watches: vec![],
        }),
    );
    let screen = picture(&a, 80, 24);
    assert!(
        screen.contains("locals of frame 1") && screen.contains("base = 20"),
        "{screen}"
    );
    assert!(screen.contains("▸ main"), "{screen}");

    // A watch is kept for the spell and asked for at every pause.
    update(&mut a, key('w'));
    for c in "n * 3".chars() {
        update(&mut a, key(c));
    }
    let effects = update(&mut a, Action::Key(KeyCode::Enter.into()));
    assert!(
        effects.contains(&Effect::Inspect {
            frame: 1,
            watches: vec!["n * 3".into()]
        }),
        "{effects:?}"
    );
    assert_eq!(a.spell_settings().watches, vec!["n * 3".to_owned()]);
    let effects = update(&mut a, Action::Paused(at_line.clone()));
    assert_eq!(
        effects,
        vec![Effect::Inspect {
            frame: 0,
            watches: vec!["n * 3".into()]
        }]
    );
    update(
        &mut a,
        Action::Inspected(llmspell_tui::action::Inspected {
            frame: 0,
            locals: vec![("n".into(), json!(1))],
            watches: vec![("n * 3".into(), Ok(json!(3)))],
        }),
    );
    assert!(picture(&a, 80, 24).contains("n * 3 = 3"));

    // F2 opens the paused spell's REPL, whose entries run in the frame.
    update(&mut a, Action::NextTab);
    assert_eq!(a.tab, Some(llmspell::EngineKind::Lua));
    for c in "n + 1".chars() {
        update(&mut a, key(c));
    }
    let effects = update(&mut a, Action::ReplSubmit);
    assert_eq!(
        effects,
        vec![Effect::PauseEval {
            kind: llmspell::EngineKind::Lua,
            frame: 0,
            code: "n + 1".into(),
            watches: vec!["n * 3".into()],
        }]
    );
    // And F2 again is the pause.
    update(&mut a, Action::NextTab);
    assert_eq!(a.tab, None);
    assert!(picture(&a, 80, 24).contains("Paused"));
}

#[test]
fn a_debug_run_pauses_at_each_bridge_call_and_goes_on_when_told() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("d.lua");
    std::fs::write(&file, "print('one')\nreturn json.encode({a = 1})").unwrap();
    let runtime = llmspell::Runtime::new();
    let (tx, rx) = mpsc::channel();
    let mut run = None;
    let next = || rx.recv_timeout(Duration::from_secs(10)).expect("an action");
    carry_out(
        Effect::Start(Launch::new(file, Some(debug("*")))),
        &runtime,
        &tx,
        &mut run,
    );
    let Action::Paused(p) = next() else {
        panic!("not paused")
    };
    assert_eq!((p.call.as_str(), p.location.unwrap().line), ("print", 1));
    carry_out(
        Effect::Resume(llmspell::debug::Resume::Step, None),
        &runtime,
        &tx,
        &mut run,
    );
    // print's line arrives while the call runs, then the pause after it.
    assert_eq!(next(), Action::Output("one".into()));
    let Action::Paused(p) = next() else {
        panic!("not paused after print")
    };
    assert_eq!(p.when, llmspell::debug::When::After);
    carry_out(
        Effect::Resume(llmspell::debug::Resume::Continue, None),
        &runtime,
        &tx,
        &mut run,
    );
    // Debug mode breaks before every call: continue stops at the next one.
    let Action::Paused(p) = next() else {
        panic!("not paused before json.encode")
    };
    assert_eq!(
        (p.call.as_str(), p.args[0].clone()),
        ("json.encode", json!({"a": 1}))
    );
    carry_out(
        Effect::Resume(llmspell::debug::Resume::Continue, None),
        &runtime,
        &tx,
        &mut run,
    );
    let mut rest = Vec::new();
    loop {
        match next() {
            Action::Finished { result, .. } => {
                assert_eq!(result, Ok(json!("{\"a\":1}")));
                break;
            }
            other => rest.push(other),
        }
    }
    assert!(
        !rest.iter().any(|a| matches!(a, Action::Paused(_))),
        "{rest:?}"
    );
}

fn key(c: char) -> Action {
    Action::Key(crossterm::event::KeyEvent::from(
        crossterm::event::KeyCode::Char(c),
    ))
}

#[test]
fn the_editor_types_saves_and_never_loses_edits() {
    let mut a = app();
    opened(&mut a, "return 1\n".into());
    assert!(!a.editor.dirty());
    // In the spell list a letter is a command; in the editor it types.
    update(&mut a, Action::NextPane);
    for c in "-- hi ".chars() {
        update(&mut a, key(c));
    }
    assert_eq!(a.editor.text(), "-- hi return 1\n");
    assert!(a.editor.dirty());
    assert!(picture(&a, 80, 24).contains("agent.rhai ●"));
    // Leaving the editor, another spell is refused while edits are unsaved.
    update(&mut a, Action::Escape);
    assert_eq!(a.focus, Focus::Spells);
    assert_eq!(update(&mut a, Action::Down), vec![]);
    assert_eq!(a.selected, 0);
    // A change on disk keeps the edits.
    opened(&mut a, "return 2\n".into());
    assert_eq!(a.editor.text(), "-- hi return 1\n");
    assert!(picture(&a, 80, 24).contains("agent.rhai ● (changed on disk)"));
    // q asks first; a run saves first, and over another program's change
    // it asks which to keep: `o` keeps the user's, then runs.
    assert_eq!(update(&mut a, key('q')), vec![]);
    assert!(!a.quit);
    let path = PathBuf::from("/project/agent.rhai");
    assert_eq!(update(&mut a, Action::Run), vec![]);
    assert!(a.notice.as_deref().unwrap().contains("o overwrites"));
    assert_eq!(
        update(&mut a, key('o')),
        vec![Effect::Save {
            path: path.clone(),
            text: "-- hi return 1\n".into(),
            over: Read::Text("return 2\n".into()),
            then_run: true,
        }]
    );
    assert_eq!(
        update(
            &mut a,
            Action::Saved {
                path: path.clone(),
                text: "-- hi return 1\n".into(),
                then_run: true
            }
        ),
        vec![Effect::Start(Launch::new(path.clone(), None))]
    );
    assert!(!a.editor.dirty());
    assert!(!picture(&a, 80, 24).contains("●"));
    // Ctrl+S saves from the editor, over what it saved.
    update(&mut a, Action::NextPane);
    assert_eq!(a.focus, Focus::Editor);
    let ctrl_s = crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Char('s'),
        crossterm::event::KeyModifiers::CONTROL,
    );
    assert_eq!(
        update(&mut a, Action::Key(ctrl_s)),
        vec![Effect::Save {
            path,
            text: "-- hi return 1\n".into(),
            over: Read::Text("-- hi return 1\n".into()),
            then_run: false,
        }]
    );
}

#[test]
fn quitting_with_unsaved_edits_asks_once() {
    let mut a = app();
    opened(&mut a, "x".into());
    update(&mut a, Action::NextPane);
    update(&mut a, key('y'));
    assert_eq!(update(&mut a, Action::Quit), vec![]);
    assert!(!a.quit);
    update(&mut a, Action::Quit);
    assert!(a.quit);
}

#[test]
fn the_second_quit_key_quits_with_unsaved_edits() {
    let ctrl_q = || {
        Action::Key(crossterm::event::KeyEvent::new(
            crossterm::event::KeyCode::Char('q'),
            crossterm::event::KeyModifiers::CONTROL,
        ))
    };
    let dirty = || {
        let mut a = app();
        opened(&mut a, "x".into());
        update(&mut a, Action::NextPane);
        update(&mut a, key('y'));
        assert!(a.editor.dirty());
        a
    };
    // Ctrl+Q twice, in the editor.
    let mut a = dirty();
    update(&mut a, ctrl_q());
    assert!(!a.quit, "the first press only asks");
    update(&mut a, ctrl_q());
    assert!(a.quit);
    // `q` twice outside it, with a run's output arriving between.
    let mut a = dirty();
    update(&mut a, Action::Escape);
    update(&mut a, key('q'));
    assert!(!a.quit);
    update(&mut a, Action::Output("tick".into()));
    update(&mut a, key('q'));
    assert!(a.quit);
    // Something else the user does in between asks again.
    let mut a = dirty();
    update(&mut a, ctrl_q());
    update(&mut a, Action::Down);
    update(&mut a, ctrl_q());
    assert!(!a.quit, "asked again after another key");
    update(&mut a, ctrl_q());
    assert!(a.quit);
}

#[test]
fn the_inspector_selects_filters_pauses_shows_and_copies_events() {
    let mut a = busy_app();
    while a.focus != Focus::Inspector {
        update(&mut a, Action::NextPane);
    }
    update(&mut a, Action::Up);
    update(&mut a, Action::Up);
    assert_eq!(a.inspector.current().unwrap().topic, "llm.response");
    update(&mut a, Action::Detail);
    let shown = picture(&a, 100, 30);
    assert!(
        shown.contains("llm.response (Up/Down/PgUp/PgDn scroll"),
        "{shown}"
    );
    assert!(shown.contains("\"model\": \"local/smollm2\""), "{shown}");
    let copied = update(&mut a, Action::Copy);
    let [Effect::Copy(text)] = &copied[..] else {
        panic!("{copied:?}")
    };
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(text).unwrap()["topic"],
        "llm.response"
    );
    update(&mut a, Action::Escape);
    assert!(!a.inspector.detail);
    update(&mut a, Action::NextFilter);
    update(&mut a, Action::PauseEvents);
    update(
        &mut a,
        Action::Event {
            topic: "llm.request".into(),
            data: json!({}),
            time_ms: 0,
        },
    );
    let shown = picture(&a, 100, 30);
    assert!(shown.contains("Events (5) llm.* paused"), "{shown}");
    assert_eq!(
        a.inspector.visible().len(),
        2,
        "frozen: the new event waits"
    );
    update(&mut a, Action::PauseEvents);
    assert_eq!(a.inspector.visible().len(), 3);
}

#[test]
fn at_a_pause_the_arguments_are_edited_as_json_and_sent_with_the_resume() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use llmspell::debug::{Pause, Resume, When};
    let mut a = app();
    update(
        &mut a,
        Action::Paused(Pause {
            when: When::Before,
            why: Why::Call,
            call: "llm.chat".into(),
            args: vec![json!("hi")],
            result: None,
            location: None,
            locals: vec![],
            stack: vec![],
            note: None,
        }),
    );
    update(&mut a, key('e'));
    let shown = picture(&a, 100, 30);
    assert!(shown.contains("Edit the arguments of llm.chat"), "{shown}");
    // Replace the whole text: select all is not needed, Ctrl+A/Ctrl+K-style
    // keys are the editor's; here: end of buffer, then type a new array.
    let ctrl = |c| Action::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL));
    for _ in 0..5 {
        update(&mut a, ctrl('k')); // delete to the end of the line
        update(&mut a, ctrl('d')); // and the line break
    }
    for c in "[\"hello there\"]".chars() {
        update(&mut a, key(c));
    }
    let f5 = Action::Key(KeyEvent::from(KeyCode::F(5)));
    assert_eq!(
        update(&mut a, f5.clone()),
        vec![Effect::Resume(
            Resume::Continue,
            Some(json!(["hello there"]))
        )]
    );
    assert!(a.paused.is_none() && a.pause_edit.is_none());
    // Text that is not JSON stays in the editor, still paused.
    update(
        &mut a,
        Action::Paused(Pause {
            when: When::After,
            why: Why::Step,
            call: "llm.chat".into(),
            args: vec![],
            result: Some(json!({"text": "x"})),
            location: None,
            locals: vec![],
            stack: vec![],
            note: None,
        }),
    );
    update(&mut a, key('e'));
    update(&mut a, key('{'));
    assert_eq!(update(&mut a, f5), vec![]);
    assert!(a.paused.is_some() && a.pause_edit.is_some());
    update(&mut a, Action::Escape);
    assert!(a.pause_edit.is_none() && a.paused.is_some());
}

#[test]
fn the_state_pane_edits_and_deletes_keys() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let dir = tempfile::tempdir().unwrap();
    let mut a = App::new(dir.path().to_path_buf(), vec![]);
    let runtime = llmspell::Runtime::new();
    let (tx, rx) = mpsc::channel();
    let mut run = None;
    let mut carry = |effects: Vec<Effect>, a: &mut App| {
        for e in effects {
            carry_out(e, &runtime, &tx, &mut run);
        }
        while let Ok(action) = rx.recv_timeout(Duration::from_millis(200)) {
            update(a, action);
        }
    };
    // Seed two keys through the IDE itself.
    let dir_path = dir.path().to_path_buf();
    carry(
        vec![
            Effect::SetState(dir_path.clone(), "a".into(), json!(1)),
            Effect::SetState(dir_path.clone(), "b".into(), json!({"x": true})),
        ],
        &mut a,
    );
    assert_eq!(
        a.state,
        [
            ("a".to_owned(), json!(1)),
            ("b".to_owned(), json!({"x": true}))
        ]
    );
    while a.focus != Focus::State {
        update(&mut a, Action::NextPane);
    }
    // Edit a: its JSON opens; replace it and set it with Ctrl+S.
    update(&mut a, key('e'));
    assert!(picture(&a, 100, 30).contains("a: Ctrl+S sets, Esc drops"));
    let ctrl = |c| Action::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL));
    update(&mut a, ctrl('k'));
    for c in "[1, 2]".chars() {
        update(&mut a, key(c));
    }
    let effects = update(&mut a, ctrl('s'));
    assert_eq!(
        effects,
        vec![Effect::SetState(
            dir_path.clone(),
            "a".into(),
            json!([1, 2])
        )]
    );
    carry(effects, &mut a);
    assert_eq!(a.state[0], ("a".to_owned(), json!([1, 2])));
    // Delete b: the first D asks, another key keeps it, D twice deletes.
    update(&mut a, Action::Down);
    assert_eq!(update(&mut a, key('D')), vec![]);
    assert!(picture(&a, 100, 30).contains("D again deletes state key \"b\""));
    update(&mut a, Action::Up);
    update(&mut a, Action::Down);
    assert_eq!(update(&mut a, key('D')), vec![], "asked again after moving");
    let effects = update(&mut a, key('D'));
    assert_eq!(effects, vec![Effect::DeleteState(dir_path, "b".into())]);
    carry(effects, &mut a);
    assert_eq!(a.state, [("a".to_owned(), json!([1, 2]))]);
}

#[test]
fn a_repl_per_engine_keeps_state_history_and_shows_values() {
    use crossterm::event::{KeyCode, KeyEvent};
    let dir = tempfile::tempdir().unwrap();
    let mut a = App::new(dir.path().to_path_buf(), vec![]);
    let (tx, rx) = mpsc::channel();
    let mut repls = llmspell_tui::repl::Repls::default();
    let runtime = llmspell::Runtime::new();
    let enter = || Action::Key(KeyEvent::from(KeyCode::Enter));
    // The first visit to a tab reads its saved history and starts the REPL.
    assert_eq!(
        update(&mut a, Action::NextTab),
        vec![
            Effect::LoadHistory(dir.path().into(), llmspell::EngineKind::Lua),
            Effect::OpenRepl(llmspell::EngineKind::Lua)
        ]
    );
    repls.open(llmspell::EngineKind::Lua, dir.path(), &runtime, &tx);
    let mut submit = |a: &mut App, text: &str| {
        for c in text.chars() {
            update(a, key(c));
        }
        for effect in update(a, enter()) {
            let Effect::ReplEval(kind, entry) = effect else {
                panic!("{effect:?}")
            };
            repls.eval(kind, dir.path(), &runtime, entry, &tx);
        }
    };
    update(
        &mut a,
        Action::History(llmspell::EngineKind::Lua, vec!["old = 1".into()]),
    );
    assert!(a.repl_typing(), "F2 focuses the REPL it turns to");
    submit(&mut a, "x = 20");
    submit(&mut a, "print('p'); return x + 1");
    let want = ["=> 21"];
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(action) = rx.recv_timeout(Duration::from_millis(100)) {
            update(&mut a, action);
        }
        let log: Vec<&String> = a.repl_log[&llmspell::EngineKind::Lua]
            .lines
            .iter()
            .collect();
        if log.iter().any(|l| want.contains(&l.as_str())) {
            assert_eq!(
                log,
                ["> x = 20", "> print('p'); return x + 1", "p", "=> 21"],
                "state kept between entries"
            );
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{log:?}");
    }
    assert!(picture(&a, 100, 30).contains("Lua REPL"));
    // Up recalls the last entry, then the one before.
    update(&mut a, Action::Key(KeyEvent::from(KeyCode::Up)));
    assert_eq!(a.repl_input.text(), "print('p'); return x + 1");
    update(&mut a, Action::Key(KeyEvent::from(KeyCode::Up)));
    assert_eq!(a.repl_input.text(), "x = 20");
    update(&mut a, Action::Key(KeyEvent::from(KeyCode::Up)));
    assert_eq!(a.repl_input.text(), "old = 1", "saved history comes first");
    update(&mut a, Action::Key(KeyEvent::from(KeyCode::Down)));
    update(&mut a, Action::Key(KeyEvent::from(KeyCode::Down)));
    update(&mut a, Action::Key(KeyEvent::from(KeyCode::Down)));
    assert_eq!(a.repl_input.text(), "");
    // The entries were saved where `llmspell repl` keeps its history.
    let saved = llmspell_tui::repl::history_file(dir.path(), llmspell::EngineKind::Lua);
    assert_eq!(
        llmspell_tui::repl::load_history(&saved),
        ["x = 20", "print('p'); return x + 1"]
    );

    // Tab completes the REPL's globals and bridge functions, which the
    // REPL sent when it started.
    assert!(
        a.completions.iter().any(|c| c == "llm.chat"),
        "{:?}",
        a.completions
    );
    let tab = || Action::Key(KeyEvent::from(KeyCode::Tab));
    for c in "json.d".chars() {
        update(&mut a, key(c));
    }
    update(&mut a, tab());
    assert_eq!(a.repl_input.text(), "json.decode");
    // Several fit: as far as they agree, and the status bar lists them.
    a.repl_input = llmspell_tui::editor::Editor::input("");
    for c in "x = state.".chars() {
        update(&mut a, key(c));
    }
    update(&mut a, tab());
    assert_eq!(a.repl_input.text(), "x = state.");
    let listed = a.notice.clone().unwrap_or_default();
    assert!(
        listed.contains("state.get") && listed.contains("state.set"),
        "{listed}"
    );
    // Nothing before the cursor: Tab is still the next pane; Esc leaves too.
    a.repl_input = llmspell_tui::editor::Editor::input("");
    update(&mut a, tab());
    assert_eq!(a.focus, Focus::Inspector);
    a.focus = Focus::Output;
    update(&mut a, Action::Key(KeyEvent::from(KeyCode::Esc)));
    assert_eq!(a.focus, Focus::Spells);
}

#[test]
fn a_click_focuses_the_pane_under_it() {
    let mut a = app();
    update(&mut a, Action::Resize(120, 40));
    let panes = llmspell_tui::layout::panes(
        ratatui::layout::Rect::new(0, 0, 120, 40),
        llmspell_tui::layout::Sizes::default(),
    );
    for (rect, want) in [
        (panes[4], Focus::State),
        (panes[1], Focus::Editor),
        (panes[3], Focus::Inspector),
        (panes[2], Focus::Output),
        (panes[0], Focus::Spells),
    ] {
        update(&mut a, Action::Click(rect.x + 2, rect.y + 1));
        assert_eq!(a.focus, want);
    }
    // The status bar is no pane: focus stays.
    update(&mut a, Action::Click(5, 39));
    assert_eq!(a.focus, Focus::Spells);
}

#[test]
fn alt_arrows_resize_the_focused_pane_and_clicks_follow() {
    use crossterm::event::KeyModifiers;
    use llmspell_tui::layout::{panes, Sizes};
    let mut a = app();
    update(&mut a, Action::Resize(120, 40));
    let alt = |code| Action::Key(KeyEvent::new(code, KeyModifiers::ALT));
    let screen = ratatui::layout::Rect::new(0, 0, 120, 40);
    let before = panes(screen, a.sizes);
    a.focus = Focus::Editor;
    // Wider: the editor takes from the right column; the typing is not hurt.
    update(&mut a, alt(KeyCode::Right));
    update(&mut a, alt(KeyCode::Right));
    let wider = panes(screen, a.sizes);
    assert!(wider[1].width > before[1].width && wider[3].width < before[3].width);
    assert_eq!(a.editor.text(), "");
    // Taller: the editor takes from the output below it.
    update(&mut a, alt(KeyCode::Down));
    let taller = panes(screen, a.sizes);
    assert!(taller[1].height > wider[1].height && taller[2].height < wider[2].height);
    // Never smaller than a tenth.
    a.focus = Focus::Spells;
    for _ in 0..40 {
        update(&mut a, alt(KeyCode::Left));
    }
    assert_eq!(a.sizes.spells, 10);
    // A click lands in the pane where it is drawn now.
    let now = panes(screen, a.sizes);
    update(&mut a, Action::Click(now[2].x + 1, now[2].y + 1));
    assert_eq!(a.focus, Focus::Output);
    assert_ne!(a.sizes, Sizes::default());
    insta::assert_snapshot!("resized_80x24", picture(&a, 80, 24));
}

#[test]
fn ctrl_n_makes_a_new_spell_and_capital_b_takes_typed_patterns() {
    use crossterm::event::KeyModifiers;
    let mut a = app();
    let typed = |a: &mut App, text: &str| {
        for c in text.chars() {
            update(a, key(c));
        }
        update(a, Action::Key(KeyEvent::from(KeyCode::Enter)))
    };
    let ctrl_n = || Action::Key(KeyEvent::new(KeyCode::Char('n'), KeyModifiers::CONTROL));
    update(&mut a, ctrl_n());
    assert!(picture(&a, 80, 24).contains("new spell (name.lua"));
    assert_eq!(typed(&mut a, "notes.txt"), vec![]);
    assert!(a
        .notice
        .as_deref()
        .unwrap_or_default()
        .contains(".lua, .js or .rhai"));
    assert!(a.prompt.is_none());
    // Esc gives up on the question.
    update(&mut a, ctrl_n());
    update(&mut a, key('x'));
    update(&mut a, Action::Key(KeyEvent::from(KeyCode::Esc)));
    assert!(a.prompt.is_none());
    // Ctrl+N works from inside the editor too; the new spell opens there.
    a.focus = Focus::Editor;
    update(&mut a, ctrl_n());
    assert_eq!(
        typed(&mut a, "ask.rhai"),
        vec![
            Effect::Create("/project/ask.rhai".into()),
            Effect::Load("/project/ask.rhai".into())
        ]
    );
    opened(&mut a, String::new());
    assert_eq!(a.spell_name(), Some("ask.rhai"));
    assert_eq!(a.focus, Focus::Editor);

    // B asks for patterns; a debug run then pauses at those.
    a.focus = Focus::Spells;
    update(&mut a, key('B'));
    assert!(picture(&a, 80, 24).contains("pause before"));
    for _ in 0..3 {
        update(&mut a, Action::Key(KeyEvent::from(KeyCode::Backspace)));
    }
    typed(&mut a, "tool.*, state.set");
    assert!(a.debug);
    assert_eq!(a.break_on, "tool.*, state.set");
    assert!(picture(&a, 80, 24).contains("[debug tool.*, state.set]"));
    assert_eq!(
        update(&mut a, Action::Run),
        vec![Effect::Start(Launch::new(
            "/project/ask.rhai".into(),
            Some(debug("tool.*, state.set"))
        ))]
    );
    // b goes back to the presets.
    update(&mut a, Action::NextBreakPattern);
    assert_eq!(a.break_on, "*");
}

#[test]
fn new_spells_never_overwrite_and_a_bad_config_is_reported_when_saved() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = llmspell::Runtime::new();
    let (tx, rx) = mpsc::channel();
    let mut run = None;
    let next = || rx.recv_timeout(Duration::from_secs(10)).expect("an action");
    let spell = dir.path().join("new.lua");
    carry_out(Effect::Create(spell.clone()), &runtime, &tx, &mut run);
    assert!(matches!(next(), Action::Notice(n) if n.starts_with("created")));
    assert_eq!(std::fs::read_to_string(&spell).unwrap(), "");
    std::fs::write(&spell, "return 1\n").unwrap();
    carry_out(Effect::Create(spell.clone()), &runtime, &tx, &mut run);
    assert!(matches!(next(), Action::Notice(n) if n.contains("there already")));
    assert_eq!(std::fs::read_to_string(&spell).unwrap(), "return 1\n");

    // Saving llmspell.toml checks it at once.
    let mut a = App::new(dir.path().into(), vec!["new.lua".into()]);
    let toml = dir.path().join("llmspell.toml");
    std::fs::write(&toml, "[limits]\ntimeout_secs = \"soon\"\n").unwrap();
    let effects = update(&mut a, Action::Changed(vec![toml.clone()]));
    assert!(
        effects.contains(&Effect::CheckConfig(dir.path().into())),
        "{effects:?}"
    );
    carry_out(
        Effect::CheckConfig(dir.path().into()),
        &runtime,
        &tx,
        &mut run,
    );
    let Action::Notice(n) = next() else { panic!() };
    assert!(
        n.starts_with("config.invalid") && n.contains("llmspell.toml"),
        "{n}"
    );
    std::fs::write(&toml, "[limits]\ntimeout_secs = 5\n").unwrap();
    carry_out(
        Effect::CheckConfig(dir.path().into()),
        &runtime,
        &tx,
        &mut run,
    );
    assert!(matches!(next(), Action::Notice(n) if n.contains("next run uses it")));
}

#[test]
fn typed_patterns_and_line_breakpoints_pause_a_real_run() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.lua");
    std::fs::write(
        &file,
        "state.set(\"a\", 1)\nlocal x = 2\nprint(\"x\")\nreturn state.get(\"a\") + x",
    )
    .unwrap();
    let runtime = llmspell::Runtime::new();
    let (tx, rx) = mpsc::channel();
    let mut run = None;
    let next_pause = || loop {
        match rx.recv_timeout(Duration::from_secs(10)).expect("an action") {
            Action::Paused(p) => return p,
            Action::Finished { result, .. } => panic!("ended: {result:?}"),
            _ => {}
        }
    };
    let breaks = llmspell_tui::app::Breaks {
        pattern: Some("print, state.get".into()),
        lines: vec![Breakpoint::at(2)],
        errors: false,
    };
    carry_out(
        Effect::Start(Launch::new(file, Some(breaks))),
        &runtime,
        &tx,
        &mut run,
    );
    let p = next_pause();
    assert_eq!((p.when, p.location.clone().unwrap().line), (When::Line, 2));
    let go = llmspell::debug::Resume::Continue;
    carry_out(Effect::Resume(go, None), &runtime, &tx, &mut run);
    let p = next_pause();
    assert_eq!(p.call, "print");
    assert!(p.locals.contains(&("x".into(), json!(2))), "{:?}", p.locals);
    carry_out(Effect::Resume(go, None), &runtime, &tx, &mut run);
    assert_eq!(next_pause().call, "state.get");
    carry_out(Effect::Resume(go, None), &runtime, &tx, &mut run);
    loop {
        if let Action::Finished { result, .. } = rx.recv_timeout(Duration::from_secs(10)).unwrap() {
            assert_eq!(result, Ok(json!(3)));
            break;
        }
    }
}

#[test]
fn the_state_is_a_tree_of_folders_keys_and_fields() {
    use llmspell_tui::layout::{state_rows, StateRow};
    let state = vec![
        (
            "agent/notes".to_owned(),
            json!({"topic": "owls", "tags": ["a", "b"]}),
        ),
        ("agent/runs".to_owned(), json!(3)),
        ("greeting".to_owned(), json!("hi")),
        ("z/deep/key".to_owned(), json!([])),
    ];
    let rows: Vec<String> = state_rows(&state)
        .iter()
        .map(|r: &StateRow| {
            let key = r.key.map_or(String::new(), |k| format!(" #{k}"));
            let value = r
                .value
                .as_ref()
                .map_or(String::new(), |v| format!(" = {v}"));
            format!("{}{}{value}{key}", "  ".repeat(r.depth), r.label)
        })
        .collect();
    assert_eq!(
        rows,
        [
            "agent/",
            "  notes #0",
            "    tags",
            "      [0] = \"a\"",
            "      [1] = \"b\"",
            "    topic = \"owls\"",
            "  runs = 3 #1",
            "greeting = \"hi\" #2",
            "z/",
            "  deep/",
            "    key = [] #3",
        ]
    );
    // The pane: the selected key stays in view, fields are read-only rows.
    let mut a = app();
    update(&mut a, Action::State(state));
    a.focus = Focus::State;
    update(&mut a, Action::Down);
    update(&mut a, Action::Down);
    assert_eq!(a.state_selected, 2);
    let screen = picture(&a, 80, 24);
    assert!(
        screen.contains("topic = \"owls\"") && screen.contains("greeting = \"hi\""),
        "{screen}"
    );
    // A big value shows its first fields and counts the rest.
    let big: serde_json::Map<String, serde_json::Value> =
        (0..30).map(|i| (format!("f{i:02}"), json!(i))).collect();
    let rows = state_rows(&[("big".into(), serde_json::Value::Object(big))]);
    assert_eq!(rows.len(), 1 + 20 + 1);
    assert_eq!(rows.last().unwrap().label, "… 10 more");
}

#[test]
fn every_pane_in_its_other_modes_at_80x24_and_120x40() {
    use llmspell::debug::Pause;
    // The bottom pane at a pause before a call: its arguments and locals.
    let mut a = busy_app();
    update(
        &mut a,
        Action::Paused(Pause {
            when: When::Before,
            why: Why::Call,
            call: "llm.chat".into(),
            args: vec![json!("hi"), json!({"temperature": 0})],
            result: None,
            location: Some(llmspell::Location {
                file: "chat.js".into(),
                line: 1,
            }),
            locals: vec![("topic".into(), json!("owls"))],
            stack: vec![],
            note: None,
        }),
    );
    insta::assert_snapshot!("paused_before_80x24", picture(&a, 80, 24));
    insta::assert_snapshot!("paused_before_120x40", picture(&a, 120, 40));
    // A long reply after the call wraps: its end is on screen too.
    let mut long = busy_app();
    let text = format!("{} THE END", "word ".repeat(30));
    update(
        &mut long,
        Action::Paused(Pause {
            when: When::After,
            why: Why::Step,
            call: "llm.chat".into(),
            args: vec![],
            result: Some(json!({ "text": text })),
            location: None,
            locals: vec![],
            stack: vec![],
            note: None,
        }),
    );
    assert!(picture(&long, 80, 24).contains("THE END"));
    // Editing the arguments there.
    update(&mut a, Action::Edit);
    insta::assert_snapshot!("pause_edit_80x24", picture(&a, 80, 24));

    // The inspector's detail of an event, over the other panes.
    let mut d = busy_app();
    d.focus = Focus::Inspector;
    update(&mut d, Action::Up);
    update(&mut d, Action::Detail);
    insta::assert_snapshot!("event_detail_80x24", picture(&d, 80, 24));

    // The state pane editing a key.
    let mut e = busy_app();
    e.focus = Focus::State;
    update(&mut e, Action::Edit);
    insta::assert_snapshot!("state_edit_80x24", picture(&e, 80, 24));

    // A REPL tab with its transcript.
    let mut r = busy_app();
    update(&mut r, Action::NextTab);
    update(
        &mut r,
        Action::ReplLine(llmspell::EngineKind::Lua, "> 1 + 1".into()),
    );
    update(
        &mut r,
        Action::ReplLine(llmspell::EngineKind::Lua, "=> 2".into()),
    );
    insta::assert_snapshot!("repl_80x24", picture(&r, 80, 24));
    insta::assert_snapshot!("repl_120x40", picture(&r, 120, 40));
}

fn ctrl(c: char) -> Action {
    Action::Key(KeyEvent::new(
        KeyCode::Char(c),
        crossterm::event::KeyModifiers::CONTROL,
    ))
}

/// A project of a.lua, b.lua, c.lua with b.lua open and edited.
fn editing_b() -> App {
    let mut a = open_b();
    for c in "x = 1 ".chars() {
        update(&mut a, key(c));
    }
    a
}

/// A project of a.lua, b.lua, c.lua with b.lua open in the editor.
fn open_b() -> App {
    let mut a = App::new(
        PathBuf::from("/project"),
        vec!["a.lua".into(), "b.lua".into(), "c.lua".into()],
    );
    update(&mut a, Action::Down);
    opened(&mut a, "return 'b'\n".into());
    assert_eq!(a.spell_name(), Some("b.lua"));
    update(&mut a, Action::NextPane);
    a
}

#[test]
fn a_buffer_whose_file_is_deleted_keeps_its_text_name_and_file() {
    let b = PathBuf::from("/project/b.lua");
    for edited in [true, false] {
        let mut a = if edited { editing_b() } else { open_b() };
        let text = a.editor.text();
        // `rm b.lua`: the watcher's news, the list read again, the file read.
        assert_eq!(
            update(&mut a, Action::Changed(vec![b.clone()])),
            vec![Effect::Scan("/project".into()), Effect::Load(b.clone())]
        );
        update(&mut a, Action::Spells(vec!["a.lua".into(), "c.lua".into()]));
        update(&mut a, Action::Source(b.clone(), Read::Missing));
        assert_eq!(a.spell_name(), Some("b.lua"));
        assert_eq!(a.editor.text(), text, "the text stays");
        let screen = picture(&a, 100, 24);
        let mark = if edited { " ●" } else { "" };
        assert!(
            screen.contains(&format!("b.lua{mark} (deleted on disk)")),
            "{screen}"
        );
        assert!(screen.contains("b.lua (deleted)"), "still listed: {screen}");
        assert_eq!(a.spells[a.selected], "b.lua");
        assert!(a.editor.dirty(), "its text is on no disk");
        // Saving writes b.lua only, and only where nothing is now.
        let save = Effect::Save {
            path: b.clone(),
            text: text.clone(),
            over: Read::Missing,
            then_run: false,
        };
        assert_eq!(update(&mut a, ctrl('s')), vec![save]);
        // A run saves it first, then runs it.
        let run = update(&mut a, Action::Run);
        assert_eq!(
            run,
            vec![Effect::Save {
                path: b.clone(),
                text: text.clone(),
                over: Read::Missing,
                then_run: true
            }]
        );
        // Leaving it asks, and the same key again drops it.
        update(&mut a, Action::Escape);
        assert_eq!(update(&mut a, Action::Up), vec![]);
        assert!(a.notice.as_deref().unwrap().contains("Up/Down again drops"));
        assert_eq!(
            update(&mut a, Action::Up),
            vec![Effect::Load("/project/a.lua".into())]
        );
        assert_eq!(a.spell_name(), None);
        assert!(!a.editor.dirty());
    }
}

#[test]
fn news_of_another_file_never_lands_in_the_buffer() {
    let mut a = editing_b();
    let text = a.editor.text();
    // The list moves under the buffer (a file before it is gone): the
    // buffer stays b.lua's and a.lua's text never replaces it.
    update(&mut a, Action::Spells(vec!["b.lua".into(), "c.lua".into()]));
    update(
        &mut a,
        Action::Source("/project/a.lua".into(), Read::Text("return 'a'\n".into())),
    );
    update(
        &mut a,
        Action::Source("/project/c.lua".into(), Read::Text("return 'c'\n".into())),
    );
    assert_eq!(a.spell_name(), Some("b.lua"));
    assert_eq!(a.editor.text(), text);
    assert_eq!(
        update(&mut a, ctrl('s')),
        vec![Effect::Save {
            path: "/project/b.lua".into(),
            text,
            over: Read::Text("return 'b'\n".into()),
            then_run: false
        }]
    );
    // A save that reports back for another path changes nothing here.
    update(
        &mut a,
        Action::Saved {
            path: "/project/c.lua".into(),
            text: "?".into(),
            then_run: true,
        },
    );
    assert!(a.editor.dirty());
}

#[test]
fn a_file_that_is_not_text_is_shown_read_only_and_never_saved() {
    let mut a = App::new(PathBuf::from("/project"), vec!["bin.lua".into()]);
    let bin = PathBuf::from("/project/bin.lua");
    update(
        &mut a,
        Action::Source(
            bin.clone(),
            Read::Unreadable("not UTF-8 text (byte 0 is 0xff)".into()),
        ),
    );
    assert_eq!(a.spell_name(), Some("bin.lua"));
    let screen = picture(&a, 100, 24);
    assert!(screen.contains("bin.lua (not editable)"), "{screen}");
    assert!(screen.contains("byte 0 is 0xff"), "{screen}");
    update(&mut a, Action::NextPane);
    update(&mut a, key('x'));
    update(&mut a, Action::Key(KeyEvent::from(KeyCode::Enter)));
    assert_eq!(a.editor.text(), "");
    assert!(!a.editor.dirty());
    assert_eq!(update(&mut a, ctrl('s')), vec![]);
    assert!(a.notice.as_deref().unwrap().contains("never saved over"));
    // F5 runs the file as it is (and llmspell says what is wrong with it).
    assert_eq!(
        update(&mut a, Action::Run),
        vec![Effect::Start(Launch::new(bin.clone(), None))]
    );
    // Once the file is text again, it opens as text.
    update(&mut a, Action::Source(bin, Read::Text("return 1\n".into())));
    assert!(!a.editor.read_only);
    assert_eq!(a.editor.text(), "return 1\n");
}

#[test]
fn saving_over_a_change_on_disk_asks_overwrite_reload_or_cancel() {
    let b = PathBuf::from("/project/b.lua");
    let theirs = || Read::Text("return 'theirs'\n".into());
    for (answer, expect) in [('o', "ours"), ('r', "theirs"), ('x', "both")] {
        let mut a = editing_b();
        let ours = a.editor.text();
        update(&mut a, Action::Source(b.clone(), theirs()));
        assert_eq!(a.editor.text(), ours);
        assert!(picture(&a, 100, 24).contains("b.lua ● (changed on disk)"));
        assert_eq!(update(&mut a, ctrl('s')), vec![], "asks first");
        let asked = a.notice.clone().unwrap();
        assert!(asked.contains("o overwrites") && asked.contains("r reloads"));
        let effects = update(&mut a, key(answer));
        match expect {
            "ours" => assert_eq!(
                effects,
                vec![Effect::Save {
                    path: b.clone(),
                    text: ours.clone(),
                    over: theirs(),
                    then_run: false
                }]
            ),
            "theirs" => {
                assert_eq!(effects, vec![]);
                assert_eq!(a.editor.text(), "return 'theirs'\n");
                assert!(!a.editor.dirty());
            }
            _ => {
                assert_eq!(effects, vec![]);
                assert_eq!(a.editor.text(), ours, "the key typed nothing");
                assert!(a.notice.as_deref().unwrap().contains("not saved"));
                // Still asks next time.
                assert_eq!(update(&mut a, ctrl('s')), vec![]);
                assert!(a.notice.as_deref().unwrap().contains("o overwrites"));
            }
        }
    }
    // F5 over a change asks the same, then runs what was chosen.
    let mut a = editing_b();
    update(&mut a, Action::Source(b.clone(), theirs()));
    assert_eq!(update(&mut a, Action::Run), vec![]);
    assert_eq!(
        update(&mut a, key('r')),
        vec![Effect::Start(Launch::new(b.clone(), None))]
    );
    // A save the main loop refused (the file changed after the buffer
    // last heard) asks too.
    let mut a = editing_b();
    let effects = update(&mut a, ctrl('s'));
    assert_eq!(effects.len(), 1);
    update(
        &mut a,
        Action::NotSaved {
            path: b.clone(),
            found: theirs(),
            then_run: false,
        },
    );
    assert!(a.notice.as_deref().unwrap().contains("o overwrites"));
}

#[test]
fn the_main_loop_saves_only_over_what_the_buffer_knows_and_whole() {
    let dir = tempfile::tempdir().unwrap();
    let b = dir.path().join("b.lua");
    let runtime = llmspell::Runtime::new();
    let (tx, rx) = mpsc::channel();
    let mut run = None;
    let mut save = |over: Read| {
        let effect = Effect::Save {
            path: b.clone(),
            text: "ours\n".into(),
            over,
            then_run: false,
        };
        carry_out(effect, &runtime, &tx, &mut run);
        rx.recv_timeout(Duration::from_secs(5)).unwrap()
    };
    // Another program's text is not written over.
    std::fs::write(&b, "theirs\n").unwrap();
    let refused = save(Read::Text("before\n".into()));
    assert!(
        matches!(&refused, Action::NotSaved { found: Read::Text(t), .. } if t == "theirs\n"),
        "{refused:?}"
    );
    assert_eq!(std::fs::read_to_string(&b).unwrap(), "theirs\n");
    // Nor a file that came back after the buffer saw it go.
    assert!(matches!(save(Read::Missing), Action::NotSaved { .. }));
    // Nor bytes that are not text.
    std::fs::write(&b, b"\xff\xfe\x00\x01x").unwrap();
    let refused = save(Read::Text("theirs\n".into()));
    assert!(
        matches!(&refused, Action::NotSaved { found: Read::Unreadable(why), .. } if why.contains("UTF-8")),
        "{refused:?}"
    );
    assert_eq!(std::fs::read(&b).unwrap(), b"\xff\xfe\x00\x01x");
    // What the buffer knows is written, keeping the file's permissions.
    std::fs::write(&b, "theirs\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&b, std::fs::Permissions::from_mode(0o640)).unwrap();
    assert!(matches!(
        save(Read::Text("theirs\n".into())),
        Action::Saved { .. }
    ));
    assert_eq!(std::fs::read_to_string(&b).unwrap(), "ours\n");
    let mode = std::fs::metadata(&b).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
    // A deleted file is written back.
    std::fs::remove_file(&b).unwrap();
    assert!(matches!(save(Read::Missing), Action::Saved { .. }));
    assert_eq!(std::fs::read_to_string(&b).unwrap(), "ours\n");
    // Through a link, to what it points at: the link stays a link.
    let real = dir.path().join("real.lua");
    std::fs::write(&real, "ours\n").unwrap();
    std::fs::remove_file(&b).unwrap();
    std::os::unix::fs::symlink(&real, &b).unwrap();
    let effect = Effect::Save {
        path: b.clone(),
        text: "linked\n".into(),
        over: Read::Text("ours\n".into()),
        then_run: false,
    };
    carry_out(effect, &runtime, &tx, &mut run);
    assert!(matches!(
        rx.recv_timeout(Duration::from_secs(5)).unwrap(),
        Action::Saved { .. }
    ));
    assert!(std::fs::symlink_metadata(&b)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(std::fs::read_to_string(&real).unwrap(), "linked\n");
    // No temporary file is left beside.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    // A folder or an unreadable file is never read as its error's text.
    assert!(matches!(Read::file(dir.path()), Read::Unreadable(_)));
}

/// An IDE REPL as the binary drives it: the app, the REPL threads on the
/// IDE's runtime, and the bus forwarded as events.
struct ReplRig {
    a: App,
    repls: llmspell_tui::repl::Repls,
    runtime: llmspell::Runtime,
    tx: mpsc::Sender<Action>,
    rx: mpsc::Receiver<Action>,
    run: Option<llmspell_tui::effects::Running>,
}

impl ReplRig {
    fn new(dir: &std::path::Path) -> ReplRig {
        let runtime = llmspell::Runtime::new();
        let (tx, rx) = mpsc::channel();
        llmspell_tui::effects::forward_events(&runtime, tx.clone());
        ReplRig {
            a: App::new(dir.to_path_buf(), vec![]),
            repls: Default::default(),
            runtime,
            tx,
            rx,
            run: None,
        }
    }

    fn act(&mut self, action: Action) {
        let effects = update(&mut self.a, action);
        self.carry(effects);
    }

    fn carry(&mut self, effects: Vec<Effect>) {
        let dir = self.a.dir.clone();
        for effect in effects {
            match effect {
                Effect::ReplEval(kind, line) => {
                    self.repls.eval(kind, &dir, &self.runtime, line, &self.tx)
                }
                Effect::ReplStop(kind) => self.repls.interrupt(kind),
                Effect::OpenRepl(kind) => self.repls.open(kind, &dir, &self.runtime, &self.tx),
                other => carry_out(other, &self.runtime, &self.tx, &mut self.run),
            }
        }
    }

    fn submit(&mut self, text: &str) {
        for c in text.chars() {
            self.act(key(c));
        }
        self.act(Action::Key(KeyEvent::from(KeyCode::Enter)));
    }

    /// Applies what comes back until `done` holds (ten seconds at most).
    fn until(&mut self, what: &str, done: impl Fn(&App) -> bool) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !done(&self.a) {
            if let Ok(action) = self.rx.recv_timeout(Duration::from_millis(50)) {
                self.act(action);
            }
            let log = self.a.tab.and_then(|k| self.a.repl_log.get(&k));
            assert!(std::time::Instant::now() < deadline, "{what}: {log:?}");
        }
    }

    fn log(&self) -> Vec<String> {
        let kind = self.a.tab.unwrap();
        self.a
            .repl_log
            .get(&kind)
            .map_or(Vec::new(), |l| l.lines.iter().cloned().collect())
    }
}

#[test]
fn an_ide_repl_continues_unfinished_entries_reaches_the_bus_and_stops_on_ctrl_c() {
    use llmspell::EngineKind::{Js, Lua, Rhai};
    use llmspell_tui::app::ReplState;
    let dir = tempfile::tempdir().unwrap();
    let mut rig = ReplRig::new(dir.path());
    // Each engine's way to open a loop, its body, its end; a state write;
    // and a loop that never ends.
    let cases = [
        (
            Lua,
            "for i = 1, 3 do",
            "print('i=' .. i)",
            "end",
            "state.set('k', 'lua')",
            "while true do end",
        ),
        (
            Js,
            "for (let i = 1; i <= 3; i++) {",
            "print('i=' + i)",
            "}",
            "state.set('k', 'js')",
            "for (;;) {}",
        ),
        (
            Rhai,
            "for i in 1..4 {",
            "print(`i=${i}`);",
            "}",
            "state.set(\"k\", \"rhai\")",
            "loop { }",
        ),
    ];
    for (kind, open, body, close, write, endless) in cases {
        rig.act(Action::NextTab);
        assert_eq!(rig.a.tab, Some(kind));
        assert!(rig.a.repl_typing());
        rig.until("started", |a| !a.completions.is_empty());
        rig.a.completions.clear();
        // An unfinished entry waits for its next lines, and says so.
        rig.submit(open);
        rig.until("waits for more", |a| {
            a.repl_state.get(&kind) == Some(&ReplState::Unfinished)
        });
        assert!(picture(&rig.a, 100, 30).contains("unfinished"), "{kind}");
        rig.submit(body);
        rig.submit(close);
        rig.until("runs the whole entry", |a| {
            a.repl_log[&kind].lines.iter().any(|l| l == "i=3")
        });
        let log = rig.log();
        assert_eq!(
            log,
            [
                format!("> {open}"),
                format!(". {body}"),
                format!(". {close}"),
                "i=1".into(),
                "i=2".into(),
                "i=3".into()
            ],
            "{kind}"
        );
        // The whole entry is one history entry, as `llmspell repl` keeps it.
        let saved = llmspell_tui::repl::history_file(dir.path(), kind);
        assert_eq!(
            llmspell_tui::repl::load_history(&saved),
            [format!("{open}\n{body}\n{close}")],
            "{kind}"
        );
        // A bridge call reaches the Events and the State panes.
        rig.a.inspector = Default::default();
        rig.submit(write);
        let want = kind.to_string();
        rig.until("the state pane shows the write", |a| {
            a.state.iter().any(|(k, v)| k == "k" && v == want.as_str())
        });
        assert!(
            rig.a
                .inspector
                .events
                .iter()
                .any(|e| e.topic.starts_with("state.")),
            "{kind}: no state event in the inspector"
        );
        // Ctrl+C stops a running entry; the REPL lives on with its state.
        rig.submit(endless);
        let running = ReplState::Busy(endless.into());
        rig.until("busy", |a| a.repl_state.get(&kind) == Some(&running));
        assert!(picture(&rig.a, 100, 30).contains("running: Ctrl+C stops it"));
        rig.act(ctrl('c'));
        rig.until("stopped", |a| {
            a.repl_state.get(&kind) == Some(&ReplState::Ready)
        });
        assert!(
            rig.log().iter().any(|l| l.contains("stop")),
            "{kind}: {:?}",
            rig.log()
        );
        // Ctrl+C also drops an unfinished entry.
        rig.submit(open);
        rig.until("waits", |a| {
            a.repl_state.get(&kind) == Some(&ReplState::Unfinished)
        });
        rig.act(ctrl('c'));
        rig.until("dropped", |a| {
            a.repl_state.get(&kind) == Some(&ReplState::Ready)
        });
        rig.submit("1 + 1");
        rig.until("the next entry runs", |a| {
            a.repl_log[&kind].lines.back().map(String::as_str) == Some("=> 2")
        });
        rig.act(Action::Escape);
    }
    // Ctrl+C with nothing running clears what is typed.
    rig.act(Action::NextTab);
    rig.act(Action::NextTab);
    for c in "half typed".chars() {
        rig.act(key(c));
    }
    rig.act(ctrl('c'));
    assert_eq!(rig.a.repl_input.text(), "");
}

/// Runs `spell` (named `name`) in the IDE with the real effects, until it
/// ends; what the app then holds.
fn run_real(name: &str, spell: &str) -> App {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(name), spell).unwrap();
    let mut a = App::new(dir.path().to_path_buf(), vec![name.into()]);
    let path = a.selected_path().unwrap();
    update(&mut a, Action::Source(path, Read::Text(spell.into())));
    run_open(&mut a);
    a
}

#[test]
fn output_keeps_newlines_and_tabs_names_each_run_and_ends_with_its_result() {
    let cases = [
        (
            "p.lua",
            "print('a\\nb')\nprint('x', 'y')\nprint('tab\\there')\nreturn {n = 1, list = {1, 2}}",
            "x\ty",
        ),
        (
            "p.js",
            "print('a\\nb');\nprint('x', 'y');\nprint('tab\\there');\nexport default {n: 1, list: [1, 2]};",
            "x y",
        ),
        (
            "p.rhai",
            "print(\"a\\nb\");\nprint(`x ${\"y\"}`);\nprint(\"tab\\there\");\n#{n: 1, list: [1, 2]}",
            "x y",
        ),
    ];
    for (name, spell, two) in cases {
        let a = run_real(name, spell);
        let lines: Vec<&str> = a.output.lines.iter().map(String::as_str).collect();
        assert!(
            lines[0].starts_with(&format!("── {name} · ")) && lines[0].ends_with(" ──"),
            "{name}: {lines:?}"
        );
        assert_eq!(
            lines[1..],
            [
                "a",
                "b",
                two,
                "tab\there",
                "=> {",
                "  \"list\": [",
                "    1,",
                "    2",
                "  ],",
                "  \"n\": 1",
                "}"
            ],
            "{name}"
        );
        let screen = picture(&a, 100, 60);
        assert!(
            screen.contains("│tab     here"),
            "{name}: tabs show as spaces\n{screen}"
        );
        assert!(screen.contains("│a ") && screen.contains("│b "), "{screen}");
    }
    // An error is shown whole at the end too.
    let a = run_real("e.lua", "print('before')\nerror('it broke')");
    let all = a.output.since_mark();
    assert!(all.contains("\nbefore\n"), "{all}");
    assert!(
        all.contains("it broke") && all.ends_with("e.lua:2"),
        "{all}"
    );
    // A JavaScript rejection nothing handled fails the run, shown so, and
    // a timer left pending runs first.
    let a = run_real(
        "r.js",
        "setTimeout(() => print('timer'), 5);\nPromise.reject(new Error('nobody caught this'));",
    );
    let all = a.output.since_mark();
    assert!(
        all.contains("unhandled rejection: nobody caught this") && all.ends_with("r.js:2"),
        "{all}"
    );
    assert!(
        !all.contains("timer"),
        "the run ended at the rejection: {all}"
    );
}

#[test]
fn the_output_pane_scrolls_wraps_clears_and_copies_the_last_run() {
    let mut a = app();
    a.screen = ratatui::layout::Rect::new(0, 0, 100, 30);
    update(&mut a, Action::Run);
    for i in 1..=50 {
        update(&mut a, Action::Output(format!("line {i}")));
    }
    update(
        &mut a,
        Action::Output(format!("long {}", "word ".repeat(40))),
    );
    while a.focus != Focus::Output {
        update(&mut a, Action::NextPane);
    }
    let (width, room) = a.bottom_room();
    let shown = picture(&a, 100, 30);
    assert!(
        shown.contains("line 50") && !shown.contains("line 40 "),
        "{shown}"
    );
    // The long line wraps: all forty words are on screen.
    assert_eq!(shown.matches("word").count(), 40, "{shown}");
    assert!(width < 200);
    // Up a row at a time, a page, then Home; the title says it holds still.
    update(&mut a, Action::Up);
    update(&mut a, Action::PageUp);
    let up = picture(&a, 100, 30);
    assert!(up.contains("Output (scrolled: End follows again)"), "{up}");
    assert!(!up.contains("line 50"), "{up}");
    // Output arriving now does not move the view.
    update(&mut a, Action::Output("newest".into()));
    assert_eq!(picture(&a, 100, 30), up);
    update(&mut a, Action::Home);
    let top = picture(&a, 100, 30);
    assert!(
        top.contains("── agent.rhai · HH:MM:SS ──") && top.contains("line 1 "),
        "{top}"
    );
    // PageDown goes on by a page less a row: the last row stays in sight.
    let last_row = a.output.view(width, room).last().cloned().unwrap();
    update(&mut a, Action::PageDown);
    assert_eq!(a.output.view(width, room)[0], last_row);
    // End follows again.
    update(&mut a, Action::Follow);
    assert!(a.output.scroll.following());
    assert!(picture(&a, 100, 30).contains("newest"));
    // The wheel over the pane scrolls it, whichever pane has the focus.
    a.focus = Focus::Spells;
    let [_, _, output, ..] = llmspell_tui::layout::panes(a.screen, a.sizes);
    update(&mut a, Action::Wheel(output.x + 2, output.y + 2, true));
    assert!(!a.output.scroll.following());
    update(&mut a, Action::Wheel(output.x + 2, output.y + 2, false));
    assert!(a.output.scroll.following());
    // y copies the last run's output, from its separator on.
    ended_ok(&mut a);
    update(&mut a, Action::Run);
    update(&mut a, Action::Output("second run".into()));
    a.focus = Focus::Output;
    let copied = update(&mut a, key('y'));
    let [Effect::Copy(text)] = &copied[..] else {
        panic!("{copied:?}")
    };
    assert!(
        text.starts_with("── agent.rhai · ") && text.ends_with(" ──\nsecond run"),
        "{text}"
    );
    assert!(!text.contains("line 1"));
    // Ctrl+L clears it.
    update(&mut a, ctrl('l'));
    assert!(a.output.lines.is_empty());
    assert!(!picture(&a, 100, 30).contains("second run"));
}

/// `name` open in the editor, focused, holding `text`.
fn editing(name: &str, text: &str) -> App {
    let mut a = App::new(PathBuf::from("/project"), vec![name.into()]);
    opened(&mut a, text.into());
    update(&mut a, Action::NextPane);
    assert_eq!(a.focus, Focus::Editor);
    a
}

fn press(a: &mut App, code: KeyCode, modifiers: crossterm::event::KeyModifiers) -> Vec<Effect> {
    update(a, Action::Key(KeyEvent::new(code, modifiers)))
}

fn cursor(a: &App) -> (usize, usize) {
    let ratatui_textarea::DataCursor(row, col) = a.editor.area.cursor();
    (row, col)
}

fn typed(a: &mut App, text: &str) {
    for c in text.chars() {
        update(a, key(c));
    }
}

#[test]
fn the_editor_pages_jumps_and_goes_to_a_line() {
    use crossterm::event::KeyModifiers as M;
    let text: String = (1..=200).map(|i| format!("line{i} = {i}\n")).collect();
    let mut a = editing("long.lua", &text);
    let rows = a.editor_height();
    assert!(rows > 3 && rows < 100, "{rows}");
    press(&mut a, KeyCode::PageDown, M::NONE);
    assert_eq!(cursor(&a).0, rows, "a page down");
    assert!(picture(&a, 80, 24).contains(&format!("line{} =", rows + 1)));
    press(&mut a, KeyCode::PageDown, M::NONE);
    press(&mut a, KeyCode::PageUp, M::NONE);
    assert_eq!(cursor(&a).0, rows, "and back up a page, not to line 1");
    press(&mut a, KeyCode::End, M::CONTROL);
    assert_eq!(cursor(&a).0, 199);
    assert!(picture(&a, 80, 24).contains("line200 = 200"));
    press(&mut a, KeyCode::Home, M::CONTROL);
    assert_eq!(cursor(&a), (0, 0));
    // Ctrl+G asks for a line and goes there.
    press(&mut a, KeyCode::Char('g'), M::CONTROL);
    assert!(picture(&a, 80, 24).contains("go to line:"));
    typed(&mut a, "150");
    update(&mut a, Action::Key(KeyEvent::from(KeyCode::Enter)));
    assert_eq!(cursor(&a), (149, 0));
    assert!(picture(&a, 80, 24).contains("line150 = 150"));
    press(&mut a, KeyCode::Char('g'), M::CONTROL);
    typed(&mut a, "x");
    update(&mut a, Action::Key(KeyEvent::from(KeyCode::Enter)));
    assert!(a
        .notice
        .as_deref()
        .unwrap_or("")
        .contains("give a line number"));
    assert_eq!(cursor(&a), (149, 0));
    assert!(!a.editor.dirty(), "moving never edits");
}

#[test]
fn the_editor_finds_marks_and_replaces() {
    use crossterm::event::KeyModifiers as M;
    let mut a = editing(
        "f.js",
        "const needle = 1;\nlet hay = 2;\nprint(needle + hay);\n",
    );
    press(&mut a, KeyCode::Char('f'), M::CONTROL);
    typed(&mut a, "needle");
    // Marked as it is typed.
    assert_eq!(style_of(&a, "needle").bg, Some(a.theme.found));
    update(&mut a, Action::Key(KeyEvent::from(KeyCode::Enter)));
    assert_eq!(a.editor.area.selection_range(), Some(((0, 6), (0, 12))));
    press(&mut a, KeyCode::F(3), M::NONE);
    assert_eq!(a.editor.area.selection_range(), Some(((2, 6), (2, 12))));
    press(&mut a, KeyCode::F(3), M::NONE);
    assert_eq!(cursor(&a).0, 0, "round the end");
    press(&mut a, KeyCode::F(3), M::SHIFT);
    assert_eq!(a.editor.area.selection_range(), Some(((2, 6), (2, 12))));
    // Typing over the selected match replaces it.
    typed(&mut a, "pin");
    assert_eq!(a.editor.area.lines()[2], "print(pin + hay);");
    // Not there: it says so.
    press(&mut a, KeyCode::Char('f'), M::CONTROL);
    press(&mut a, KeyCode::Char('u'), M::CONTROL);
    for _ in 0..20 {
        press(&mut a, KeyCode::Backspace, M::NONE);
    }
    typed(&mut a, "nowhere");
    update(&mut a, Action::Key(KeyEvent::from(KeyCode::Enter)));
    assert!(
        a.notice.as_deref().unwrap_or("").contains("is not in f.js"),
        "{:?}",
        a.notice
    );
    // Esc stops the marks, then leaves the editor.
    update(&mut a, Action::Key(KeyEvent::from(KeyCode::Esc)));
    assert_eq!((a.find.clone(), a.focus), (None, Focus::Editor));
    // Ctrl+H replaces every match, as one undo step.
    press(&mut a, KeyCode::Char('h'), M::CONTROL);
    typed(&mut a, "hay");
    update(&mut a, Action::Key(KeyEvent::from(KeyCode::Enter)));
    assert!(picture(&a, 100, 30).contains("replace every match with:"));
    typed(&mut a, "straw");
    update(&mut a, Action::Key(KeyEvent::from(KeyCode::Enter)));
    assert_eq!(
        a.notice.as_deref(),
        Some("replaced 2 of \"hay\" with \"straw\"")
    );
    assert_eq!(
        a.editor.text(),
        "const needle = 1;\nlet straw = 2;\nprint(pin + straw);\n"
    );
    press(&mut a, KeyCode::Char('z'), M::CONTROL);
    assert_eq!(
        a.editor.text(),
        "const needle = 1;\nlet hay = 2;\nprint(pin + hay);\n"
    );
}

#[test]
fn the_editor_indents_selects_copies_pastes_and_comments() {
    use crossterm::event::KeyModifiers as M;
    let mut a = editing("t.lua", "a = 1\nb = 2\nc = 3");
    // Tab indents here (it no longer leaves the editor).
    press(&mut a, KeyCode::Tab, M::NONE);
    assert_eq!(a.focus, Focus::Editor);
    assert_eq!(a.editor.area.lines()[0], "    a = 1");
    // A selection over two lines: Tab indents both, Shift+Tab outdents.
    press(&mut a, KeyCode::Down, M::SHIFT);
    press(&mut a, KeyCode::Down, M::SHIFT);
    press(&mut a, KeyCode::Tab, M::NONE);
    assert_eq!(
        a.editor.area.lines(),
        ["        a = 1", "    b = 2", "    c = 3"]
    );
    press(&mut a, KeyCode::BackTab, M::SHIFT);
    press(&mut a, KeyCode::BackTab, M::SHIFT);
    assert_eq!(a.editor.area.lines(), ["a = 1", "b = 2", "c = 3"]);
    // Ctrl+/ (Ctrl+7 from a terminal) comments the lines out and back.
    press(&mut a, KeyCode::Char('7'), M::CONTROL);
    assert_eq!(a.editor.area.lines(), ["-- a = 1", "-- b = 2", "-- c = 3"]);
    press(&mut a, KeyCode::Char('/'), M::CONTROL);
    assert_eq!(a.editor.area.lines(), ["a = 1", "b = 2", "c = 3"]);
    // Shift+arrows select; Ctrl+C copies (to the terminal's clipboard too).
    press(&mut a, KeyCode::Home, M::CONTROL);
    for _ in 0..5 {
        press(&mut a, KeyCode::Right, M::SHIFT);
    }
    let copied = press(&mut a, KeyCode::Char('c'), M::CONTROL);
    assert_eq!(copied, vec![Effect::Copy("a = 1".into())]);
    assert!(!a.editor.dirty(), "copy changes nothing");
    // Ctrl+X cuts; Ctrl+V pastes at the cursor.
    press(&mut a, KeyCode::Down, M::NONE);
    press(&mut a, KeyCode::Home, M::NONE);
    press(&mut a, KeyCode::End, M::SHIFT);
    let cut = press(&mut a, KeyCode::Char('x'), M::CONTROL);
    assert_eq!(cut, vec![Effect::Copy("b = 2".into())]);
    assert_eq!(a.editor.area.lines(), ["a = 1", "", "c = 3"]);
    press(&mut a, KeyCode::Down, M::NONE);
    press(&mut a, KeyCode::End, M::NONE);
    press(&mut a, KeyCode::Char('v'), M::CONTROL);
    assert_eq!(a.editor.area.lines(), ["a = 1", "", "c = 3b = 2"]);
    // Without a selection Ctrl+C is still stop.
    assert_eq!(press(&mut a, KeyCode::Char('c'), M::CONTROL), vec![]);
    // Comments in JavaScript and Rhai are //.
    for name in ["t.js", "t.rhai"] {
        let mut j = editing(name, "  x();\n  y();");
        press(&mut j, KeyCode::Char('7'), M::CONTROL);
        assert_eq!(j.editor.area.lines(), ["  // x();", "  y();"], "{name}");
    }
    // A terminal's paste lands whole, as one undo step.
    let mut p = editing("p.lua", "");
    update(&mut p, Action::Paste("x = 1\r\ny = 2".into()));
    assert_eq!(p.editor.text(), "x = 1\ny = 2");
    press(&mut p, KeyCode::Char('z'), M::CONTROL);
    assert_eq!(p.editor.text(), "");
}

#[test]
fn undo_takes_back_a_burst_of_typing_at_once() {
    use crossterm::event::KeyModifiers as M;
    let mut a = editing("u.lua", "");
    typed(&mut a, "local x");
    update(&mut a, Action::Key(KeyEvent::from(KeyCode::Enter)));
    typed(&mut a, "return x");
    press(&mut a, KeyCode::Backspace, M::NONE);
    press(&mut a, KeyCode::Backspace, M::NONE);
    assert_eq!(a.editor.text(), "local x\nreturn");
    let undo = |a: &mut App| press(a, KeyCode::Char('z'), M::CONTROL);
    undo(&mut a);
    assert_eq!(
        a.editor.text(),
        "local x\nreturn x",
        "the deletes, together"
    );
    undo(&mut a);
    assert_eq!(a.editor.text(), "local x\n", "the typing, together");
    undo(&mut a);
    assert_eq!(a.editor.text(), "local x", "the new line");
    undo(&mut a);
    assert_eq!(a.editor.text(), "");
    // Redo (Ctrl+Y, or Ctrl+R) goes forward again, a step at a time.
    press(&mut a, KeyCode::Char('y'), M::CONTROL);
    assert_eq!(a.editor.text(), "local x");
    press(&mut a, KeyCode::Char('r'), M::CONTROL);
    assert_eq!(a.editor.text(), "local x\n");
    // Moving the cursor ends a burst.
    let mut b = editing("m.lua", "");
    typed(&mut b, "ab");
    press(&mut b, KeyCode::Left, M::NONE);
    typed(&mut b, "X");
    assert_eq!(b.editor.text(), "aXb");
    press(&mut b, KeyCode::Char('u'), M::CONTROL);
    assert_eq!(b.editor.text(), "ab");
}

#[test]
fn our_own_save_read_back_after_more_edits_is_not_a_change_on_disk() {
    let mut a = editing_b();
    let effects = update(&mut a, Action::Save);
    let [Effect::Save { path, text, .. }] = &effects[..] else {
        panic!("{effects:?}")
    };
    let (path, text) = (path.clone(), text.clone());
    update(
        &mut a,
        Action::Saved {
            path: path.clone(),
            text: text.clone(),
            then_run: false,
        },
    );
    // More typing before the watcher's news of the save comes in.
    typed(&mut a, "y ");
    update(&mut a, Action::Source(path, Read::Text(text)));
    assert_eq!(a.editor.disk, None);
    assert!(!picture(&a, 80, 24).contains("changed on disk"));
    assert!(a.editor.dirty(), "the new typing is still unsaved");
}

/// Runs the open spell of `a` with the real effects until it ends.
fn run_open(a: &mut App) {
    let runtime = llmspell::Runtime::new();
    let (tx, rx) = mpsc::channel();
    let mut run = None;
    for effect in update(a, Action::Run) {
        carry_out(effect, &runtime, &tx, &mut run);
    }
    while matches!(a.status, Status::Running { .. }) {
        let action = rx.recv_timeout(Duration::from_secs(10)).expect("it ends");
        update(a, action);
    }
}

fn answer(a: &mut App, text: &str) -> Vec<Effect> {
    // The prompt starts with a suggestion: replace it.
    if let Some((_, e)) = &mut a.prompt {
        *e = llmspell_tui::editor::Editor::input("");
    }
    typed(a, text);
    update(a, Action::Key(KeyEvent::from(KeyCode::Enter)))
}

#[test]
fn runs_replay_a_cassette_folder_or_the_one_picked_and_take_remembered_args() {
    use llmspell_tui::app::ReplayAll;
    let dir = project::chat_project();
    let spells = vec!["chat.js".into(), "chat.lua".into(), "chat.rhai".into()];
    // --replay FOLDER: each spell replays the cassette named after it, in
    // every language, with no model anywhere.
    for (i, name) in ["chat.js", "chat.lua", "chat.rhai"].into_iter().enumerate() {
        let mut a = App::new(dir.path().to_path_buf(), spells.clone());
        a.replay_all = Some(ReplayAll::Folder(dir.path().join("cassettes")));
        for _ in 0..i {
            update(&mut a, Action::Down);
        }
        let path = a.selected_path().unwrap();
        update(&mut a, Action::Source(path.clone(), Read::file(&path)));
        assert_eq!(a.spell_name(), Some(name));
        run_open(&mut a);
        let out = a.output.since_mark();
        assert!(
            out.contains("replaying cassettes/chat.jsonl ──"),
            "{name}: {out}"
        );
        assert!(out.contains("Kepler-452b"), "{name}: {out}");
        let Status::Finished { ok, text, .. } = &a.status else {
            panic!()
        };
        assert!(ok, "{name}: {text}");
    }
    // A spell with no cassette in the folder says so and runs live.
    std::fs::write(dir.path().join("plain.lua"), "return 1").unwrap();
    let mut a = App::new(dir.path().to_path_buf(), vec!["plain.lua".into()]);
    a.replay_all = Some(ReplayAll::Folder(dir.path().join("cassettes")));
    opened(&mut a, "return 1".into());
    run_open(&mut a);
    assert!(a
        .output
        .since_mark()
        .contains("this run calls the live model"));

    // R picks the open spell's cassette, A its args; both are kept in the
    // project's .llmspell/ide.json and used by the next IDE too.
    std::fs::write(
        dir.path().join("greet.lua"),
        "print('hello ' .. spell.args.who)\nreturn llm.chat('Name one planet of the solar system.', {system = 'Answer in one short sentence.', max_tokens = 30, temperature = 0}).text",
    )
    .unwrap();
    let mut a = App::new(dir.path().to_path_buf(), vec!["greet.lua".into()]);
    let path = a.selected_path().unwrap();
    update(&mut a, Action::Source(path.clone(), Read::file(&path)));
    update(&mut a, key('R'));
    assert_eq!(
        a.prompt.as_ref().map(|(_, e)| e.text()),
        Some("cassettes/greet.jsonl".into()),
        "the suggestion is named after the spell"
    );
    let saved = answer(&mut a, "cassettes/chat.jsonl");
    let runtime = llmspell::Runtime::new();
    let (tx, _rx) = mpsc::channel();
    let mut run = None;
    for e in saved {
        carry_out(e, &runtime, &tx, &mut run);
    }
    update(&mut a, key('A'));
    let saved = answer(&mut a, "who=tester");
    assert!(
        matches!(&saved[..], [Effect::SaveSettings(..)]),
        "{saved:?}"
    );
    for e in saved {
        carry_out(e, &runtime, &tx, &mut run);
    }
    assert_eq!(
        a.notice.as_deref(),
        Some("greet.lua runs replaying cassettes/chat.jsonl, args who=tester")
    );
    let kept = llmspell_tui::settings::Settings::load(dir.path()).unwrap();
    let mut b = App::new(dir.path().to_path_buf(), vec!["greet.lua".into()]);
    b.settings = kept;
    update(&mut b, Action::Source(path.clone(), Read::file(&path)));
    run_open(&mut b);
    let out = b.output.since_mark();
    assert!(
        out.contains("hello tester") && out.contains("Kepler-452b"),
        "{out}"
    );
    // Bad args say why and change nothing; an empty cassette is the live model.
    update(&mut b, key('A'));
    answer(&mut b, "nonsense");
    assert!(b.notice.as_deref().unwrap_or("").contains("key=value"));
    assert_eq!(b.spell_settings().args.len(), 1);
    update(&mut b, key('R'));
    answer(&mut b, "");
    assert_eq!(b.replay(), None);
    assert_eq!(b.run_with(), "args who=tester");
}

fn event(a: &mut App, topic: &str, data: serde_json::Value) {
    update(
        a,
        Action::Event {
            topic: topic.into(),
            data,
            time_ms: 1_700_000_000_123,
        },
    );
}

#[test]
fn events_show_their_time_and_run_search_and_a_long_detail_scrolls_and_wraps() {
    let mut a = app();
    a.screen = ratatui::layout::Rect::new(0, 0, 100, 30);
    while a.focus != Focus::Inspector {
        update(&mut a, Action::NextPane);
    }
    event(&mut a, "spell.start", json!({"spell": "one.lua"}));
    let long = (1..=60)
        .map(|i| format!("line {i}"))
        .collect::<Vec<_>>()
        .join("\n");
    let words = "word ".repeat(60);
    event(
        &mut a,
        "llm.request",
        json!({"messages": [{"role": "user", "content": long}], "note": words}),
    );
    event(&mut a, "spell.end", json!({}));
    let shown = picture(&a, 100, 30);
    assert!(shown.contains("── run 1 one.lua ──"), "{shown}");
    assert!(shown.contains("HH:MM:SS spell.start"), "{shown}");
    // Select the request; a new run follows the newest again.
    update(&mut a, Action::Up);
    update(&mut a, Action::Up);
    assert_eq!(a.inspector.current().unwrap().topic, "llm.request");
    event(&mut a, "spell.start", json!({"spell": "two.lua"}));
    assert_eq!(a.inspector.selected, None);
    assert!(picture(&a, 100, 30).contains("── run 2 two.lua ──"));
    // `/` keeps the events with a text; Esc shows all again.
    update(&mut a, key('/'));
    typed(&mut a, "line 42");
    update(&mut a, Action::Key(KeyEvent::from(KeyCode::Enter)));
    assert_eq!(a.inspector.visible().len(), 1);
    assert!(picture(&a, 100, 30).contains("/line 42 (1)"));
    // Its detail: the long content scrolls inside it, long strings wrap.
    update(&mut a, Action::Key(KeyEvent::from(KeyCode::Enter)));
    assert!(a.inspector.detail);
    let top = picture(&a, 100, 30);
    assert!(
        top.contains("llm.request  at HH:MM:SS.123  (run 1)"),
        "{top}"
    );
    update(&mut a, Action::Key(KeyEvent::from(KeyCode::End)));
    let end = picture(&a, 100, 30);
    assert!(
        end.contains("line 60"),
        "the end of the body is in reach\n{end}"
    );
    assert_eq!(
        end.matches("word").count(),
        60,
        "wrapped, every word shown\n{end}"
    );
    assert!(!end.contains("(run 1)"));
    assert_eq!(
        a.inspector.current().unwrap().topic,
        "llm.request",
        "Down scrolled, not moved"
    );
    update(&mut a, Action::Key(KeyEvent::from(KeyCode::Home)));
    assert!(picture(&a, 100, 30).contains("(run 1)"));
    update(&mut a, Action::Key(KeyEvent::from(KeyCode::Esc)));
    update(&mut a, Action::Key(KeyEvent::from(KeyCode::Esc)));
    assert_eq!(a.inspector.search, None);
    assert_eq!(a.inspector.visible().len(), 4);
    // n and p in the detail go to the next and previous event.
    update(&mut a, Action::Up);
    update(&mut a, Action::Up);
    update(&mut a, Action::Key(KeyEvent::from(KeyCode::Enter)));
    assert_eq!(a.inspector.current().unwrap().topic, "spell.end");
    update(&mut a, key('p'));
    assert_eq!(a.inspector.current().unwrap().topic, "llm.request");
    update(&mut a, key('n'));
    update(&mut a, key('n'));
    assert_eq!(a.inspector.current().unwrap().topic, "spell.start");
    assert!(a.inspector.frozen.is_none(), "p in the detail is not pause");
}

#[test]
fn the_spells_list_shows_subfolders_and_filters_as_you_type() {
    let dir = tempfile::tempdir().unwrap();
    for f in [
        "a.lua",
        "tools/web.js",
        "tools/deep/x.rhai",
        ".llmspell/hidden.lua",
        "target/t.lua",
    ] {
        let path = dir.path().join(f);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "return 1").unwrap();
    }
    let mut spells = App::scan(dir.path()).unwrap();
    spells.sort();
    assert_eq!(spells, ["a.lua", "tools/deep/x.rhai", "tools/web.js"]);
    let mut a = App::new(dir.path().to_path_buf(), spells);
    let shown = picture(&a, 100, 30);
    assert!(shown.contains("│tools/web.js"), "{shown}");
    // `/` filters as it is typed; Up/Down move among what is shown.
    update(&mut a, key('/'));
    typed(&mut a, "TOOLS");
    assert_eq!(a.shown_spells(), [1, 2]);
    let shown = picture(&a, 100, 30);
    assert!(
        shown.contains("Spells /TOOLS (2)") && !shown.contains("│a.lua"),
        "{shown}"
    );
    update(&mut a, Action::Key(KeyEvent::from(KeyCode::Enter)));
    let effects = update(&mut a, Action::Down);
    assert_eq!(
        effects,
        vec![Effect::Load(dir.path().join("tools/deep/x.rhai"))]
    );
    update(&mut a, Action::Down);
    assert_eq!(a.selected, 2);
    // Enter on a spell goes into the editor; Esc in the list shows all.
    opened(&mut a, "return 1".into());
    update(&mut a, Action::Key(KeyEvent::from(KeyCode::Enter)));
    assert_eq!(a.focus, Focus::Editor);
    update(&mut a, Action::Key(KeyEvent::from(KeyCode::Esc)));
    update(&mut a, Action::Key(KeyEvent::from(KeyCode::Esc)));
    assert_eq!(a.spell_filter, None);
    assert_eq!(a.shown_spells().len(), 3);
}

#[test]
fn a_click_picks_what_is_under_it_and_the_wheel_scrolls_that_pane() {
    let mut a = busy_app();
    a.screen = ratatui::layout::Rect::new(0, 0, 100, 30);
    let [spells, editor, _, events, state, _] = llmspell_tui::layout::panes(a.screen, a.sizes);
    // A spell: row 1 of the list is the first spell (agent.rhai).
    let effects = update(&mut a, Action::Click(spells.x + 2, spells.y + 1));
    assert_eq!(a.focus, Focus::Spells);
    assert_eq!(effects, vec![Effect::Load("/project/agent.rhai".into())]);
    opened(&mut a, "let x = 1;\nlet y = 22;\nx + y".into());
    // The editor: the click places the cursor (gutter: mark, 2 digits, space).
    update(&mut a, Action::Click(editor.x + 1 + 4 + 5, editor.y + 2));
    assert_eq!(a.focus, Focus::Editor);
    assert_eq!(cursor(&a), (1, 5));
    update(
        &mut a,
        Action::Click(editor.x + editor.width - 2, editor.y + 1),
    );
    assert_eq!(cursor(&a), (0, 10), "past the end of the line: its end");
    // An event: the row under the click (row 1 names the run).
    update(&mut a, Action::Click(events.x + 3, events.y + 3));
    assert_eq!(a.focus, Focus::Inspector);
    assert_eq!(a.inspector.current().unwrap().topic, "llm.request");
    // A state key (row 1 is the folder counter/, row 2 its key runs).
    update(&mut a, Action::Click(state.x + 3, state.y + 3));
    assert_eq!((a.focus, a.state_selected), (Focus::State, 1), "greeting");
    update(&mut a, Action::Click(state.x + 3, state.y + 1));
    assert_eq!(a.state_selected, 0, "a folder picks its first key");
    // The wheel over the editor moves its view, not its cursor.
    let long: String = (1..=100).map(|i| format!("let v{i} = {i};\n")).collect();
    opened(&mut a, long);
    a.focus = Focus::Spells;
    update(&mut a, Action::Wheel(editor.x + 5, editor.y + 3, false));
    update(&mut a, Action::Wheel(editor.x + 5, editor.y + 3, false));
    assert_eq!(a.editor.top, 6);
    assert!(picture(&a, 100, 30).contains("let v7 = 7;"));
    assert_eq!(a.focus, Focus::Spells, "the wheel does not move the focus");
    update(&mut a, Action::Wheel(editor.x + 5, editor.y + 3, true));
    assert_eq!(a.editor.top, 3);
}

#[test]
fn the_wheel_scrolls_a_long_spells_list_and_a_click_then_picks_from_it() {
    let spells: Vec<String> = (0..60).map(|i| format!("s{i:02}.lua")).collect();
    let mut a = App::new(PathBuf::from("/project"), spells);
    a.screen = ratatui::layout::Rect::new(0, 0, 100, 30);
    let [list, ..] = llmspell_tui::layout::panes(a.screen, a.sizes);
    assert!(picture(&a, 100, 30).contains("│s00.lua"));
    for _ in 0..4 {
        update(&mut a, Action::Wheel(list.x + 2, list.y + 2, false));
    }
    let shown = picture(&a, 100, 30);
    assert!(
        shown.contains("│s12.lua") && !shown.contains("│s00.lua"),
        "{shown}"
    );
    assert_eq!(a.selected, 0, "the wheel does not choose");
    let effects = update(&mut a, Action::Click(list.x + 2, list.y + 1));
    assert_eq!(effects, vec![Effect::Load("/project/s12.lua".into())]);
}

/// The run ends with no result.
fn ended_ok(a: &mut App) -> Vec<Effect> {
    update(
        a,
        Action::Finished {
            result: Ok(json!(null)),
            error_line: None,
            ms: 1,
        },
    )
}

#[test]
fn breakpoints_move_with_their_lines_as_the_spell_is_edited() {
    let mut a = app();
    a.selected = 2; // hello.lua
    opened(&mut a, "local a = 1\nprint(a)\nreturn a\n".into());
    a.focus = Focus::Editor;
    let press = |a: &mut App, code: KeyCode| update(a, Action::Key(KeyEvent::from(code)));
    // On line 2, `print(a)`.
    press(&mut a, KeyCode::Down);
    press(&mut a, KeyCode::F(9));
    assert_eq!(a.line_breaks(), vec![2]);
    // Two lines typed at the top: it follows `print(a)` to line 4.
    press(&mut a, KeyCode::Up);
    for c in "-- one".chars() {
        press(&mut a, KeyCode::Char(c));
    }
    press(&mut a, KeyCode::Enter);
    press(&mut a, KeyCode::Enter);
    assert_eq!(a.editor.area.lines()[3], "print(a)");
    assert_eq!(a.line_breaks(), vec![4]);
    assert!(
        picture(&a, 80, 24).contains("● 4 print(a)"),
        "{}",
        picture(&a, 80, 24)
    );
    // Typing on its line keeps it there.
    press(&mut a, KeyCode::Down);
    press(&mut a, KeyCode::End);
    press(&mut a, KeyCode::Char(' '));
    assert_eq!(a.line_breaks(), vec![4]);
    // The space and both line breaks undone (the typed `-- one` stays, on
    // line 1): back on line 2.
    for _ in 0..3 {
        update(
            &mut a,
            Action::Key(KeyEvent::new(KeyCode::Char('z'), KeyModifiers::CONTROL)),
        );
    }
    assert_eq!(
        a.editor.area.lines()[1],
        "print(a)",
        "{:?}",
        a.editor.area.lines()
    );
    assert_eq!(a.line_breaks(), vec![2]);
    // Its line deleted (cut at its start, joined to the line above): gone.
    press(&mut a, KeyCode::Down);
    press(&mut a, KeyCode::Home);
    press(&mut a, KeyCode::Backspace);
    assert_eq!(a.editor.area.lines()[0], "-- onelocal a = 1print(a)");
    assert!(a.line_breaks().is_empty(), "{:?}", a.line_breaks());
}

#[test]
fn a_spells_breakpoints_come_back_from_the_projects_settings() {
    let mut a = app();
    a.settings.set(
        "hello.lua",
        llmspell_tui::settings::SpellSettings {
            breakpoints: [1, 3].into_iter().collect(),
            ..Default::default()
        },
    );
    a.selected = 2; // hello.lua
    let effects = opened(&mut a, "local a = 1\nprint(a)\nreturn a\n".into());
    assert_eq!(a.line_breaks(), vec![1, 3]);
    // Read, not written back.
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::SaveSettings(..))),
        "{effects:?}"
    );
    assert!(picture(&a, 80, 24).contains("● 3 return a"));
}

#[test]
fn shift_f9_asks_a_breakpoints_condition_hits_and_log_and_a_line_without_code_says_so() {
    for (spell, at, text) in [
        (
            2, // hello.lua
            "lua",
            "local n = 0\n\n-- add them up\nfor i = 1, 5 do\n  n = n + i\nend\nreturn n\n",
        ),
        (
            0, // agent.rhai
            "rhai",
            "let n = 0;\n\n// add them up\nfor i in 1..=5 {\n  n += i;\n}\nn\n",
        ),
    ] {
        let mut a = app();
        a.selected = spell;
        opened(&mut a, text.into());
        a.focus = Focus::Editor;
        let shift = KeyModifiers::SHIFT;
        let none = KeyModifiers::NONE;
        // A blank line and a comment: set, but said never to stop.
        press(&mut a, KeyCode::Down, none);
        press(&mut a, KeyCode::F(9), none);
        assert_eq!(a.line_breaks(), vec![2], "{at}");
        let notice = a.notice.clone().unwrap_or_default();
        assert!(notice.contains("line 2 has no code"), "{at}: {notice}");
        assert!(picture(&a, 80, 24).contains("○ 2"), "{at}");
        press(&mut a, KeyCode::Down, none);
        a.notice = None;
        press(&mut a, KeyCode::F(9), none);
        assert!(a
            .notice
            .clone()
            .unwrap_or_default()
            .contains("line 3 has no code"));
        // Code typed on the blank line: its breakpoint is a real one now.
        press(&mut a, KeyCode::Up, none);
        typed(&mut a, if at == "lua" { "n = 1" } else { "n = 1;" });
        assert!(
            picture(&a, 80, 24).contains("● 2"),
            "{at}: {}",
            picture(&a, 80, 24)
        );
        assert!(picture(&a, 80, 24).contains("○ 3"), "{at}");
        for _ in 0..2 {
            press(&mut a, KeyCode::F(9), none);
            press(&mut a, KeyCode::Down, none);
        }
        assert!(a.line_breaks().is_empty(), "{at}");

        // On line 5, in the loop: Shift+F9 asks a condition, a hit count
        // and a log message in turn.
        press(&mut a, KeyCode::Down, none);
        press(&mut a, KeyCode::F(9), shift);
        assert_eq!(
            a.prompt.as_ref().map(|p| p.0),
            Some(Prompt::BreakIf),
            "{at}"
        );
        typed(&mut a, "i > 3");
        press(&mut a, KeyCode::Enter, none);
        assert_eq!(a.prompt.as_ref().map(|p| p.0), Some(Prompt::BreakHits));
        press(&mut a, KeyCode::Enter, none);
        assert_eq!(a.prompt.as_ref().map(|p| p.0), Some(Prompt::BreakLog));
        let effects = press(&mut a, KeyCode::Enter, none);
        assert_eq!(
            a.breakpoint_list(),
            vec![Breakpoint {
                condition: Some("i > 3".into()),
                ..Breakpoint::at(5)
            }],
            "{at}"
        );
        assert_eq!(a.notice.as_deref(), Some("breakpoint on line 5: if i > 3"));
        assert!(picture(&a, 80, 24).contains("◉ 5"), "{at}");
        // Kept in the project's settings, condition and all.
        let saved = effects.iter().find_map(|e| match e {
            Effect::SaveSettings(_, s) => Some(s.to_text()),
            _ => None,
        });
        assert!(saved.unwrap().contains("\"condition\": \"i > 3\""), "{at}");

        // A hit count that is not one is refused, and nothing changes.
        press(&mut a, KeyCode::F(9), shift);
        let asked = a.prompt.as_ref().map(|p| p.1.text());
        assert_eq!(asked.as_deref(), Some("i > 3"), "what it asks now is shown");
        press(&mut a, KeyCode::Enter, none);
        typed(&mut a, "%0");
        press(&mut a, KeyCode::Enter, none);
        press(&mut a, KeyCode::Enter, none);
        let notice = a.notice.clone().unwrap_or_default();
        assert!(
            notice.contains("not set") && notice.contains("%0"),
            "{notice}"
        );
        assert_eq!(a.breakpoint_list()[0].hits, None);

        // A log message: a logpoint, which moves with its line.
        press(&mut a, KeyCode::F(9), shift);
        press(&mut a, KeyCode::Enter, none);
        press(&mut a, KeyCode::Enter, none);
        typed(&mut a, "n is {n}");
        press(&mut a, KeyCode::Enter, none);
        assert!(picture(&a, 80, 24).contains("◆ 5"), "{at}");
        press(&mut a, KeyCode::Home, none);
        press(&mut a, KeyCode::Up, none);
        press(&mut a, KeyCode::Up, none);
        press(&mut a, KeyCode::Enter, none);
        let moved = a.breakpoint_list();
        assert_eq!(
            moved,
            vec![Breakpoint {
                condition: Some("i > 3".into()),
                log: Some("n is {n}".into()),
                ..Breakpoint::at(6)
            }],
            "{at}"
        );
    }
}

#[test]
fn e_pauses_a_real_run_where_a_call_fails_and_a_result_given_there_is_the_calls() {
    let mut a = app();
    a.selected = 2; // hello.lua
    opened(&mut a, "return json.decode(\"{bad\")\n".into());
    update(&mut a, key('E'));
    assert!(a.break_errors);
    assert!(picture(&a, 100, 24).contains("[pause on errors]"));
    let effects = update(&mut a, Action::Run);
    let Some(Effect::Start(launch)) = effects.first() else {
        panic!("{effects:?}");
    };
    assert!(launch
        .breaks
        .as_ref()
        .is_some_and(|b| b.errors && b.pattern.is_none()));

    // The same launch, for real.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f.lua");
    std::fs::write(&file, "local v = json.decode(\"{bad\")\nreturn v").unwrap();
    let runtime = llmspell::Runtime::new();
    let (tx, rx) = mpsc::channel();
    let mut run = None;
    let breaks = Breaks {
        pattern: None,
        lines: vec![],
        errors: true,
    };
    carry_out(
        Effect::Start(Launch::new(file, Some(breaks))),
        &runtime,
        &tx,
        &mut run,
    );
    let p = loop {
        match rx.recv_timeout(Duration::from_secs(10)).expect("an action") {
            Action::Paused(p) => break p,
            Action::Finished { result, .. } => panic!("ended: {result:?}"),
            _ => {}
        }
    };
    assert_eq!((p.why, p.call.as_str()), (Why::Error, "json.decode"));
    assert!(p.note.unwrap_or_default().starts_with("args.invalid"));
    let go = llmspell::debug::Resume::Continue;
    carry_out(
        Effect::Resume(go, Some(json!({"given": 1}))),
        &runtime,
        &tx,
        &mut run,
    );
    loop {
        if let Action::Finished { result, .. } = rx.recv_timeout(Duration::from_secs(10)).unwrap() {
            assert_eq!(result, Ok(json!({"given": 1})));
            break;
        }
    }
}
