//! A bridge that returns an object, added from outside the library with no
//! engine change: `docs/architecture.md`'s worked example, used from all
//! three languages. Its methods go through the dispatcher (hooks see them)
//! and its state is the spell's own.

use std::sync::Arc;

use llmspell::session::{Bridge, Method, Registry};
use llmspell::value::{Map, Value};
use llmspell::{Config, RunOptions, Runtime, Spell};

#[global_allocator]
static ALLOC: llmspell::CountingAllocator = llmspell::CountingAllocator;

// The worked example, as docs/architecture.md shows it (a test below keeps
// the two the same).

use std::cell::RefCell;

/// This spell's counters (its state in the session).
#[derive(Default)]
struct Counters(RefCell<Vec<i64>>);

const METHODS: &[Method] = &[Method::new("up", "counter.up")];

pub fn register(r: &mut Registry) {
    r.add(
        Bridge::new(
            "counter.new",
            "",
            "a counter object",
            "a counter at 0",
            |call, _| {
                let counters = call.session.state().get::<Counters>();
                let mut list = counters.0.borrow_mut();
                list.push(0);
                let mut h = Map::new();
                h.insert("id".into(), Value::Int(list.len() as i64));
                Ok(Value::Map(h))
            },
        )
        .returns_object(METHODS),
    );
    r.add(Bridge::new(
        "counter.up",
        "counter",
        "number",
        "one more",
        |call, args| {
            let Value::Map(h) = args.get(0) else {
                return Err(args.error("not a counter"));
            };
            let Some(Value::Int(id)) = h.get("id") else {
                return Err(args.error("not a counter"));
            };
            let counters = call.session.state().get::<Counters>();
            let mut list = counters.0.borrow_mut();
            let slot = id.checked_sub(1).and_then(|i| usize::try_from(i).ok());
            let n = slot
                .and_then(|i| list.get_mut(i))
                .ok_or_else(|| args.error("not a counter"))?;
            *n += 1;
            Ok(Value::Int(*n))
        },
    ));
}

fn run(runtime: &Runtime, name: &str, src: &str) -> llmspell::Result<serde_json::Value> {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = RunOptions::new(Config::for_dir(dir.path()));
    opts.output = Arc::new(|_| {});
    opts.log = Arc::new(|_, _, _| {});
    let mut spell = Spell::from_source(name, src).unwrap();
    spell.dir = dir.path().to_path_buf();
    runtime.run(&spell, &opts).result
}

fn with_counter() -> Runtime {
    let mut registry = Registry::standard();
    register(&mut registry);
    // A name Rhai reserves (`spawn`), which no engine was told of.
    registry.add(Bridge::new("counter.spawn", "", "7", "seven", |_, _| {
        Ok(Value::Int(7))
    }));
    Runtime::with_registry(registry)
}

#[test]
fn a_bridge_named_as_a_keyword_is_called_in_every_language() {
    let rt = with_counter();
    for (name, src) in [
        ("k.lua", "return counter.spawn()"),
        ("k.js", "export default counter.spawn();"),
        ("k.rhai", "counter.spawn()"),
    ] {
        assert_eq!(run(&rt, name, src), Ok(serde_json::json!(7)), "{name}");
    }
}

#[test]
fn an_object_bridge_added_to_the_registry_works_in_every_language() {
    let rt = with_counter();
    let cases = [
        (
            "c.lua",
            "local a, b = counter.new(), counter.new()
             a:up() a:up() b:up()
             local seen = {}
             hooks.before('counter.up', function(c) seen[#seen + 1] = c.point end)
             local n = a:up()
             return {a = n, b = b:up(), hooked = #seen, id = a.id}",
        ),
        (
            "c.js",
            "const a = counter.new(), b = counter.new();
             a.up(); a.up(); b.up();
             const seen = [];
             hooks.before('counter.up', (c) => { seen.push(c.point); });
             const n = a.up();
             export default {a: n, b: b.up(), hooked: seen.length, id: a.id};",
        ),
        (
            "c.rhai",
            "let a = counter.new(); let b = counter.new();
             a.up(); a.up(); b.up();
             hooks.before(\"counter.up\", |c| {
                 state.update(\"seen\", |n| if n == () { 1 } else { n + 1 });
                 ()
             });
             let n = a.up();
             #{a: n, b: b.up(), hooked: state.get(\"seen\"), id: a.id}",
        ),
    ];
    for (name, src) in cases {
        let out = run(&rt, name, src);
        assert_eq!(
            out,
            Ok(serde_json::json!({"a": 3, "b": 2, "hooked": 2, "id": 1})),
            "{name}"
        );
    }
}

#[test]
fn an_object_method_on_a_stranger_value_fails_with_the_bridges_error() {
    let rt = with_counter();
    for (name, src) in [
        ("x.lua", "return counter.up({id = 9})"),
        ("x.js", "export default counter.up({id: 0});"),
        ("x.rhai", "counter.up(#{id: -9223372036854775807 - 1})"),
    ] {
        let err = run(&rt, name, src).unwrap_err();
        assert_eq!(
            err.code,
            llmspell::ErrorCode::ArgsInvalid,
            "{name}: {err:?}"
        );
        assert!(err.message.contains("not a counter"), "{name}: {err:?}");
    }
}

#[test]
fn the_architecture_doc_shows_this_bridge() {
    let doc = include_str!("../docs/architecture.md");
    let here = include_str!("objects.rs");
    let start = doc.find("```rust\n").expect("the worked example") + 8;
    let block = &doc[start..start + doc[start..].find("```").unwrap()];
    for line in block.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with("use ") || line.starts_with("//!") {
            continue;
        }
        let line = line.replace("pub(super) fn", "pub fn");
        assert!(here.contains(&line), "not in tests/objects.rs: {line}");
    }
}
