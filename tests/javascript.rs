//! JavaScript's event loop, errors that cross the bridges, and the host
//! APIs, where a run's outcome (not only its printed lines) is the point:
//! failures, limits, seeds, a REPL, a debugger's pause. `tests/node.rs`
//! compares printed lines with node's.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use llmspell::debug::{Debugger, Resume};
use llmspell::{Config, EngineKind, ErrorCode, Repl, RunOptions, Runtime, Spell};

#[global_allocator]
static ALLOC: llmspell::CountingAllocator = llmspell::CountingAllocator;

struct Run {
    result: Result<serde_json::Value, llmspell::Error>,
    lines: Vec<String>,
}

/// Options for a run in `dir` whose printed lines go to the list returned
/// and whose log goes nowhere.
fn options(dir: &std::path::Path) -> (RunOptions, Arc<Mutex<Vec<String>>>) {
    let mut opts = RunOptions::new(Config::for_dir(dir));
    let lines = Arc::new(Mutex::new(Vec::new()));
    let printed = lines.clone();
    opts.output = Arc::new(move |l| {
        printed
            .lock()
            .unwrap()
            .push(String::from_utf8_lossy(l).into_owned())
    });
    opts.log = Arc::new(|_, _, _| {});
    (opts, lines)
}

fn run_with(src: &str, edit: impl FnOnce(&mut RunOptions)) -> Run {
    let d = tempfile::tempdir().unwrap();
    let mut spell = Spell::from_source("c.js", src).unwrap();
    spell.dir = d.path().to_path_buf();
    let (mut opts, lines) = options(d.path());
    edit(&mut opts);
    let result = Runtime::new().run(&spell, &opts).result;
    let lines = lines.lock().unwrap().clone();
    Run { result, lines }
}

fn run(src: &str) -> Run {
    run_with(src, |_| {})
}

/// The report a failing spell ends with, and what it printed first.
fn failure(src: &str) -> (String, Vec<String>) {
    let r = run(src);
    match r.result {
        Err(e) => (e.report(), r.lines),
        Ok(v) => panic!("{src}\nshould fail, but returned {v}"),
    }
}

#[test]
fn a_rejection_nothing_handles_fails_the_run_with_its_error_and_place() {
    for (src, want) in [
        (
            "Promise.reject(new Error(\"lost\"));\nexport default 1;",
            "spell.error: unhandled rejection: lost\n  --> c.js:1",
        ),
        (
            "async function f() {\n  throw new TypeError(\"in async\");\n}\nf();",
            "spell.error: unhandled rejection: TypeError: in async\n  --> c.js:2",
        ),
        // A waiting call nobody awaited keeps its own code.
        (
            "workflow.sleep(-1);\nawait workflow.sleep(5);",
            "args.invalid: unhandled rejection: workflow.sleep: ms must not be negative",
        ),
        // As in node, a rejection still unhandled when its turn ends is
        // fatal, even if code would have caught it later.
        (
            "const p = Promise.reject(new Error(\"later\"));\nawait workflow.sleep(1);\nawait p.catch(() => {});",
            "spell.error: unhandled rejection: later\n  --> c.js:1",
        ),
        (
            "setTimeout(() => Promise.reject(42), 1);",
            "spell.error: unhandled rejection: 42",
        ),
    ] {
        let (report, _) = failure(src);
        assert_eq!(report, want, "{src}");
    }
    // Handled within the turn: no failure.
    for src in [
        "const p = Promise.reject(new Error(\"x\")); p.catch(() => {}); export default 1;",
        "const p = Promise.reject(new Error(\"x\")); await Promise.resolve(); await p.catch(() => {}); export default 1;",
        "try { await Promise.reject(new Error(\"x\")); } catch (_) {} export default 1;",
    ] {
        assert_eq!(run(src).result.unwrap(), serde_json::json!(1), "{src}");
    }
}

