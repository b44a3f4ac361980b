//! The conformance suite: every case in `tests/conformance/` is one spell
//! written in Lua, JavaScript and Rhai with one expected outcome (a JSON
//! file beside them). Each engine must produce exactly that outcome.
//!
//! Expectation keys: `result` (the spell's result), `output` (printed
//! lines), `error` (a code) and `message_contains`, `args` (spell.args),
//! `limits` (overrides), `prestate` (state before the run), `state` (state
//! after it), `stop_after_ms` (stop it from another thread), `broken_store`
//! (the state folder cannot be created).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use llmspell::{Config, EngineKind, RunOptions, Runtime, Spell};
use serde_json::Value as Json;

#[global_allocator]
static ALLOC: llmspell::CountingAllocator = llmspell::CountingAllocator;

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance")
}

pub struct Run {
    pub result: Result<Json, llmspell::Error>,
    pub output: Vec<String>,
    pub state: serde_json::Map<String, Json>,
}

fn run_case(spell_path: &Path, expect: &Json, debugged: bool) -> Run {
    let dir = tempfile::tempdir().expect("temp dir");
    let source = std::fs::read_to_string(spell_path).expect("spell source");
    let name = spell_path
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let mut spell = Spell::from_source(&name, &source).expect("engine from extension");
    spell.dir = dir.path().to_path_buf();
    let mut config = Config::for_dir(dir.path());
    config.limits.timeout_secs = 20.0;
    config.limits.memory_mb = 64;
    if let Some(limits) = expect.get("limits").and_then(Json::as_object) {
        let mut merged = serde_json::to_value(LimitsView::from(&config.limits)).unwrap();
        for (k, v) in limits {
            merged[k] = v.clone();
        }
        let l: LimitsView = serde_json::from_value(merged).expect("limits in case file");
        config.limits.timeout_secs = l.timeout_secs;
        config.limits.instructions = l.instructions;
        config.limits.memory_mb = l.memory_mb;
        config.limits.call_depth = l.call_depth;
    }
    if expect.get("broken_store").is_some() {
        std::fs::write(dir.path().join(".llmspell"), "not a folder").unwrap();
    }
    if let Some(pre) = expect.get("prestate").and_then(Json::as_object) {
        let store = llmspell::store::Store::open(dir.path()).unwrap();
        for (k, v) in pre {
            store.set(k, v).unwrap();
        }
    }
    let output = Arc::new(Mutex::new(Vec::new()));
    let mut opts = RunOptions::new(config);
    let sink = output.clone();
    opts.output = Arc::new(move |line| {
        sink.lock()
            .unwrap()
            .push(String::from_utf8_lossy(line).into_owned())
    });
    opts.log = Arc::new(|_, _, _| {});
    if let Some(args) = expect.get("args").and_then(Json::as_object) {
        opts.args = args.clone();
    }
    if debugged {
        opts.debugger = Some(llmspell::debug::Debugger::new());
    }
    let handle = Runtime::new().spawn(spell, opts);
    if let Some(ms) = expect.get("stop_after_ms").and_then(Json::as_u64) {
        std::thread::sleep(std::time::Duration::from_millis(ms));
        handle.stop_handle().stop();
    }
    let outcome = handle.join();
    let mut state = serde_json::Map::new();
    if expect.get("broken_store").is_none() && dir.path().join(".llmspell").exists() {
        let store = llmspell::store::Store::open(dir.path()).unwrap();
        for k in store.keys("").unwrap() {
            state.insert(k.clone(), store.get(&k).unwrap().unwrap().value);
        }
    }
    let output = output.lock().unwrap().clone();
    Run {
        result: outcome.result,
        output,
        state,
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct LimitsView {
    timeout_secs: f64,
    instructions: u64,
    memory_mb: u64,
    call_depth: u32,
}

impl From<&llmspell::Limits> for LimitsView {
    fn from(l: &llmspell::Limits) -> Self {
        LimitsView {
            timeout_secs: l.timeout_secs,
            instructions: l.instructions,
            memory_mb: l.memory_mb,
            call_depth: l.call_depth,
        }
    }
}

fn check(run: &Run, expect: &Json) -> Vec<String> {
    let mut problems = Vec::new();
    match (&run.result, expect.get("error").and_then(Json::as_str)) {
        (Ok(v), None) => {
            let want = expect.get("result").cloned().unwrap_or(Json::Null);
            if *v != want {
                problems.push(format!("result {v} != expected {want}"));
            }
        }
        (Ok(v), Some(code)) => problems.push(format!("expected error {code}, got result {v}")),
        (Err(e), None) => problems.push(format!("unexpected error {}", e.report())),
        (Err(e), Some(code)) => {
            if e.code.as_str() != code {
                problems.push(format!("expected error {code}, got {}", e.report()));
            }
            if let Some(text) = expect.get("message_contains").and_then(Json::as_str) {
                if !e.message.contains(text) {
                    problems.push(format!("error message {:?} lacks {text:?}", e.message));
                }
            }
            if let Some(line) = expect.get("line").and_then(Json::as_u64) {
                match &e.location {
                    Some(loc) if u64::from(loc.line) == line => {}
                    other => problems.push(format!("expected line {line}, got {other:?}")),
                }
            }
        }
    }
    if let Some(out) = expect.get("output") {
        let want: Vec<String> =
            serde_json::from_value(out.clone()).expect("output is a list of lines");
        if run.output != want {
            problems.push(format!("output {:?} != expected {want:?}", run.output));
        }
    }
    if let Some(state) = expect.get("state") {
        let got = Json::Object(run.state.clone());
        if got != *state {
            problems.push(format!("state {got} != expected {state}"));
        }
    }
    problems
}

#[test]
fn every_case_passes_in_every_engine() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 40, "only {} conformance cases", cases.len());
    let only = std::env::var("CASE").ok();
    let mut failures = Vec::new();
    let mut ran = 0;
    for case in &cases {
        let stem = case.file_stem().unwrap().to_string_lossy().into_owned();
        if only.as_deref().is_some_and(|o| !stem.contains(o)) {
            continue;
        }
        let expect: Json = serde_json::from_str(&std::fs::read_to_string(case).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", case.display()));
        for kind in EngineKind::ALL {
            let spell = case.with_extension(kind.extension());
            if !spell.exists() {
                failures.push(format!("{stem}: no {} version", kind));
                continue;
            }
            let run = run_case(&spell, &expect, false);
            ran += 1;
            for p in check(&run, &expect) {
                failures.push(format!("{stem}.{kind}: {p}"));
            }
        }
    }
    eprintln!("{ran} conformance runs");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A debugged JavaScript run is its source with probes in it: every case
/// comes out the same that way (under a debugger that never pauses).
#[test]
fn every_javascript_case_passes_the_same_when_debugged() {
    let mut failures = Vec::new();
    let mut ran = 0;
    for entry in std::fs::read_dir(cases_dir()).unwrap() {
        let case = entry.unwrap().path();
        if case.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let stem = case.file_stem().unwrap().to_string_lossy().into_owned();
        let expect: Json = serde_json::from_str(&std::fs::read_to_string(&case).unwrap()).unwrap();
        let run = run_case(&case.with_extension("js"), &expect, true);
        ran += 1;
        for p in check(&run, &expect) {
            failures.push(format!("{stem}.js, debugged: {p}"));
        }
    }
    assert!(ran >= 40, "{ran}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
