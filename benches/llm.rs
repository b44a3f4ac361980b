//! What a spell adds to model calls: N = 200 sequential `llm.chat` calls
//! from a spell in each engine, against the same 200 calls made by Rust
//! directly through `llm`, both to a local server that replies at once;
//! and `workflow.parallel` of 8 calls that each take 200 ms, against one.
//!
//! The server is the scripted provider of the tests (tests/support).
//! benches/README.md has the numbers measured here.

// Only the CPU clock is used here.
#[allow(dead_code)]
#[path = "support/measure.rs"]
mod measure;
#[path = "../tests/support/scripted.rs"]
mod scripted;

use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use llm::builder::{LLMBackend, LLMBuilder};
use llm::chat::ChatMessage;
use llmspell::{Config, EngineKind, RunOptions, Runtime, Spell};
use measure::ProcessCpu;
use scripted::{Reply, Scripted};

const N: usize = 200;
const ENGINES: [EngineKind; 3] = [EngineKind::Lua, EngineKind::Js, EngineKind::Rhai];

fn options(server: &Scripted, dir: &std::path::Path) -> RunOptions {
    let file = dir.join("llmspell.toml");
    std::fs::write(&file, server.toml()).unwrap();
    let mut opts = RunOptions::new(Config::load(&file).unwrap());
    opts.output = Arc::new(|_| {});
    opts
}

fn spell(kind: EngineKind, source: &str) -> Spell {
    Spell::from_source(&format!("bench.{}", kind.extension()), source).unwrap()
}

fn sequential(kind: EngineKind, n: usize) -> String {
    match kind {
        EngineKind::Lua => format!("for i = 1, {n} do llm.chat('hi') end"),
        EngineKind::Js => format!("for (let i = 0; i < {n}; i++) await llm.chat('hi');"),
        EngineKind::Rhai => format!("for i in 0..{n} {{ llm.chat(\"hi\"); }}"),
    }
}

type Group<'a, M = criterion::measurement::WallTime> = criterion::BenchmarkGroup<'a, M>;

/// `n` calls from Rust through llm, built the way llmspell builds them,
/// measured as `name`.
fn rust_direct<M: criterion::measurement::Measurement>(
    group: &mut Group<M>,
    url: &str,
    n: usize,
    name: &str,
) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    direct_on(group, rt, url, n, name);
}

/// The same on `rt`.
fn direct_on<M: criterion::measurement::Measurement>(
    group: &mut Group<M>,
    rt: tokio::runtime::Runtime,
    url: &str,
    n: usize,
    name: &str,
) {
    let direct = LLMBuilder::new()
        .backend(LLMBackend::Groq)
        .api_key("none")
        .base_url(url)
        .model("m1")
        .timeout_seconds(65) // as llmspell builds it: its own limit plus 5 s
        .build()
        .unwrap();
    let messages = [ChatMessage::user().content("hi").build()];
    group.bench_function(name, |b| {
        b.iter(|| {
            rt.block_on(async {
                for _ in 0..n {
                    direct.chat(&messages).await.unwrap();
                }
            })
        })
    });
}

/// The same `n` calls from a spell, in each engine.
fn from_spells<M: criterion::measurement::Measurement>(
    group: &mut Group<M>,
    opts: &RunOptions,
    n: usize,
) {
    let runtime = Runtime::new();
    for kind in ENGINES {
        let s = spell(kind, &sequential(kind, n));
        group.bench_with_input(BenchmarkId::new("spell", kind), &s, |b, s| {
            b.iter(|| runtime.run(s, opts).result.unwrap())
        });
    }
}

fn parallel(kind: EngineKind, n: usize) -> String {
    match kind {
        EngineKind::Lua => format!(
            "local f = function() return llm.chat('hi').text end\nlocal fs = {{}}\n\
             for i = 1, {n} do fs[i] = f end\nreturn workflow.parallel(fs)"
        ),
        EngineKind::Js => format!(
            "const f = async () => (await llm.chat('hi')).text;\n\
             export default await workflow.parallel(Array.from({{length: {n}}}, () => f));"
        ),
        EngineKind::Rhai => format!(
            "fn f() {{ llm.chat(\"hi\").text }}\nlet fs = [];\n\
             for i in 0..{n} {{ fs.push(Fn(\"f\")); }}\nworkflow.parallel(fs)"
        ),
    }
}

