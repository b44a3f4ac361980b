//! Start-up: an empty spell and the hello spell in-process, the whole
//! `llmspell run hello.*` process, and how fast a stop from another thread
//! ends a busy spell.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use llmspell::{Config, EngineKind, RunOptions, Runtime, Spell};

fn options() -> RunOptions {
    let dir = std::env::temp_dir();
    let mut opts = RunOptions::new(Config::for_dir(&dir));
    opts.output = Arc::new(|_| {});
    opts.log = Arc::new(|_, _, _| {});
    opts
}

fn spells_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/spells"))
}

fn in_process(c: &mut Criterion) {
    let rt = Runtime::new();
    let opts = options();
    let mut g = c.benchmark_group("in-process start");
    for kind in EngineKind::ALL {
        let empty = Spell::from_source(&format!("empty.{}", kind.extension()), "").unwrap();
        g.bench_with_input(BenchmarkId::new("empty spell", kind), &empty, |b, s| {
            b.iter(|| rt.run_here(s, &opts).result.unwrap())
        });
        let hello = Spell::load(&spells_dir().join(format!("hello.{}", kind.extension()))).unwrap();
        g.bench_with_input(BenchmarkId::new("hello spell", kind), &hello, |b, s| {
            b.iter(|| rt.run_here(s, &opts).result.unwrap())
        });
    }
    g.finish();
}

fn whole_process(c: &mut Criterion) {
    let mut g = c.benchmark_group("llmspell run");
    g.sample_size(30);
    for kind in EngineKind::ALL {
        let file = format!("hello.{}", kind.extension());
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(spells_dir().join(&file), dir.path().join(&file)).unwrap();
        g.bench_function(BenchmarkId::new("hello", kind), |b| {
            b.iter(|| {
                let out = Command::new(env!("CARGO_BIN_EXE_llmspell"))
                    .args(["run", &file])
                    .current_dir(dir.path())
                    .output()
                    .unwrap();
                assert!(out.status.success());
            })
        });
    }
    g.finish();
}

fn stop_latency(c: &mut Criterion) {
    let rt = Runtime::new();
    let mut g = c.benchmark_group("stop latency");
    g.sample_size(10);
    for (name, source) in [
        ("busy.lua", "while true do end"),
        ("busy.js", "while (true) {}"),
        ("busy.rhai", "loop {}"),
    ] {
        let spell = Spell::from_source(name, source).unwrap();
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let h = rt.spawn(spell.clone(), options());
                    std::thread::sleep(Duration::from_millis(5));
                    let t = Instant::now();
                    h.stop_handle().stop();
                    let _ = h.join();
                    total += t.elapsed();
                }
                total
            })
        });
    }
    g.finish();
}

criterion_group!(benches, in_process, whole_process, stop_latency);
criterion_main!(benches);
