//! Bridge call cost per engine: a spell calling a trivial bridge N times,
//! against the same loop calling a plain script function, an empty loop,
//! and a raw host function in a bare engine of the same kind.
//!
//! Per-call figures: (loop time - empty loop time) / N. benches/README.md
//! has the numbers measured here.

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use llmspell::{Bridge, Config, EngineKind, Registry, RunOptions, Runtime, Spell};

const N: u32 = 100_000;

fn runtime() -> Runtime {
    let mut registry = Registry::standard();
    registry.add(Bridge::new(
        "bench.noop",
        "x",
        "x",
        "returns its argument",
        |_, mut args| Ok(args.take(0)),
    ));
    Runtime::with_registry(registry)
}

fn options() -> RunOptions {
    let dir = std::env::temp_dir();
    let mut opts = RunOptions::new(Config::for_dir(&dir));
    opts.output = Arc::new(|_| {});
    opts
}

fn spell(kind: EngineKind, body: &str) -> Spell {
    let source = match (kind, body) {
        (EngineKind::Lua, "bridge") => format!("local f = bench.noop for i = 1, {N} do f(i) end"),
        (EngineKind::Lua, "script") => {
            format!("local function f(x) return x end for i = 1, {N} do f(i) end")
        }
        (EngineKind::Lua, _) => format!("for i = 1, {N} do end"),
        (EngineKind::Js, "bridge") => {
            format!("const f = bench.noop; for (let i = 0; i < {N}; i++) f(i);")
        }
        (EngineKind::Js, "script") => {
            format!("function f(x) {{ return x; }} for (let i = 0; i < {N}; i++) f(i);")
        }
        (EngineKind::Js, _) => format!("for (let i = 0; i < {N}; i++) {{}}"),
        (EngineKind::Rhai, "bridge") => format!("for i in 0..{N} {{ bench.noop(i); }}"),
        (EngineKind::Rhai, "script") => format!("fn f(x) {{ x }} for i in 0..{N} {{ f(i); }}"),
        (EngineKind::Rhai, _) => format!("for i in 0..{N} {{ }}"),
    };
    Spell::from_source(&format!("bench.{}", kind.extension()), &source).unwrap()
}

/// A bare Lua with a host function; `guard` adds the same kind of
/// instruction-count hook llmspell's limits use.
fn raw_lua(guard: bool) -> impl FnMut() {
    let lua = mlua::Lua::new();
    if guard {
        let flag = std::sync::atomic::AtomicBool::new(false);
        lua.set_global_hook(
            mlua::HookTriggers::new().every_nth_instruction(1000),
            move |_, _| {
                if flag.load(std::sync::atomic::Ordering::Relaxed) {
                    return Err(mlua::Error::runtime("stopped"));
                }
                Ok(mlua::VmState::Continue)
            },
        )
        .unwrap();
    }
    let f = lua.create_function(|_, x: i64| Ok(x)).unwrap();
    lua.globals().set("noop", f).unwrap();
    let chunk = lua
        .load(format!("local f = noop for i = 1, {N} do f(i) end"))
        .into_function()
        .unwrap();
    move || {
        let _alive = &lua;
        chunk.call::<()>(()).unwrap()
    }
}

fn raw_js() -> impl FnMut() {
    let rt = rquickjs::Runtime::new().unwrap();
    let ctx = rquickjs::Context::full(&rt).unwrap();
    ctx.with(|ctx| {
        let f = rquickjs::Function::new(ctx.clone(), |x: i32| x).unwrap();
        ctx.globals().set("noop", f).unwrap();
    });
    let src = format!("(() => {{ const f = noop; for (let i = 0; i < {N}; i++) f(i); }})");
    move || {
        ctx.with(|ctx| {
            let run: rquickjs::Function = ctx.eval(src.as_str()).unwrap();
            run.call::<_, ()>(()).unwrap();
        })
    }
}

fn raw_rhai() -> impl FnMut() {
    let mut engine = rhai::Engine::new_raw();
    use rhai::packages::Package;
    engine.register_global_module(rhai::packages::StandardPackage::new().as_shared_module());
    engine.register_fn("noop", |x: i64| x);
    let ast = engine
        .compile(format!("for i in 0..{N} {{ noop(i); }}"))
        .unwrap();
    move || engine.run_ast(&ast).unwrap()
}