fn chat_overhead(c: &mut Criterion) {
    let server = Scripted::always(Reply::text("ok"));
    let dir = tempfile::tempdir().unwrap();
    let opts = options(&server, dir.path());
    let mut group = c.benchmark_group("llm_chat_200");
    group.sample_size(20);

    seam_from_thread(&mut group, &opts);
    against_direct(&mut group, &server, &opts, N);
    one_thread_floor(&mut group, &server.url);
    group.finish();
}

/// Rust direct on a current-thread runtime: no thread but the caller's
/// (and the server's) at work, the floor of what one spell thread could do.
fn one_thread_floor<M: criterion::measurement::Measurement>(group: &mut Group<M>, url: &str) {
    let one_thread = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let name = "rust direct through llm, current-thread runtime";
    direct_on(group, one_thread, url, N, name);
}

/// llmspell's provider seam alone, from a plain thread through its I/O
/// runtime: what the spell adds is the rest.
fn seam_from_thread<M: criterion::measurement::Measurement>(
    group: &mut Group<M>,
    opts: &RunOptions,
) {
    let models = Arc::new(llmspell::provider::Models::from_config(&opts.config));
    let req: llmspell::provider::ChatRequest = serde_json::from_value(serde_json::json!({
        "model": "mock/m1", "messages": [{"role": "user", "content": "hi"}]
    }))
    .unwrap();
    group.bench_function("provider seam from a thread", |b| {
        b.iter(|| {
            for _ in 0..N {
                let (m, r) = (models.clone(), req.clone());
                let (tx, rx) = std::sync::mpsc::channel();
                llmspell::wait::io().spawn(async move {
                    let cap = llmspell::Limits::default().reply_bytes();
                    tx.send(m.chat(r, cap).await.is_ok()).unwrap();
                });
                assert!(rx.recv().unwrap());
            }
        })
    });
}

/// Rust direct, then the spells, then Rust direct again: on a shared
/// machine the spread between the two direct runs is how far the machine
/// drifted while the spells were measured.
fn against_direct<M: criterion::measurement::Measurement>(
    group: &mut Group<M>,
    server: &Scripted,
    opts: &RunOptions,
    n: usize,
) {
    rust_direct(group, &server.url, n, "rust direct through llm");
    from_spells(group, opts, n);
    rust_direct(
        group,
        &server.url,
        n,
        "rust direct through llm, again after the spells",
    );
}

/// The same comparison when each reply takes 5 ms, as from a fast local
/// model: N = 50 calls.
fn chat_overhead_5ms(c: &mut Criterion) {
    const CALLS: usize = 50;
    let server = Scripted::always(Reply::Slow(
        Duration::from_millis(5),
        Box::new(Reply::text("ok")),
    ));
    let dir = tempfile::tempdir().unwrap();
    let opts = options(&server, dir.path());
    let mut group = c.benchmark_group("llm_chat_50_replies_5ms");
    group.sample_size(10);
    against_direct(&mut group, &server, &opts, CALLS);
    group.finish();
}

fn parallel_overlap(c: &mut Criterion) {
    let server = Scripted::always(Reply::Slow(
        Duration::from_millis(200),
        Box::new(Reply::text("ok")),
    ));
    let dir = tempfile::tempdir().unwrap();
    let opts = options(&server, dir.path());
    let mut group = c.benchmark_group("workflow_parallel_200ms");
    group.sample_size(10);
    let runtime = Runtime::new();
    for kind in ENGINES {
        for n in [1, 8] {
            let s = spell(kind, &parallel(kind, n));
            let id = BenchmarkId::new(format!("{n} call(s)"), kind);
            group.bench_with_input(id, &s, |b, s| {
                b.iter(|| runtime.run(s, &opts).result.unwrap())
            });
        }
    }
    group.finish();
}

/// The 200 instant calls again, in the process's CPU time.
fn chat_overhead_cpu(c: &mut Criterion<ProcessCpu>) {
    let server = Scripted::always(Reply::text("ok"));
    let dir = tempfile::tempdir().unwrap();
    let opts = options(&server, dir.path());
    let mut group = c.benchmark_group("llm_chat_200_cpu");
    group.sample_size(20);
    seam_from_thread(&mut group, &opts);
    against_direct(&mut group, &server, &opts, N);
    one_thread_floor(&mut group, &server.url);
    group.finish();
}

criterion_group!(benches, chat_overhead, chat_overhead_5ms, parallel_overlap);
criterion_group! {
    name = cpu;
    config = Criterion::default().with_measurement(ProcessCpu);
    targets = chat_overhead_cpu
}
criterion_main!(benches, cpu);