#[test]
fn what_a_timer_a_microtask_or_a_listener_throws_is_uncaught_as_in_node() {
    for (src, want, printed) in [
        (
            "setTimeout(() => {\n  throw new RangeError(\"in timer\");\n}, 1);\nprint(\"top\");",
            "spell.error: RangeError: in timer\n  --> c.js:2",
            vec!["top"],
        ),
        (
            "queueMicrotask(() => { throw new Error(\"in micro\"); });",
            "spell.error: in micro\n  --> c.js:1",
            vec![],
        ),
        // The other listeners and the dispatching code run first.
        (
            "const t = new EventTarget();\nt.addEventListener(\"x\", () => { throw new Error(\"in listener\"); });\nt.addEventListener(\"x\", () => print(\"second\"));\nt.dispatchEvent(new Event(\"x\"));\nprint(\"after\");",
            "spell.error: in listener\n  --> c.js:2",
            vec!["second", "after"],
        ),
        (
            "setInterval(() => { throw {code: 7}; }, 1);",
            "spell.error: {\"code\":7}",
            vec![],
        ),
    ] {
        let (report, lines) = failure(src);
        assert_eq!(report, want, "{src}");
        assert_eq!(lines, printed, "{src}");
    }
}

#[test]
fn what_a_callback_throws_is_what_its_caller_catches() {
    // Through workflow.map (async and plain callbacks), parallel, retry
    // and state.update. (An events.on handler's error never reaches the
    // emitter: it is logged.)
    let src = r#"
const thrown = new TypeError("bad item", { cause: new Error("root") });
thrown.extra = 7;
const got = [];
for (const f of [
  () => workflow.map([1, 2], async (x) => { if (x === 2) throw thrown; return x; }),
  () => workflow.map([1], () => { throw thrown; }),
  () => workflow.parallel([() => 1, () => { throw thrown; }]),
  () => workflow.retry(() => { throw thrown; }, { attempts: 1 }),
  () => state.update("k", () => { throw thrown; }),
]) {
  try {
    await f();
    got.push("no error");
  } catch (e) {
    got.push([e === thrown, e instanceof TypeError, e.extra, e.cause?.message, e.code ?? null].join(" "));
  }
}
class MyError extends Error { get name() { return "MyError"; } }
try {
  await workflow.map([1], () => { throw new MyError("own class"); });
} catch (e) {
  got.push(`${e instanceof MyError} ${e.name} ${e.message}`);
}
// Errors of the bridges' own keep their codes.
try {
  await workflow.map([1], () => json.decode("{"));
} catch (e) {
  got.push(e.code);
}
export default got;
"#;
    let r = run(src);
    assert_eq!(
        r.result.unwrap(),
        serde_json::json!([
            "true true 7 root ",
            "true true 7 root ",
            "true true 7 root ",
            "true true 7 root ",
            "true true 7 root ",
            "true MyError own class",
            "args.invalid"
        ])
    );
    // Where a bridge gives the error a code of its own, the thrown value
    // is that error's cause.
    let src = r#"
const thrown = new RangeError("kaput");
tool.define({ name: "boom", description: "fails", run: () => { throw thrown; } });
const got = [];
try { await tool.call("boom"); } catch (e) { got.push(e.code, e.cause === thrown); }
const id = hooks.before("state.get", () => { throw thrown; });
try { state.get("x"); } catch (e) { got.push(e.code, e.cause === thrown); }
hooks.remove(id);
export default got;
"#;
    assert_eq!(
        run(src).result.unwrap(),
        serde_json::json!(["tool.failed", true, "hook.failed", true])
    );
    // Uncaught, it names the line it was thrown at, inside the callback.
    let (report, _) = failure(
        "await workflow.map([1, 2], (x) => {\n  if (x === 2) {\n    throw new TypeError(\"second\");\n  }\n});",
    );
    assert_eq!(report, "spell.error: TypeError: second\n  --> c.js:3");
}

#[test]
fn the_run_waits_for_pending_timers_and_calls_within_its_limits() {
    let r = run("workflow.sleep(30).then(() => print(\"late\"));\nsetTimeout(() => print(\"timer\"), 10);\nexport default 1;");
    assert_eq!(r.result.unwrap(), serde_json::json!(1));
    assert_eq!(r.lines, ["timer", "late"]);
    // Nothing the run waits for is left: a Promise that cannot settle.
    let (report, _) = failure("await new Promise(() => {});");
    assert!(
        report.starts_with("spell.error: the spell awaits a Promise that never settles"),
        "{report}"
    );
    // An unref'd timer does not keep the run going (as in node).
    let r = run("setTimeout(() => print(\"never\"), 5000).unref(); export default 2;");
    assert_eq!(
        (r.result.unwrap(), r.lines.len()),
        (serde_json::json!(2), 0)
    );
    // A timer's callback counts against the instruction limit, and a wait
    // against the time limit.
    let r = run_with(
        "setInterval(() => { for (let i = 0; i < 1e4; i++); }, 1);",
        |o| {
            o.config.limits.instructions = 2_000_000;
        },
    );
    assert_eq!(r.result.unwrap_err().code, ErrorCode::LimitInstructions);
    let r = run_with("setTimeout(() => {}, 60000);", |o| {
        o.config.limits.timeout_secs = 0.3
    });
    assert_eq!(r.result.unwrap_err().code, ErrorCode::LimitTime);
}

