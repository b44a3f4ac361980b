//! The IDE's costs: drawing a whole frame after 100,000 events have gone
//! through the inspector (and the memory the state holds then), the time
//! from saving a spell to its re-run starting (auto-run on), and syntax
//! colours: a whole 1,000-line spell, and one key typed into it; the
//! Output pane full and scrolled.
//! The figures measured are in benches/README.md.

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use llmspell_tui::app::{self, update, Action, App, Effect};
use llmspell_tui::editor::Read;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

#[global_allocator]
static ALLOC: llmspell::CountingAllocator = llmspell::CountingAllocator;

/// The main loop's answer to loading the spell under the list's cursor.
fn opened(a: &mut App, text: String) -> Vec<Effect> {
    let path = a.selected_path().unwrap();
    update(a, Action::Source(path, Read::Text(text)))
}

const EVENTS: usize = 100_000;

fn busy_app() -> App {
    let spells = (0..40).map(|i| format!("spell{i}.lua")).collect();
    let mut app = App::new(PathBuf::from("/project"), spells);
    let source: String = (0..200)
        .map(|i| format!("local x{i} = llm.chat(\"question {i}\").text\n"))
        .collect();
    opened(&mut app, source);
    for i in 0..EVENTS {
        let data = serde_json::json!({
            "model": "local/smollm2", "latency_ms": i % 900,
            "usage": {"input_tokens": 31, "output_tokens": 12},
            "text": "a reply of a typical length from a small local model",
        });
        update(
            &mut app,
            Action::Event {
                topic: "llm.response".into(),
                data,
                time_ms: 0,
            },
        );
        if i % 10 == 0 {
            update(&mut app, Action::Output(format!("line {i}")));
        }
    }
    app
}

fn frame(c: &mut Criterion) {
    // The first spell opened pays for loading the syntaxes and compiling
    // the patterns its grammar uses: once per process.
    let lines: Vec<String> = (0..50)
        .map(|i| format!("local x{i} = llm.chat(\"question {i}\").text -- note {i}"))
        .collect();
    for ext in ["lua", "js", "rhai"] {
        let started = Instant::now();
        llmspell_tui::highlight::Highlight::for_extension(ext).update(&lines, 50);
        eprintln!("first {ext} spell opened, cold: {:?}", started.elapsed());
    }
    let before = llmspell::alloc::thread_live_bytes();
    let app = busy_app();
    let held = llmspell::alloc::thread_live_bytes() - before;
    eprintln!(
        "state after {EVENTS} events: {:.1} MiB ({} events kept)",
        held as f64 / (1024.0 * 1024.0),
        app.inspector.events.len()
    );
    let mut terminal = Terminal::new(TestBackend::new(160, 50)).unwrap();
    c.bench_function("whole frame 160x50 after 100k events", |b| {
        b.iter(|| {
            terminal
                .draw(|f| llmspell_tui::ui::render(&app, f))
                .unwrap();
        })
    });
}

/// The Output pane full (5,000 kept lines, each wrapping to three rows),
/// scrolled into the middle: a frame, and a page up then down.
fn output(c: &mut Criterion) {
    let mut app = App::new(PathBuf::from("/project"), vec!["a.lua".into()]);
    app.screen = ratatui::layout::Rect::new(0, 0, 160, 50);
    let words = "a model's reply\twith tabs and words ".repeat(5);
    for i in 0..app::KEEP_OUTPUT * 2 {
        update(&mut app, Action::Output(format!("{i}: {words}")));
    }
    app.focus = app::Focus::Output;
    for _ in 0..200 {
        update(&mut app, Action::PageUp);
    }
    let mut terminal = Terminal::new(TestBackend::new(160, 50)).unwrap();
    let mut group = c.benchmark_group("output");
    group.bench_function("frame 160x50, 5000 wrapped lines, scrolled", |b| {
        b.iter(|| {
            terminal
                .draw(|f| llmspell_tui::ui::render(&app, f))
                .unwrap();
        })
    });
    group.bench_function("PageUp then PageDown", |b| {
        b.iter(|| {
            update(&mut app, Action::PageUp);
            update(&mut app, Action::PageDown);
        })
    });
    group.finish();
}

fn save_to_rerun(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.lua");
    std::fs::write(&file, "return 1\n").unwrap();
    let mut app = App::new(dir.path().to_path_buf(), vec!["a.lua".into()]);
    opened(&mut app, "return 1\n".into());
    update(&mut app, Action::ToggleAutoRun);
    let (tx, rx) = mpsc::channel();
    let _watching = llmspell_tui::watch::watch(dir.path(), tx).unwrap();
    let mut group = c.benchmark_group("hot reload");
    group.sample_size(20);
    group.bench_function("save to re-run starting", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for i in 0..iters {
                let saved = Instant::now();
                std::fs::write(&file, format!("return {i}\n")).unwrap();
                loop {
                    let action = rx.recv_timeout(Duration::from_secs(5)).expect("a change");
                    let effects = update(&mut app, action);
                    if effects.iter().any(|e| matches!(e, Effect::Start(..))) {
                        total += saved.elapsed();
                        break;
                    }
                }
                // The run "ends" at once: the next save may start another.
                update(
                    &mut app,
                    Action::Finished {
                        result: Ok(serde_json::Value::Null),
                        error_line: None,
                        ms: 0,
                    },
                );
                while rx.try_recv().is_ok() {}
            }
            total
        })
    });
    group.finish();
}

fn colours(c: &mut Criterion) {
    use crossterm::event::{KeyCode, KeyEvent};
    let source: String = (0..1000)
        .map(|i| format!("local x{i} = llm.chat(\"question {i}\").text -- note {i}\n"))
        .collect();
    let lines: Vec<String> = source.lines().map(str::to_owned).collect();
    let mut group = c.benchmark_group("syntax colours");
    for ext in ["lua", "js", "rhai"] {
        group.bench_function(
            format!("open a 1000-line spell: its first 50 lines ({ext})"),
            |b| {
                b.iter(|| {
                    let mut h = llmspell_tui::highlight::Highlight::for_extension(ext);
                    h.update(&lines, 50);
                    h
                })
            },
        );
        group.bench_function(format!("all 1000 lines ({ext})"), |b| {
            b.iter(|| {
                let mut h = llmspell_tui::highlight::Highlight::for_extension(ext);
                h.update(&lines, usize::MAX);
                h
            })
        });
    }
    let mut app = App::new(PathBuf::from("/project"), vec!["big.lua".into()]);
    opened(&mut app, source);
    update(&mut app, Action::NextPane);
    for _ in 0..500 {
        update(&mut app, Action::Key(KeyEvent::from(KeyCode::Down)));
    }
    group.bench_function("a key typed on line 500 of 1000 (lua)", |b| {
        b.iter(|| {
            update(&mut app, Action::Key(KeyEvent::from(KeyCode::Char('x'))));
            update(&mut app, Action::Key(KeyEvent::from(KeyCode::Backspace)));
        })
    });
    group.finish();
}

criterion_group!(benches, frame, output, save_to_rerun, colours);
criterion_main!(benches);
