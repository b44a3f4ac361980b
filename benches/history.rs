//! What keeping every run costs: 200 sequential `llm.chat` calls to a
//! server that replies at once, with and without the run kept in the
//! history (its start, every exchange and event, its end and the prune);
//! 20,000 bridge calls that are not journaled, with and without; and
//! reading the list of 10,000 kept runs, as `llmspell runs` (the whole
//! process) and the IDE's Runs view (its newest 1,000 as the table) do.
//!
//! benches/README.md has the numbers measured here.

#[path = "support/cpu.rs"]
mod cpu;
#[path = "../tests/support/scripted.rs"]
mod scripted;

use std::sync::Arc;

use cpu::ProcessCpu;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use llmspell::history::{Filter, History, Recorder};
use llmspell::{Config, EngineKind, RunOptions, Runtime, Spell};
use scripted::{Reply, Scripted};

const N: usize = 200;

fn options(toml: &str, dir: &std::path::Path) -> RunOptions {
    let file = dir.join("llmspell.toml");
    std::fs::write(&file, toml).unwrap();
    let mut opts = RunOptions::new(Config::load(&file).unwrap());
    opts.output = Arc::new(|_| {});
    opts
}

fn spell(kind: EngineKind, dir: &std::path::Path, source: &str) -> Spell {
    let mut s = Spell::from_source(&format!("bench.{}", kind.extension()), source).unwrap();
    s.dir = dir.to_path_buf();
    s
}

/// One run, kept in the history when `keep`.
fn run(runtime: &Runtime, s: &Spell, opts: &RunOptions, keep: bool) {
    if !keep {
        runtime.run(s, opts).result.unwrap();
        return;
    }
    let mut opts = opts.clone();
    let path = s.dir.join(&s.name);
    let recorder = Recorder::begin(&opts.config, s, &path, &opts.args, None).unwrap();
    recorder.attach(&mut opts);
    let outcome = runtime.run(s, &opts);
    outcome.result.as_ref().unwrap();
    recorder.finish(&outcome).unwrap();
}

fn recording(c: &mut Criterion) {
    recording_as(c, "");
}

/// The same in CPU time (every thread of the process): what keeping a
/// run adds is CPU, and on a shared machine CPU time moves far less than
/// the wall clock.
fn recording_cpu(c: &mut Criterion<ProcessCpu>) {
    recording_as(c, "_cpu");
}

fn recording_as<M: criterion::measurement::Measurement>(c: &mut Criterion<M>, suffix: &str) {
    let server = Scripted::always(Reply::text("ok"));
    let dir = tempfile::tempdir().unwrap();
    let opts = options(&server.toml(), dir.path());
    let runtime = Runtime::new();
    let mut group = c.benchmark_group(format!("history_llm_chat_200{suffix}"));
    group.sample_size(20);
    for kind in [EngineKind::Lua, EngineKind::Js] {
        let source = match kind {
            EngineKind::Js => format!("for (let i = 0; i < {N}; i++) await llm.chat('hi');"),
            _ => format!("for i = 1, {N} do llm.chat('hi') end"),
        };
        let s = spell(kind, dir.path(), &source);
        for keep in [false, true] {
            let name = if keep { "kept" } else { "not kept" };
            group.bench_with_input(BenchmarkId::new(name, kind), &s, |b, s| {
                b.iter(|| run(&runtime, s, &opts, keep))
            });
        }
    }
    group.finish();

    // Bridge calls that reach nothing outside: not journaled.
    let mut group = c.benchmark_group(format!("history_plain_calls_20000{suffix}"));
    group.sample_size(20);
    let s = spell(
        EngineKind::Lua,
        dir.path(),
        "for i = 1, 20000 do json.decode('1') end",
    );
    for keep in [false, true] {
        let name = if keep { "kept" } else { "not kept" };
        group.bench_function(name, |b| b.iter(|| run(&runtime, &s, &opts, keep)));
    }
    // What keeping a run costs whatever it does: its start and its end.
    let empty = spell(EngineKind::Lua, dir.path(), "return 1");
    for keep in [false, true] {
        let name = if keep {
            "empty spell, kept"
        } else {
            "empty spell, not kept"
        };
        group.bench_function(name, |b| b.iter(|| run(&runtime, &empty, &opts, keep)));
    }
    group.finish();
}

fn listing(c: &mut Criterion) {
    const RUNS: usize = 10_000;
    let dir = tempfile::tempdir().unwrap();
    let opts = options("[history]\nkeep_runs = 20000\n", dir.path());
    let runtime = Runtime::new();
    // Ten thousand small runs, as `llmspell run` keeps them.
    let s = spell(
        EngineKind::Lua,
        dir.path(),
        "print('a line') return {n = 1}",
    );
    std::fs::write(dir.path().join("bench.lua"), &s.source).unwrap();
    // Made when a bench of the group first runs (not when filtered out).
    let made = std::sync::OnceLock::new();
    let populate = || {
        made.get_or_init(|| {
            let started = std::time::Instant::now();
            for _ in 0..RUNS {
                run(&runtime, &s, &opts, true);
            }
            eprintln!(
                "kept {RUNS} runs in {:.1} s",
                started.elapsed().as_secs_f64()
            );
        });
    };
    let mut group = c.benchmark_group("history_list_10000");
    group.sample_size(30);
    group.bench_function("open and list all (library)", |b| {
        populate();
        b.iter(|| {
            let h = History::open_existing(dir.path()).unwrap().unwrap();
            let runs = h.list(&Filter::default()).unwrap();
            assert_eq!(runs.len(), RUNS);
            llmspell::history::table(&runs)
        })
    });
    group.bench_function("the Runs view: newest 1000 as the table", |b| {
        populate();
        let h = History::open_existing(dir.path()).unwrap().unwrap();
        b.iter(|| {
            let filter = Filter {
                limit: Some(1000),
                ..Filter::default()
            };
            llmspell::history::table(&h.list(&filter).unwrap())
        })
    });
    group.bench_function("`llmspell runs`, whole process", |b| {
        populate();
        b.iter(|| {
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_llmspell"))
                .arg("runs")
                .current_dir(dir.path())
                .output()
                .unwrap();
            assert!(out.status.success());
            assert!(out.stdout.len() > RUNS * 40);
        })
    });
    group.bench_function("`llmspell runs show last`, whole process", |b| {
        populate();
        b.iter(|| {
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_llmspell"))
                .args(["runs", "show", "last"])
                .current_dir(dir.path())
                .output()
                .unwrap();
            assert!(out.status.success());
        })
    });
    group.finish();
}

criterion_group!(benches, recording, listing);
criterion_group! {
    name = cpu;
    config = Criterion::default().with_measurement(ProcessCpu);
    targets = recording_cpu
}
criterion_main!(benches, cpu);