#[test]
fn an_abort_signal_cancels_a_waiting_call_and_its_promise_rejects_with_the_reason() {
    let src = r#"
const ac = new AbortController();
const reason = new Error("changed my mind");
setTimeout(() => ac.abort(reason), 5);
const t = Date.now();
let caught;
try { await workflow.sleep(60000, { signal: ac.signal }); } catch (e) { caught = e; }
// The signal's listener went with the call: aborting again does nothing.
export default [caught === reason, Date.now() - t < 30000];
"#;
    let r = run_with(src, |o| o.config.limits.timeout_secs = 30.0);
    assert_eq!(r.result.unwrap(), serde_json::json!([true, true]));
    // The signal does not reach the bridge as an argument.
    let r =
        run("export default await workflow.sleep(1, { signal: new AbortController().signal });");
    assert_eq!(r.result.unwrap(), serde_json::Value::Null);
}

#[test]
fn random_numbers_follow_the_runs_seed() {
    let src = "export default [Math.random(), crypto.randomUUID(), Array.from(crypto.getRandomValues(new Uint8Array(4)))];";
    let seeded = |seed: u8| run_with(src, |o| o.seed = Some([seed; 32])).result.unwrap();
    assert_eq!(seeded(1), seeded(1), "the same seed, the same numbers");
    assert_ne!(seeded(1), seeded(2));
    let fresh = || run(src).result.unwrap();
    assert_ne!(fresh(), fresh(), "each run has a fresh seed of its own");
}

#[test]
fn a_repls_pending_timers_go_on_in_the_entries_after() {
    let d = tempfile::tempdir().unwrap();
    let (opts, lines) = options(d.path());
    let rt = Runtime::new();
    let mut repl = Repl::new(&rt, EngineKind::Js, &opts).unwrap();
    assert_eq!(
        repl.eval("setTimeout(() => print(\"fired\"), 20); 1")
            .unwrap(),
        serde_json::json!(1)
    );
    assert!(
        lines.lock().unwrap().is_empty(),
        "an entry does not wait for its timers"
    );
    repl.eval("await workflow.sleep(100); 2").unwrap();
    assert_eq!(*lines.lock().unwrap(), ["fired"]);
    // An entry's unhandled rejection fails that entry only.
    let err = repl
        .eval("Promise.reject(new Error(\"x\")); 3")
        .unwrap_err();
    assert_eq!(err.to_string(), "spell.error: unhandled rejection: x");
    assert_eq!(repl.eval("4").unwrap(), serde_json::json!(4));
}

#[test]
fn timers_keep_the_spells_clock_which_stands_still_while_a_debugger_holds_it() {
    let d = tempfile::tempdir().unwrap();
    let debugger = Debugger::new();
    debugger.break_on("log.info");
    let src = "const t = Date.now();\nsetTimeout(() => print(String(Date.now() - t)), 300);\nlog.info(\"pause here\");";
    let mut spell = Spell::from_source("c.js", src).unwrap();
    spell.dir = d.path().to_path_buf();
    let (mut opts, lines) = options(d.path());
    opts.debugger = Some(debugger.clone());
    let rt = Runtime::new();
    let handle = rt.spawn(spell, opts);
    debugger
        .wait_paused(Duration::from_secs(10))
        .expect("paused at log.info");
    std::thread::sleep(Duration::from_millis(1000));
    debugger.resume(Resume::Continue, None);
    handle.join().result.unwrap();
    let waited: u64 = lines.lock().unwrap()[0].parse().unwrap();
    // 300 ms of the spell's time, after the 1 s pause: not at once on
    // resuming, as it would be on the wall clock.
    assert!(
        waited >= 1250,
        "the timer fired {waited} ms after it was set"
    );
}