fn bridge_calls(c: &mut Criterion) {
    let rt = runtime();
    let opts = options();
    let mut g = c.benchmark_group(format!("{N} calls"));
    g.sample_size(20);
    for kind in EngineKind::ALL {
        for body in ["bridge", "script", "empty"] {
            let s = spell(kind, body);
            g.bench_with_input(BenchmarkId::new(body, kind), &s, |b, s| {
                b.iter(|| {
                    let out = rt.run_here(s, &opts);
                    assert_eq!(out.result, Ok(serde_json::Value::Null));
                })
            });
        }
    }
    let mut lua = raw_lua(false);
    g.bench_function(BenchmarkId::new("raw host fn", "lua"), |b| b.iter(&mut lua));
    let mut lua = raw_lua(true);
    g.bench_function(BenchmarkId::new("raw host fn + hook", "lua"), |b| {
        b.iter(&mut lua)
    });
    let mut js = raw_js();
    g.bench_function(BenchmarkId::new("raw host fn", "js"), |b| b.iter(&mut js));
    let mut rh = raw_rhai();
    g.bench_function(BenchmarkId::new("raw host fn", "rhai"), |b| b.iter(&mut rh));
    g.finish();
}

/// The JavaScript event loop: Promise jobs, timers due together, and
/// waiting calls that end together.
fn js_event_loop(c: &mut Criterion) {
    let rt = runtime();
    let opts = options();
    let mut g = c.benchmark_group("js event loop");
    g.sample_size(20);
    for (name, source) in [
        ("10000 awaits", "for (let i = 0; i < 10000; i++) await null;"),
        (
            "10000 timers due together",
            "await new Promise((done) => { let n = 0; \
             for (let i = 0; i < 10000; i++) setTimeout(() => { if (++n === 10000) done(); }, 1); });",
        ),
        (
            "100 sleeps at once",
            "await Promise.all(Array.from({length: 100}, () => workflow.sleep(1)));",
        ),
    ] {
        let s = Spell::from_source("loop.js", source).unwrap();
        g.bench_with_input(BenchmarkId::from_parameter(name), &s, |b, s| {
            b.iter(|| {
                let out = rt.run_here(s, &opts);
                assert_eq!(out.result, Ok(serde_json::Value::Null));
            })
        });
    }
    g.finish();
}

/// The calls users make most, from a Lua loop of 20,000: `state.get`,
/// `state.set` (each a committed SQLite write) and `json.decode`, against
/// the same loop calling a plain Lua function.
fn common_calls(c: &mut Criterion) {
    const CALLS: u32 = 20_000;
    let rt = runtime();
    let project = tempfile::tempdir().unwrap();
    let mut opts = RunOptions::new(Config::for_dir(project.path()));
    opts.output = Arc::new(|_| {});
    let seed = Spell::from_source("seed.lua", "state.set('k', {n = 1, s = 'text'})").unwrap();
    assert_eq!(
        rt.run_here(&seed, &opts).result,
        Ok(serde_json::Value::Null)
    );
    let mut g = c.benchmark_group(format!("{CALLS} common calls"));
    g.sample_size(10);
    for (name, body) in [
        (
            "plain lua fn",
            "local function f(k) return k end for i = 1, N do f('k') end",
        ),
        (
            "state.get",
            "local get = state.get for i = 1, N do get('k') end",
        ),
        (
            "state.set",
            "local set = state.set for i = 1, N do set('w', i) end",
        ),
        (
            "json.decode",
            "local d = json.decode for i = 1, N do d('1') end",
        ),
    ] {
        let source = body.replace(" N ", &format!(" {CALLS} "));
        let s = Spell::from_source("common.lua", &source).unwrap();
        g.bench_with_input(BenchmarkId::from_parameter(name), &s, |b, s| {
            b.iter(|| {
                let out = rt.run_here(s, &opts);
                assert_eq!(out.result, Ok(serde_json::Value::Null));
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bridge_calls, js_event_loop, common_calls);
criterion_main!(benches);
