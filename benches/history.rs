//! What keeping every run costs: 200 sequential `llm.chat` calls to a
//! server that replies at once, with and without the run kept in the
//! history (its start, every exchange and event, its end and the prune);
//! 20,000 bridge calls that are not journaled, with and without; and
//! reading the list of 10,000 kept runs, as `llmspell runs` (the whole
//! process) and the IDE's Runs view (its newest 1,000 as the table) do.
//!
//! benches/README.md has the numbers measured here.

#[path = "support/measure.rs"]
mod measure;
#[path = "../tests/support/scripted.rs"]
mod scripted;

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use llmspell::history::{Filter, History, Recorder};
use llmspell::provider::{Cassette, CassetteMode};
use llmspell::{Config, EngineKind, RunOptions, Runtime, Spell};
use measure::{ProcessCpu, Wall};
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

/// A spell that makes `N` sequential `llm.chat` calls.
fn chats(kind: EngineKind) -> String {
    match kind {
        EngineKind::Js => format!("for (let i = 0; i < {N}; i++) await llm.chat('hi');"),
        _ => format!("for i = 1, {N} do llm.chat('hi') end"),
    }
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
        let source = chats(kind);
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

/// What keeping a run adds, measured in pairs: each
/// iteration runs the spell once kept and once not (in turn first), and
/// counts the kept run's CPU less the other's. The machine's drift from
/// one minute to the next (here often more than the whole 2% target)
/// falls on both runs of a pair alike and cancels; a CPU difference may
/// be negative, so nothing is cut at zero. Beside it, the not-kept runs of
/// the same pairs alone: the base the difference is a part of.
fn recording_paired_cpu(c: &mut Criterion<ProcessCpu>) {
    recording_paired(c, "cpu", measure::process_cpu_ns);
}

/// The same pairs on the wall clock: what a user waits for.
fn recording_paired_wall(c: &mut Criterion<Wall>) {
    recording_paired(c, "wall", measure::wall_ns);
}

fn recording_paired<M>(c: &mut Criterion<M>, clock: &str, now: fn() -> f64)
where
    M: criterion::measurement::Measurement<Value = f64>,
{
    let server = Scripted::always(Reply::text("ok"));
    let dir = tempfile::tempdir().unwrap();
    let opts = options(&server.toml(), dir.path());
    let runtime = Runtime::new();
    // The same replies from a cassette: no network and no server's
    // threads, so only the spell's own work (and the history's) is left.
    let tape = dir.path().join("chat.jsonl");
    let lua = spell(EngineKind::Lua, dir.path(), &chats(EngineKind::Lua));
    let mut recording = opts.clone();
    recording.cassette = Some(Arc::new(std::sync::Mutex::new(
        Cassette::open(&CassetteMode {
            record: Some(tape.clone()),
            ..CassetteMode::default()
        })
        .unwrap(),
    )));
    runtime.run(&lua, &recording).result.unwrap();
    drop(recording);
    let replaying = CassetteMode {
        replay: Some(tape),
        ..CassetteMode::default()
    };

    let mut group = c.benchmark_group(format!("history_llm_chat_200_paired_{clock}"));
    group.sample_size(30);
    let cases = [
        ("lua", EngineKind::Lua, false),
        ("js", EngineKind::Js, false),
        ("lua, cassette", EngineKind::Lua, true),
    ];
    for (label, kind, from_tape) in cases {
        let s = spell(kind, dir.path(), &chats(kind));
        let once = |keep| {
            let mut opts = opts.clone();
            if from_tape {
                let tape = Cassette::open(&replaying).unwrap();
                opts.cassette = Some(Arc::new(std::sync::Mutex::new(tape)));
            }
            let start = now();
            run(&runtime, &s, &opts, keep);
            now() - start
        };
        for added in [false, true] {
            let name = if added {
                "added by keeping"
            } else {
                "not kept"
            };
            group.bench_function(BenchmarkId::new(name, label), |b| {
                b.iter_custom(|iters| {
                    let (mut kept, mut plain) = (0.0, 0.0);
                    for i in 0..iters {
                        // In turn first, so neither always follows the other.
                        for keep in [i % 2 == 0, i % 2 == 1] {
                            let spent = once(keep);
                            if keep {
                                kept += spent;
                            } else {
                                plain += spent;
                            }
                        }
                    }
                    if added {
                        kept - plain
                    } else {
                        plain
                    }
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, recording, listing);
criterion_group! {
    name = cpu;
    config = Criterion::default().with_measurement(ProcessCpu);
    targets = recording_cpu, recording_paired_cpu
}
criterion_group! {
    name = wall;
    config = Criterion::default().with_measurement(Wall);
    targets = recording_paired_wall
}
criterion_main!(benches, cpu, wall);
