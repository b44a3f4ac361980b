//! Pausing at bridge calls, in every engine: break patterns, stepping,
//! arguments edited before a call and results after it, abort and stop
//! while paused.

mod support;

use std::sync::Arc;
use std::time::Duration;

use llmspell::debug::{Debugger, Resume, When};
use llmspell::{Config, EngineKind, ErrorCode, RunHandle, RunOptions, Runtime, Spell};
use serde_json::json;
use support::scripted::{Reply, Scripted};

#[global_allocator]
static ALLOC: llmspell::CountingAllocator = llmspell::CountingAllocator;

const WAIT: Duration = Duration::from_secs(10);

fn start(
    rt: &Runtime,
    dir: &std::path::Path,
    config: Config,
    kind: EngineKind,
    src: &str,
    debugger: &Debugger,
) -> RunHandle {
    let mut spell = Spell::from_source(&format!("debug.{}", kind.extension()), src).unwrap();
    spell.dir = dir.to_path_buf();
    let mut opts = RunOptions::new(config);
    opts.output = Arc::new(|_| {});
    opts.debugger = Some(debugger.clone());
    rt.spawn(spell, opts)
}

#[test]
fn breaks_step_and_edit_arguments_and_results_in_every_engine() {
    for (kind, src) in [
        (
            EngineKind::Lua,
            "state.set(\"a\", 1)\nlocal s = json.encode({n = 2})\nreturn state.get(\"a\")",
        ),
        (
            EngineKind::Js,
            "state.set(\"a\", 1);\nconst s = json.encode({n: 2});\nexport default state.get(\"a\");",
        ),
        (
            EngineKind::Rhai,
            "state.set(\"a\", 1);\nlet s = json.encode(#{n: 2});\nstate.get(\"a\")",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let rt = Runtime::new();
        let debugger = Debugger::new();
        debugger.break_on("state.*");
        let run = start(&rt, dir.path(), Config::for_dir(dir.path()), kind, src, &debugger);

        let p = debugger.wait_paused(WAIT).expect("paused before state.set");
        assert_eq!((p.when, p.call.as_str()), (When::Before, "state.set"), "{kind}");
        assert_eq!(p.args, vec![json!("a"), json!(1)], "{kind}");
        assert_eq!(p.location.map(|l| l.line), Some(1), "{kind}");
        debugger.resume(Resume::Step, Some(json!(["a", 5])));

        let p = debugger.wait_paused(WAIT).expect("paused after state.set");
        assert_eq!((p.when, p.call.as_str()), (When::After, "state.set"), "{kind}");
        assert_eq!(p.args, vec![json!("a"), json!(5)], "{kind}");
        // Continue: json.encode matches no pattern, so the next pause is
        // before state.get.
        debugger.resume(Resume::Continue, None);

        let p = debugger.wait_paused(WAIT).expect("paused before state.get");
        assert_eq!((p.when, p.call.as_str()), (When::Before, "state.get"), "{kind}");
        assert_eq!(p.location.map(|l| l.line), Some(3), "{kind}");
        debugger.resume(Resume::Step, None);

        let p = debugger.wait_paused(WAIT).expect("paused after state.get");
        assert_eq!(p.result, Some(json!(5)), "{kind}: the edited write was saved");
        debugger.resume(Resume::Continue, Some(json!(7)));

        let out = run.join();
        assert_eq!(out.result.unwrap(), json!(7), "{kind}");
        assert!(debugger.paused().is_none());
    }
}

#[test]
fn a_model_call_pauses_and_its_prompt_and_reply_can_be_edited() {
    for (kind, src) in [
        (EngineKind::Lua, "return llm.chat(\"hi\").text"),
        (
            EngineKind::Js,
            "export default (await llm.chat(\"hi\")).text;",
        ),
        (EngineKind::Rhai, "llm.chat(\"hi\").text"),
    ] {
        let server = Scripted::start(vec![Reply::text("from the model")]);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("llmspell.toml");
        std::fs::write(&file, server.toml()).unwrap();
        let rt = Runtime::new();
        let debugger = Debugger::new();
        debugger.break_on("llm.*");
        let config = Config::load(&file).unwrap();
        let run = start(&rt, dir.path(), config, kind, src, &debugger);

        let p = debugger.wait_paused(WAIT).expect("paused before llm.chat");
        assert_eq!(
            (p.when, p.call.as_str()),
            (When::Before, "llm.chat"),
            "{kind}"
        );
        debugger.resume(Resume::Step, Some(json!(["changed"])));

        let p = debugger.wait_paused(WAIT).expect("paused after llm.chat");
        assert_eq!(p.when, When::After, "{kind}");
        let mut reply = p.result.unwrap();
        assert_eq!(reply["text"], "from the model", "{kind}");
        reply["text"] = json!("edited at the pause");
        debugger.resume(Resume::Continue, Some(reply));

        assert_eq!(
            run.join().result.unwrap(),
            json!("edited at the pause"),
            "{kind}"
        );
        let sent = &server.requests.lock().unwrap()[0];
        assert_eq!(sent["messages"][0]["content"], "changed", "{kind}");
    }
}

#[test]
fn abort_or_stop_ends_a_paused_spell_and_nothing_after_runs() {
    for kind in [EngineKind::Lua, EngineKind::Js, EngineKind::Rhai] {
        for stop in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let rt = Runtime::new();
            let debugger = Debugger::new();
            debugger.break_on("*");
            let src = match kind {
                EngineKind::Js => "state.set(\"x\", 1);",
                _ => "state.set(\"x\", 1)",
            };
            let config = Config::for_dir(dir.path());
            let run = start(&rt, dir.path(), config, kind, src, &debugger);
            debugger.wait_paused(WAIT).expect("paused");
            if stop {
                run.stop_handle().stop();
            } else {
                debugger.resume(Resume::Abort, None);
            }
            let e = run.join().result.unwrap_err();
            assert_eq!(e.code, ErrorCode::Cancelled, "{kind}: {e}");
            assert!(debugger.paused().is_none(), "{kind}");
            // The write never happened.
            let check = Spell::from_source("check.lua", "return state.get(\"x\")").unwrap();
            let mut check = check;
            check.dir = dir.path().to_path_buf();
            let mut opts = RunOptions::new(Config::for_dir(dir.path()));
            opts.output = Arc::new(|_| {});
            assert_eq!(rt.run(&check, &opts).result.unwrap(), json!(null), "{kind}");
        }
    }
}

#[test]
fn pauses_that_look_alike_are_still_told_apart() {
    let dir = tempfile::tempdir().unwrap();
    let rt = Runtime::new();
    let debugger = Debugger::new();
    debugger.break_on("state.set");
    let src = "for i = 1, 2 do state.set(\"same\", 1) end";
    let config = Config::for_dir(dir.path());
    let run = start(&rt, dir.path(), config, EngineKind::Lua, src, &debugger);
    let (first, p1) = debugger.wait_next_pause(0, WAIT).expect("first pause");
    // Not answered yet: there is no later pause to see.
    assert!(debugger
        .wait_next_pause(first, Duration::from_millis(100))
        .is_none());
    debugger.resume(Resume::Continue, None);
    let (second, p2) = debugger.wait_next_pause(first, WAIT).expect("second pause");
    assert_eq!(
        (&p1.call, &p1.args, &p1.location),
        (&p2.call, &p2.args, &p2.location)
    );
    assert!(second > first);
    debugger.resume(Resume::Continue, None);
    assert_eq!(run.join().result.unwrap(), json!(null));
}

#[test]
fn calls_that_take_functions_pause_and_keep_their_functions() {
    for (kind, src) in [
        (
            EngineKind::Lua,
            "return state.update(\"n\", function(n) return (n or 0) + 1 end)",
        ),
        (
            EngineKind::Js,
            "export default await state.update(\"n\", (n) => (n ?? 0) + 1);",
        ),
        (
            EngineKind::Rhai,
            "state.update(\"n\", |n| if n == () { 1 } else { n + 1 })",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let rt = Runtime::new();
        let debugger = Debugger::new();
        debugger.break_on("state.update");
        let config = Config::for_dir(dir.path());
        let run = start(&rt, dir.path(), config, kind, src, &debugger);
        let p = debugger.wait_paused(WAIT).expect("paused");
        assert_eq!(p.args, vec![json!("n"), json!("<function>")], "{kind}");
        // Editing the key keeps the function.
        debugger.resume(Resume::Continue, Some(json!(["m", "<function>"])));
        assert_eq!(run.join().result.unwrap(), json!(1), "{kind}");
    }
}

/// Whether this engine has line breakpoints and locals in this build (Rhai's
/// need the `rhai-debugger` feature, on by default).
fn has_lines(kind: EngineKind) -> bool {
    match kind {
        EngineKind::Lua => true,
        EngineKind::Js => true,
        EngineKind::Rhai => cfg!(feature = "rhai-debugger"),
    }
}

/// The names and values of a pause's locals.
fn locals(p: &llmspell::debug::Pause) -> Vec<(&str, serde_json::Value)> {
    p.locals
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect()
}

#[test]
fn line_breakpoints_stop_and_show_their_locals_in_every_engine() {
    for (kind, src) in [
        (
            EngineKind::Js,
            "let a = 1;\nlet t = {x: \"y\"};\nlet b = a + 1;\nfor (let i = 1; i <= 2; i++) {\n  b += i;\n}\nexport default b;",
        ),
        (
            EngineKind::Lua,
            "local a = 1\nlocal t = {x = \"y\"}\nlocal b = a + 1\nfor i = 1, 2 do\n  b = b + i\nend\nreturn b",
        ),
        (
            EngineKind::Rhai,
            "let a = 1;\nlet t = #{x: \"y\"};\nlet b = a + 1;\nfor i in 1..=2 {\n  b += i;\n}\nb",
        ),
    ] {
        if !has_lines(kind) {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let rt = Runtime::new();
        let debugger = Debugger::new();
        debugger.set_line_breaks([3, 5]);
        let run = start(&rt, dir.path(), Config::for_dir(dir.path()), kind, src, &debugger);

        let p = debugger.wait_paused(WAIT).expect("paused at line 3");
        assert_eq!((p.when, p.call.as_str()), (When::Line, "line"), "{kind}");
        let at = p.location.clone().unwrap();
        assert_eq!((at.file.as_str(), at.line), (&*format!("debug.{}", kind.extension()), 3), "{kind}");
        // Line 3 has not run yet: `b` is not there.
        assert_eq!(locals(&p), vec![("a", json!(1)), ("t", json!({"x": "y"}))], "{kind}");

        debugger.resume(Resume::Continue, None);
        let p = debugger.wait_paused(WAIT).expect("paused in the loop");
        assert_eq!(p.location.as_ref().unwrap().line, 5, "{kind}");
        let l = locals(&p);
        assert!(l.contains(&("b", json!(2))) && l.contains(&("i", json!(1))), "{kind}: {l:?}");

        // Breakpoints change while paused: without line 5 the loop runs out.
        debugger.set_line_breaks([]);
        debugger.resume(Resume::Continue, None);
        assert_eq!(run.join().result.unwrap(), json!(5), "{kind}");
    }
}

#[test]
fn a_line_step_goes_to_the_next_line_in_every_engine() {
    for (kind, src, lines) in [
        (
            EngineKind::Js,
            "let a = 1;\nlet b = 2;\nstate.set(\"k\", a + b);\nexport default 0;",
            vec![2, 3],
        ),
        (
            EngineKind::Lua,
            "local a = 1\nlocal b = 2\nstate.set(\"k\", a + b)\nreturn 0",
            vec![2, 3],
        ),
        (
            EngineKind::Rhai,
            "let a = 1;\nlet b = 2;\nstate.set(\"k\", a + b);\n0",
            vec![2, 3],
        ),
    ] {
        if !has_lines(kind) {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let rt = Runtime::new();
        let debugger = Debugger::new();
        debugger.set_line_breaks([1]);
        let run = start(
            &rt,
            dir.path(),
            Config::for_dir(dir.path()),
            kind,
            src,
            &debugger,
        );
        let (mut seen, p) = debugger.wait_next_pause(0, WAIT).expect("paused at line 1");
        assert_eq!(p.location.unwrap().line, 1, "{kind}");
        for line in lines {
            debugger.resume(Resume::StepLine, None);
            let (n, p) = debugger.wait_next_pause(seen, WAIT).expect("a line step");
            seen = n;
            assert_eq!(
                (p.when, p.location.unwrap().line),
                (When::Line, line),
                "{kind}"
            );
        }
        // On line 3, a line step goes into the call on it: before, then after.
        debugger.resume(Resume::StepLine, None);
        let (n, p) = debugger
            .wait_next_pause(seen, WAIT)
            .expect("before state.set");
        assert_eq!(
            (p.when, p.call.as_str()),
            (When::Before, "state.set"),
            "{kind}"
        );
        assert_eq!(locals(&p), vec![("a", json!(1)), ("b", json!(2))], "{kind}");
        debugger.resume(Resume::StepLine, None);
        let (_, p) = debugger.wait_next_pause(n, WAIT).expect("after state.set");
        assert_eq!(p.when, When::After, "{kind}");
        assert_eq!(p.location.unwrap().line, 3, "{kind}");
        debugger.resume(Resume::Continue, None);
        assert_eq!(run.join().result.unwrap(), json!(0), "{kind}");
    }
}

#[test]
fn a_model_call_pause_in_lua_and_rhai_shows_its_place_and_locals() {
    for (kind, src) in [
        (
            EngineKind::Lua,
            "local topic = \"owls\"\nlocal r = llm.chat(topic)\nreturn r.text",
        ),
        (
            EngineKind::Rhai,
            "let topic = \"owls\";\nlet r = llm.chat(topic);\nr.text",
        ),
    ] {
        if !has_lines(kind) {
            continue;
        }
        let server = Scripted::start(vec![Reply::text("hoot")]);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("llmspell.toml");
        std::fs::write(&file, server.toml()).unwrap();
        let rt = Runtime::new();
        let debugger = Debugger::new();
        debugger.break_on("llm.chat");
        let run = start(
            &rt,
            dir.path(),
            Config::load(&file).unwrap(),
            kind,
            src,
            &debugger,
        );
        let (n, p) = debugger.wait_next_pause(0, WAIT).expect("before llm.chat");
        assert_eq!(p.location.as_ref().map(|l| l.line), Some(2), "{kind}");
        assert_eq!(locals(&p), vec![("topic", json!("owls"))], "{kind}");
        debugger.resume(Resume::Step, None);
        let (_, p) = debugger.wait_next_pause(n, WAIT).expect("after llm.chat");
        assert_eq!(p.when, When::After, "{kind}");
        assert_eq!(
            p.location.as_ref().map(|l| l.line),
            Some(2),
            "{kind}: the place is kept"
        );
        assert_eq!(locals(&p), vec![("topic", json!("owls"))], "{kind}");
        debugger.resume(Resume::Continue, None);
        assert_eq!(run.join().result.unwrap(), json!("hoot"), "{kind}");
    }
}

#[cfg(feature = "rhai-debugger")]
#[test]
fn a_rhai_line_breakpoint_is_not_hit_inside_llmspells_own_prelude() {
    // The prelude's agent handle methods sit on its own lines 2 to 6; a
    // breakpoint on those lines of the spell must only stop the spell.
    let server = Scripted::start(vec![Reply::text("a"), Reply::text("b")]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("llmspell.toml");
    std::fs::write(&file, server.toml()).unwrap();
    let rt = Runtime::new();
    let debugger = Debugger::new();
    debugger.set_line_breaks([3, 4]);
    let src = "let bot = agent.new(#{name: \"b\"});\nlet one = bot.run(\"x\");\nlet two = bot.run(\"y\");\n\n`${one.text}${two.text}`";
    let config = Config::load(&file).unwrap();
    let run = start(&rt, dir.path(), config, EngineKind::Rhai, src, &debugger);
    let (n, p) = debugger.wait_next_pause(0, WAIT).expect("paused at line 3");
    assert_eq!(p.location.as_ref().unwrap().line, 3);
    assert!(
        locals(&p).iter().any(|(k, _)| *k == "one"),
        "{:?}",
        p.locals
    );
    debugger.resume(Resume::Continue, None);
    assert!(debugger
        .wait_next_pause(n, Duration::from_millis(300))
        .is_none());
    assert_eq!(run.join().result.unwrap(), json!("ab"));
}

#[test]
fn time_spent_paused_does_not_count_against_the_time_limit() {
    for (kind, src) in [
        (EngineKind::Lua, "state.set(\"a\", 1)\nlocal n = 0\nfor i = 1, 1e5 do n = n + 1 end\nreturn n"),
        // A debugged JavaScript run with a break pattern keeps every
        // statement's frame: a shorter loop, as in Rhai.
        (EngineKind::Js, "state.set(\"a\", 1);\nlet n = 0;\nfor (let i = 0; i < 1e4; i++) n++;\nexport default n;"),
        (EngineKind::Rhai, "state.set(\"a\", 1);\nlet n = 0;\nfor i in 0..10000 { n += 1; }\nn"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let rt = Runtime::new();
        let debugger = Debugger::new();
        debugger.break_on("state.set");
        let mut config = Config::for_dir(dir.path());
        config.limits.timeout_secs = 1.0;
        let run = start(&rt, dir.path(), config, kind, src, &debugger);
        debugger.wait_paused(WAIT).expect("paused");
        // Paused for longer than the whole time limit.
        std::thread::sleep(Duration::from_millis(1300));
        debugger.resume(Resume::Continue, None);
        let out = run.join();
        assert!(out.result.is_ok(), "{kind}: {:?}", out.result);
    }
}

/// The pauses a debugged run makes, each answered with `how`, until it
/// ends: `(when, call)` of each.
fn pauses_until_the_end(
    debugger: &Debugger,
    run: &RunHandle,
    how: &[Resume],
) -> Vec<(When, String)> {
    let mut seen = Vec::new();
    let mut n = 0;
    loop {
        match debugger.wait_next_pause(n, Duration::from_millis(300)) {
            Some((count, p)) => {
                n = count;
                let answer = how.get(seen.len()).copied().unwrap_or(Resume::Step);
                seen.push((p.when, p.call.clone()));
                debugger.resume(answer, None);
            }
            None if run.is_finished() => return seen,
            None => {}
        }
        assert!(seen.len() < 50, "{seen:?}");
    }
}

#[test]
fn step_over_a_call_skips_the_calls_made_inside_it_and_step_into_goes_in() {
    // A tool whose run makes a bridge call of its own, called twice.
    let cases = [
        (
            EngineKind::Lua,
            "local t = tool.define{name = \"t\", description = \"d\", params = {type = \"object\"},\n  run = function(a) state.set(\"inside\", 1) return 1 end}\ntool.call(t, {})\nstate.set(\"after\", 2)\nreturn 0",
        ),
        (
            EngineKind::Js,
            "const t = tool.define({name: \"t\", description: \"d\", params: {type: \"object\"},\n  run: (a) => { state.set(\"inside\", 1); return 1; }});\nawait tool.call(t, {});\nstate.set(\"after\", 2);\nexport default 0;",
        ),
        (
            EngineKind::Rhai,
            "let t = tool.define(#{name: \"t\", description: \"d\", params: #{type: \"object\"},\n  run: |a| { state.set(\"inside\", 1); 1 }});\ntool.call(t, #{});\nstate.set(\"after\", 2);\n0",
        ),
    ];
    for (kind, src) in cases {
        let dir = tempfile::tempdir().unwrap();
        let rt = Runtime::new();
        // A run of `src` under a debugger pausing before `patterns`.
        let debugged = |src: &str, patterns: &[&str]| {
            let debugger = Debugger::new();
            for p in patterns {
                debugger.break_on(p);
            }
            let config = Config::for_dir(dir.path());
            let run = start(&rt, dir.path(), config, kind, src, &debugger);
            (debugger, run)
        };
        // Step over (F10) from before tool.call: its inside is skipped,
        // even with every call a break pattern.
        let (debugger, run) = debugged(src, &["tool.call", "state.*"]);
        let seen = pauses_until_the_end(&debugger, &run, &[Resume::Step, Resume::Step]);
        assert_eq!(
            run.join().result.as_ref().map_err(|e| e.report()),
            Ok(&json!(0)),
            "{kind}"
        );
        let want = [
            (When::Before, "tool.call".to_owned()),
            (When::After, "tool.call".to_owned()),
            (When::Before, "state.set".to_owned()),
            (When::After, "state.set".to_owned()),
        ];
        let seen_calls: Vec<_> = seen
            .iter()
            .filter(|(w, _)| *w != When::Line)
            .cloned()
            .collect();
        assert_eq!(seen_calls, want, "{kind}: step over");

        // Step into (F11) from before tool.call: the next pause is inside it.
        let (debugger, run) = debugged(src, &["tool.call"]);
        let (mut n, p) = debugger
            .wait_next_pause(0, WAIT)
            .expect("paused before tool.call");
        assert_eq!(p.call, "tool.call", "{kind}");
        debugger.resume(Resume::StepLine, None);
        // Lua and Rhai stop at the run function's line first; then the
        // call inside it.
        let mut inside = None;
        for _ in 0..4 {
            let (count, p) = debugger.wait_next_pause(n, WAIT).expect("paused again");
            n = count;
            if p.when == When::Before && p.call == "state.set" {
                inside = Some(p.args.clone());
                break;
            }
            assert!(p.when == When::Line, "{kind}: {p:?}");
            debugger.resume(Resume::StepLine, None);
        }
        assert_eq!(
            inside,
            Some(vec![json!("inside"), json!(1)]),
            "{kind}: step into"
        );
        debugger.resume(Resume::Continue, None);
        assert!(run.join().result.is_ok(), "{kind}");

        // A call that fails while stepped over still ends the step: the
        // debugger pauses at the next call after it.
        let failing = match kind {
            EngineKind::Lua => "pcall(tool.call, \"nope\", {})\nstate.set(\"b\", 1)\nreturn 0",
            EngineKind::Js => "try { await tool.call(\"nope\", {}); } catch (e) {}\nstate.set(\"b\", 1);\nexport default 0;",
            EngineKind::Rhai => "try { tool.call(\"nope\", #{}); } catch (e) {}\nstate.set(\"b\", 1);\n0",
        };
        let (debugger, run) = debugged(failing, &["tool.call", "state.set"]);
        let seen = pauses_until_the_end(&debugger, &run, &[Resume::Step, Resume::Continue]);
        assert!(run.join().result.is_ok(), "{kind}");
        assert_eq!(
            seen,
            [
                (When::Before, "tool.call".to_owned()),
                (When::Before, "state.set".to_owned())
            ],
            "{kind}: after a failed call"
        );
    }
}

#[test]
fn locals_inside_a_workflow_map_function_are_right_from_its_first_item() {
    for (kind, src) in [
        (
            EngineKind::Lua,
            "local list = {\"a\", \"b\", \"c\"}\nlocal out = workflow.map(list, function(item, i)\n  local up = string.upper(item)\n  return up .. i\nend)\nreturn out",
        ),
        (
            EngineKind::Rhai,
            "let list = [\"a\", \"b\", \"c\"];\nlet out = workflow.map(list, |item, i| {\n  let up = item.to_upper();\n  up + (i + 1)\n});\nout",
        ),
    ] {
        if !has_lines(kind) {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let rt = Runtime::new();
        let debugger = Debugger::new();
        debugger.set_line_breaks([3]);
        let run = start(&rt, dir.path(), Config::for_dir(dir.path()), kind, src, &debugger);
        let mut n = 0;
        // Lua counts from 1, Rhai from 0.
        let base = i64::from(kind == EngineKind::Lua);
        for (want_item, at) in [("a", 0), ("b", 1), ("c", 2)] {
            let want_i = at + base;
            let (count, p) = debugger.wait_next_pause(n, WAIT).expect("paused in the map");
            n = count;
            assert_eq!(p.location.as_ref().map(|l| l.line), Some(3), "{kind}");
            let l = locals(&p);
            assert!(
                l.contains(&("item", json!(want_item))) && l.contains(&("i", json!(want_i))),
                "{kind}, item {want_item}: {l:?}"
            );
            debugger.resume(Resume::Continue, None);
        }
        let result = run.join().result.map_err(|e| e.report());
        assert_eq!(result, Ok(json!(["A1", "B2", "C3"])), "{kind}");
    }
}

/// The functions and lines of a pause's stack, innermost first.
fn frames(p: &llmspell::debug::Pause) -> Vec<(&str, u32)> {
    p.stack
        .iter()
        .map(|f| (f.function.as_str(), f.line))
        .collect()
}

#[test]
fn a_pause_shows_the_call_stack_at_a_line_and_at_a_bridge_call_in_every_engine() {
    // `outer` (line 5) calls `inner` (line 2), which calls state.set on
    // line 3; main calls outer on line 7.
    for (kind, src) in [
        (
            EngineKind::Js,
            "function inner(n) {\n  const m = n * 2;\n  state.set(\"k\", m);\n  return m; }\n\
             function outer(n) { return inner(n + 1) + 0; }\nconst x = 1;\n\
             const y = outer(x); export default y;",
        ),
        (
            EngineKind::Lua,
            "local function inner(n)\n  local m = n * 2\n  state.set(\"k\", m)\n  return m end\n\
             local function outer(n) return inner(n + 1) + 0 end\nlocal x = 1\n\
             local y = outer(x) return y",
        ),
        (
            EngineKind::Rhai,
            "fn inner(n) {\n  let m = n * 2;\n  state.set(\"k\", m);\n  m }\n\
             fn outer(n) { inner(n + 1) + 0 }\nlet x = 1;\nouter(x)",
        ),
    ] {
        if !has_lines(kind) {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let rt = Runtime::new();
        let debugger = Debugger::new();
        debugger.set_line_breaks([2]);
        debugger.break_on("state.set");
        let run = start(
            &rt,
            dir.path(),
            Config::for_dir(dir.path()),
            kind,
            src,
            &debugger,
        );
        let p = debugger.wait_paused(WAIT).expect("paused at line 2");
        assert_eq!(p.when, When::Line, "{kind}");
        assert_eq!(
            frames(&p),
            vec![("inner", 2), ("outer", 5), ("main", 7)],
            "{kind}"
        );
        let file = format!("debug.{}", kind.extension());
        assert!(
            p.stack.iter().all(|f| f.file == file),
            "{kind}: {:?}",
            p.stack
        );

        debugger.resume(Resume::Continue, None);
        let p = debugger.wait_paused(WAIT).expect("paused at state.set");
        assert_eq!(
            (p.when, p.call.as_str()),
            (When::Before, "state.set"),
            "{kind}"
        );
        assert_eq!(
            frames(&p),
            vec![("inner", 3), ("outer", 5), ("main", 7)],
            "{kind}"
        );
        debugger.resume(Resume::Continue, None);
        assert_eq!(run.join().result.unwrap(), json!(4), "{kind}");
    }
}

/// The `debug.log` messages a run printed, from its events.
fn logged(events: &std::sync::mpsc::Receiver<llmspell::bus::Event>) -> Vec<String> {
    events
        .try_iter()
        .filter(|e| e.topic == "debug.log")
        .map(|e| e.data["message"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn conditions_hit_counts_and_log_messages_decide_a_line_breakpoint_in_every_engine() {
    use llmspell::debug::{Breakpoint, Why};
    let bp = |condition: Option<&str>, hits: Option<&str>, log: Option<&str>| Breakpoint {
        line: 3,
        condition: condition.map(str::to_owned),
        hits: hits.map(str::to_owned),
        log: log.map(str::to_owned),
    };
    for (kind, src) in [
        (
            EngineKind::Lua,
            "local total = 0\nfor i = 1, 6 do\n  total = total + i\nend\nreturn total",
        ),
        (
            EngineKind::Rhai,
            "let total = 0;\nfor i in 1..=6 {\n  total += i;\n}\ntotal",
        ),
        (
            EngineKind::Js,
            "let total = 0;\nfor (let i = 1; i <= 6; i++) {\n  total += i;\n}\nexport default total;",
        ),
    ] {
        if !has_lines(kind) {
            continue;
        }
        // Each breakpoint, and the values of `i` it pauses at.
        for (breakpoint, pauses) in [
            (bp(Some("i > 3"), None, None), vec![4, 5, 6]),
            (bp(None, Some("%2"), None), vec![2, 4, 6]),
            (bp(Some("i >= 2"), Some("3"), None), vec![4]),
            (bp(Some("i < 3"), Some(">=2"), None), vec![2]),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let rt = Runtime::new();
            let debugger = Debugger::new();
            assert_eq!(
                debugger.set_breakpoints(vec![breakpoint.clone()]),
                vec![Ok(())]
            );
            let run = start(
                &rt,
                dir.path(),
                Config::for_dir(dir.path()),
                kind,
                src,
                &debugger,
            );
            let mut seen = Vec::new();
            let mut count = 0;
            while !run.is_finished() {
                let Some((n, p)) = debugger.wait_next_pause(count, Duration::from_millis(20))
                else {
                    continue;
                };
                count = n;
                assert_eq!((p.when, p.why), (When::Line, Why::Breakpoint), "{kind}");
                let i = p.locals.iter().find(|(k, _)| k == "i").unwrap().1.clone();
                seen.push(i.as_i64().unwrap());
                debugger.resume(Resume::Continue, None);
            }
            assert_eq!(seen, pauses, "{kind}: {breakpoint}");
            assert_eq!(run.join().result.unwrap(), json!(21), "{kind}");
        }

        // A log message prints values and never pauses.
        let dir = tempfile::tempdir().unwrap();
        let rt = Runtime::new();
        let events = rt.bus().subscribe("debug.*");
        let debugger = Debugger::new();
        let log = bp(
            Some("i % 2 == 1"),
            None,
            Some("i={i} total={total} {{braces}} {nosuch.x}"),
        );
        debugger.set_breakpoints(vec![log]);
        let run = start(
            &rt,
            dir.path(),
            Config::for_dir(dir.path()),
            kind,
            src,
            &debugger,
        );
        assert_eq!(run.join().result.unwrap(), json!(21), "{kind}");
        let messages = logged(&events);
        assert_eq!(messages.len(), 3, "{kind}: {messages:?}");
        assert!(
            messages[0].starts_with("i=1 total=0 {braces} <"),
            "{kind}: {messages:?}"
        );
        assert!(
            messages[2].starts_with("i=5 total=10 {braces} <"),
            "{kind}: {messages:?}"
        );
        assert!(debugger.paused().is_none());

        // A condition that fails pauses, and says why; one that is not a
        // condition in the language (a number in Rhai) too.
        let dir = tempfile::tempdir().unwrap();
        let rt = Runtime::new();
        let debugger = Debugger::new();
        let broken = match kind {
            EngineKind::Lua => "nosuch.x > 1",
            _ => "nosuch > 1",
        };
        debugger.set_breakpoints(vec![bp(Some(broken), None, None)]);
        let run = start(
            &rt,
            dir.path(),
            Config::for_dir(dir.path()),
            kind,
            src,
            &debugger,
        );
        let p = debugger
            .wait_paused(WAIT)
            .expect("paused at a broken condition");
        let note = p.note.clone().unwrap_or_default();
        assert!(
            note.contains(broken) && note.contains("failed"),
            "{kind}: {note}"
        );
        debugger.set_breakpoints(vec![]);
        debugger.resume(Resume::Continue, None);
        assert_eq!(run.join().result.unwrap(), json!(21), "{kind}");
    }
    // Rhai takes only true and false as a condition.
    let dir = tempfile::tempdir().unwrap();
    let rt = Runtime::new();
    let debugger = Debugger::new();
    debugger.set_breakpoints(vec![bp(Some("i"), None, None)]);
    let run = start(
        &rt,
        dir.path(),
        Config::for_dir(dir.path()),
        EngineKind::Rhai,
        "let total = 0;\nfor i in 1..=6 {\n  total += i;\n}\ntotal",
        &debugger,
    );
    if has_lines(EngineKind::Rhai) {
        let p = debugger.wait_paused(WAIT).expect("paused");
        let note = p.note.clone().unwrap_or_default();
        assert!(note.contains("not true or false"), "{note}");
        debugger.set_breakpoints(vec![]);
        debugger.resume(Resume::Continue, None);
    }
    assert_eq!(run.join().result.unwrap(), json!(21));
}

#[test]
fn a_breakpoint_with_a_bad_hit_count_or_log_message_is_refused_with_the_reason() {
    use llmspell::debug::Breakpoint;
    let debugger = Debugger::new();
    let answers = debugger.set_breakpoints(vec![
        Breakpoint {
            hits: Some("often".into()),
            ..Breakpoint::at(2)
        },
        Breakpoint {
            log: Some("x = {x".into()),
            ..Breakpoint::at(3)
        },
        Breakpoint {
            hits: Some(">= 2".into()),
            ..Breakpoint::at(4)
        },
    ]);
    assert!(
        answers[0].as_ref().unwrap_err().contains("often"),
        "{answers:?}"
    );
    assert!(
        answers[1].as_ref().unwrap_err().contains('{'),
        "{answers:?}"
    );
    assert_eq!(answers[2], Ok(()));
}

/// The double-and-twice spell of the frame tests: `double` (line 1) sets
/// state on line 3; `twice` (line 6) calls it twice; main calls `twice`
/// on line 8 and returns what it got.
fn frames_spell(kind: EngineKind) -> &'static str {
    match kind {
        EngineKind::Lua => {
            "local function double(n)\n  local m = n * 2\n  state.set(\"m\", m)\n  return m\nend\n\
             local function twice(k) return double(k) + double(k) end\nlocal base = 10\n\
             local got = twice(base + 1)\nreturn {got = got, base = base}"
        }
        EngineKind::Rhai => {
            "fn double(n) {\n  let m = n * 2;\n  state.set(\"m\", m);\n  m\n}\n\
             fn twice(k) { double(k) + double(k) }\nlet base = 10;\n\
             let got = twice(base + 1);\n#{got: got, base: base}"
        }
        EngineKind::Js => {
            "function double(n) {\n  let m = n * 2;\n  state.set(\"m\", m);\n  return m;\n}\n\
             function twice(k) { return double(k) + double(k); }\nconst base = 10;\n\
             const got = twice(base + 1);\nexport default {got, base};"
        }
    }
}

#[test]
fn code_runs_and_locals_are_set_in_any_frame_at_a_line_pause_in_every_engine() {
    for kind in [EngineKind::Lua, EngineKind::Rhai, EngineKind::Js] {
        if !has_lines(kind) {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let rt = Runtime::new();
        let debugger = Debugger::new();
        debugger.set_line_breaks([3]);
        let run = start(
            &rt,
            dir.path(),
            Config::for_dir(dir.path()),
            kind,
            frames_spell(kind),
            &debugger,
        );
        let p = debugger.wait_paused(WAIT).expect("paused at line 3");
        assert_eq!(
            frames(&p),
            vec![("double", 3), ("twice", 6), ("main", 8)],
            "{kind}"
        );
        assert_eq!(debugger.evaluate(0, "m + n", WAIT), Ok(json!(33)), "{kind}");
        // A caller's frame: its locals, and code run there.
        // (In Lua, with the upvalues it uses: `double`.)
        if kind == EngineKind::Js {
            // JavaScript keeps callers' frames only while it steps or has
            // break patterns (see the bridge call test below).
            let err = debugger.evaluate(1, "k", WAIT).unwrap_err();
            assert!(err.starts_with("debug.unsupported"), "{err}");
        } else {
            let twice = debugger.frame_locals(1, WAIT).unwrap();
            assert_eq!(twice[0], ("k".to_owned(), json!(11)), "{kind}");
            assert_eq!(debugger.evaluate(1, "k * 3", WAIT), Ok(json!(33)), "{kind}");
        }
        let main = debugger.evaluate(2, "base", WAIT);
        match kind {
            // Lua reaches every frame.
            EngineKind::Lua => assert_eq!(main, Ok(json!(10))),
            // Rhai keeps the top level's scope out of reach inside a call.
            _ => assert!(main.unwrap_err().starts_with("debug.unsupported"), "{kind}"),
        }
        // Errors come back as text with their code; the spell goes on.
        let err = debugger.evaluate(0, "m +", WAIT).unwrap_err();
        assert!(err.starts_with("spell.syntax"), "{kind}: {err}");
        let err = debugger.evaluate(5, "m", WAIT).unwrap_err();
        assert!(err.starts_with("debug.unsupported"), "{kind}: {err}");
        let err = debugger.set_local(0, "nosuch", json!(1), WAIT).unwrap_err();
        assert!(err.contains("nosuch"), "{kind}: {err}");

        // Set a local: the first call returns it.
        debugger.set_local(0, "m", json!(100), WAIT).unwrap();
        assert_eq!(
            debugger.frame_locals(0, WAIT).unwrap()[1],
            ("m".to_owned(), json!(100))
        );
        debugger.resume(Resume::Continue, None);
        let p = debugger.wait_paused(WAIT).expect("paused at line 3 again");
        assert_eq!(p.locals[1], ("m".to_owned(), json!(22)), "{kind}");
        // Assign in evaluated code: the second call returns that. (An
        // assignment is an expression in JavaScript, with a value.)
        let (assign, value) = match kind {
            EngineKind::Lua => ("m = m + 1", json!(null)),
            EngineKind::Rhai => ("m += 1", json!(null)),
            EngineKind::Js => ("m += 1", json!(23)),
        };
        assert_eq!(debugger.evaluate(0, assign, WAIT), Ok(value), "{kind}");
        debugger.set_line_breaks([]);
        debugger.resume(Resume::Continue, None);
        let out = run.join().result.unwrap();
        assert_eq!(out, json!({"got": 123, "base": 10}), "{kind}");
    }
}

#[test]
fn code_runs_and_locals_are_set_at_a_bridge_call_pause_before_and_after_the_call() {
    for kind in [EngineKind::Lua, EngineKind::Rhai, EngineKind::Js] {
        if !has_lines(kind) {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let rt = Runtime::new();
        let debugger = Debugger::new();
        debugger.break_on("state.set");
        let run = start(
            &rt,
            dir.path(),
            Config::for_dir(dir.path()),
            kind,
            frames_spell(kind),
            &debugger,
        );
        let p = debugger.wait_paused(WAIT).expect("paused before state.set");
        assert_eq!(
            (p.when, p.call.as_str()),
            (When::Before, "state.set"),
            "{kind}"
        );
        assert_eq!(
            debugger.evaluate(0, "m * 10", WAIT),
            Ok(json!(220)),
            "{kind}"
        );
        assert_eq!(debugger.evaluate(1, "k", WAIT), Ok(json!(11)), "{kind}");
        debugger.set_local(0, "m", json!(7), WAIT).unwrap();
        assert_eq!(debugger.evaluate(0, "m", WAIT), Ok(json!(7)), "{kind}");
        // Step over the call: at its return the frame is still in reach.
        debugger.resume(Resume::Step, None);
        let p = debugger.wait_paused(WAIT).expect("paused after state.set");
        assert_eq!(p.when, When::After, "{kind}");
        assert_eq!(debugger.evaluate(0, "m + n", WAIT), Ok(json!(18)), "{kind}");
        debugger.clear_breaks();
        debugger.resume(Resume::Continue, None);
        // The first call returned the 7 set at its pause.
        let out = run.join().result.unwrap();
        assert_eq!(out, json!({"got": 29, "base": 10}), "{kind}");
    }
}

#[test]
fn step_over_and_step_out_at_line_level_in_every_engine() {
    for (kind, src) in [
        (
            EngineKind::Js,
            "function f(x) {\n  const y = x + 1;\n  return y * 2;\n}\n\
             const a = f(1);\nconst b = f(a);\nexport default b;",
        ),
        (
            EngineKind::Lua,
            "local function f(x)
  local y = x + 1
  return y * 2
end
             local a = f(1)
local b = f(a)
return b",
        ),
        (
            EngineKind::Rhai,
            "fn f(x) {
  let y = x + 1;
  y * 2
}
             let a = f(1);
let b = f(a);
b",
        ),
    ] {
        if !has_lines(kind) {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let rt = Runtime::new();
        let debugger = Debugger::new();
        debugger.set_line_breaks([5]);
        let run = start(
            &rt,
            dir.path(),
            Config::for_dir(dir.path()),
            kind,
            src,
            &debugger,
        );
        let line = |p: &llmspell::debug::Pause| p.location.as_ref().unwrap().line;
        let p = debugger.wait_paused(WAIT).expect("paused at line 5");
        assert_eq!(line(&p), 5, "{kind}");
        debugger.set_line_breaks([]);
        // Over f's call on line 5.
        debugger.resume(Resume::Next, None);
        let (n, p) = debugger.wait_next_pause(0, WAIT).unwrap();
        assert_eq!((line(&p), p.why), (6, llmspell::debug::Why::Step), "{kind}");
        // Into f, then out of it again: back in main after line 6.
        debugger.resume(Resume::StepLine, None);
        let (n, p) = debugger.wait_next_pause(n, WAIT).unwrap();
        assert_eq!(frames(&p), vec![("f", 2), ("main", 6)], "{kind}");
        debugger.resume(Resume::Next, None);
        let (n, p) = debugger.wait_next_pause(n, WAIT).unwrap();
        assert_eq!(frames(&p), vec![("f", 3), ("main", 6)], "{kind}");
        debugger.resume(Resume::StepOut, None);
        let (_, p) = debugger.wait_next_pause(n, WAIT).unwrap();
        assert_eq!(frames(&p), vec![("main", 7)], "{kind}");
        assert!(
            locals(&p).contains(&("b", json!(10))),
            "{kind}: {:?}",
            p.locals
        );
        debugger.resume(Resume::Continue, None);
        assert_eq!(run.join().result.unwrap(), json!(10), "{kind}");
    }
}

#[test]
fn a_running_spell_pauses_when_asked_in_every_engine() {
    for (kind, src) in [
        (
            EngineKind::Lua,
            "local n = 0\nwhile true do\n  n = n + 1\nend",
        ),
        (EngineKind::Rhai, "let n = 0;\nloop {\n  n += 1;\n}"),
        (EngineKind::Js, "let n = 0;\nwhile (true) {\n  n += 1;\n}"),
        // A loop making bridge calls pauses at its next line or call.
        (
            EngineKind::Js,
            "let n = 0;\nwhile (true) {\n  n = json.decode(String(n + 1));\n}",
        ),
    ] {
        if !has_lines(kind) {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let rt = Runtime::new();
        let debugger = Debugger::new();
        let run = start(
            &rt,
            dir.path(),
            Config::for_dir(dir.path()),
            kind,
            src,
            &debugger,
        );
        std::thread::sleep(Duration::from_millis(50));
        assert!(debugger.paused().is_none());
        debugger.pause_soon();
        let p = debugger.wait_paused(WAIT).expect("paused when asked");
        assert_eq!(p.why, llmspell::debug::Why::Pause, "{kind}");
        let n = p
            .locals
            .iter()
            .find(|(k, _)| k == "n")
            .map(|(_, v)| v.clone());
        // A JavaScript loop making calls may be asked between a line and
        // its call, before any frame was kept: it pauses at the call.
        if p.when == When::Line || kind != EngineKind::Js {
            assert!(
                n.and_then(|n| n.as_i64()).is_some_and(|n| n > 0),
                "{kind}: {:?}",
                p.locals
            );
        } else {
            assert_eq!(p.call, "json.decode");
        }
        debugger.resume(Resume::Abort, None);
        assert_eq!(
            run.join().result.unwrap_err().code,
            ErrorCode::Cancelled,
            "{kind}"
        );
    }
}

#[test]
fn a_breakpoint_on_every_line_stops_only_on_the_lines_that_have_code() {
    for (kind, src, blank) in [
        (
            EngineKind::Lua,
            "-- a comment\nlocal function f(x)\n\n  local y = x + 1\n  return y\nend\n\n\
             local t = {\n  1,\n  2,\n}\n--[[ a long\ncomment ]]\nlocal n = f(t[1])\nreturn n",
            vec![1, 3, 7, 12, 13],
        ),
        (
            EngineKind::Rhai,
            "// a comment\nfn f(x) {\n\n  let y = x + 1;\n  y\n}\n\n\
             let t = [\n  1,\n  2,\n];\n/* a long\ncomment */\nlet n = f(t[0]);\nn",
            vec![1, 3, 7, 12, 13],
        ),
        (
            EngineKind::Js,
            "// a comment\nfunction f(x) {\n\n  let y = x + 1;\n  return y;\n}\n\n\
             let t = [\n  1,\n  2,\n];\n/* a long\ncomment */\nlet n = f(t[0]);\nexport default n;",
            vec![1, 3, 7, 9, 10, 11, 12, 13],
        ),
    ] {
        let spell = Spell::from_source(&format!("debug.{}", kind.extension()), src).unwrap();
        let code = llmspell::engine::code_lines(&spell, &llmspell::Registry::standard())
            .expect("the spell compiles");
        for line in &blank {
            assert!(
                !code.contains(line),
                "{kind}: line {line} has no code: {code:?}"
            );
        }
        if !has_lines(kind) {
            continue;
        }
        // Every line a breakpoint stops at is one the lines with code name.
        let dir = tempfile::tempdir().unwrap();
        let rt = Runtime::new();
        let debugger = Debugger::new();
        let count = src.lines().count() as u32;
        debugger.set_line_breaks(1..=count);
        let run = start(
            &rt,
            dir.path(),
            Config::for_dir(dir.path()),
            kind,
            src,
            &debugger,
        );
        let mut stopped = std::collections::BTreeSet::new();
        let mut n = 0;
        while !run.is_finished() {
            if let Some((count, p)) = debugger.wait_next_pause(n, Duration::from_millis(300)) {
                n = count;
                if p.when == When::Line {
                    stopped.insert(p.location.unwrap().line);
                }
                debugger.resume(Resume::Continue, None);
            }
        }
        assert_eq!(run.join().result.unwrap(), json!(2), "{kind}");
        assert!(stopped.is_subset(&code), "{kind}: {stopped:?} ⊄ {code:?}");
        for line in [4, 5, 14, 15] {
            assert!(stopped.contains(&line), "{kind}: stopped at {stopped:?}");
        }
    }
    // A spell that does not compile cannot tell.
    for (name, src) in [
        ("bad.lua", "local = 1"),
        ("bad.rhai", "let = ;"),
        ("bad.js", "let = ;"),
    ] {
        let spell = Spell::from_source(name, src).unwrap();
        assert_eq!(
            llmspell::engine::code_lines(&spell, &llmspell::Registry::standard()),
            None
        );
    }
}

#[test]
fn a_step_into_a_line_with_a_log_message_logs_and_pauses_there() {
    use llmspell::debug::{Breakpoint, Why};
    for (kind, src) in [
        (
            EngineKind::Lua,
            "local function grow(n)\n  local m = n * 2\n  return m + 1\nend\nlocal t = 0\nfor i = 1, 2 do\n  t = t + grow(i)\nend\nreturn t",
        ),
        (
            EngineKind::Rhai,
            "fn grow(n) {\n  let m = n * 2;\n  m + 1\n}\nlet t = 0;\nfor i in 1..=2 {\n  t = t + grow(i);\n}\nt",
        ),
        (
            EngineKind::Js,
            "function grow(n) {\n  const m = n * 2;\n  return m + 1;\n}\nlet t = 0;\nfor (let i = 1; i <= 2; i++) {\n  t = t + grow(i);\n}\nexport default t;",
        ),
    ] {
        if !has_lines(kind) {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let rt = Runtime::new();
        let debugger = Debugger::new();
        let events = rt.bus().subscribe("debug.*");
        debugger.set_breakpoints(vec![
            Breakpoint::at(7),
            Breakpoint {
                log: Some("n is {n}".into()),
                ..Breakpoint::at(2)
            },
        ]);
        let run = start(&rt, dir.path(), Config::for_dir(dir.path()), kind, src, &debugger);
        let (n, p) = debugger.wait_next_pause(0, WAIT).expect("at line 7");
        assert_eq!(p.location.unwrap().line, 7, "{kind}");
        // Code run and a local set at the pause change nothing of the step.
        assert_eq!(debugger.evaluate(0, "t * 10", WAIT), Ok(json!(0)), "{kind}");
        debugger.set_local(0, "t", json!(100), WAIT).unwrap();
        debugger.set_breakpoints(vec![Breakpoint {
            log: Some("n is {n}".into()),
            ..Breakpoint::at(2)
        }]);
        debugger.resume(Resume::StepLine, None);
        let (_, p) = debugger.wait_next_pause(n, WAIT).expect("stepped into grow");
        assert_eq!((p.location.unwrap().line, p.why), (2, Why::Step), "{kind}");
        debugger.resume(Resume::Continue, None);
        assert_eq!(run.join().result.unwrap(), json!(108), "{kind}");
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(logged(&events), ["n is 1", "n is 2"], "{kind}");
    }
}

#[test]
fn a_failed_call_pauses_when_asked_and_a_result_given_there_replaces_the_error() {
    use llmspell::debug::Why;
    for (kind, src) in [
        (EngineKind::Lua, "local v = json.decode(\"{bad\")\nreturn v"),
        (
            EngineKind::Js,
            "const v = json.decode(\"{bad\");\nexport default v;",
        ),
        (EngineKind::Rhai, "let v = json.decode(\"{bad\");\nv"),
    ] {
        for give in [Some(json!({"fixed": true})), None] {
            let dir = tempfile::tempdir().unwrap();
            let rt = Runtime::new();
            let debugger = Debugger::new();
            debugger.break_on_errors(true);
            let run = start(
                &rt,
                dir.path(),
                Config::for_dir(dir.path()),
                kind,
                src,
                &debugger,
            );
            let p = debugger.wait_paused(WAIT).expect("paused at the failure");
            assert_eq!(
                (p.when, p.why, p.call.as_str()),
                (When::After, Why::Error, "json.decode")
            );
            assert!(
                p.note
                    .as_deref()
                    .unwrap_or_default()
                    .starts_with("args.invalid"),
                "{kind}: {:?}",
                p.note
            );
            assert_eq!(p.location.map(|l| l.line), Some(1), "{kind}");
            debugger.resume(Resume::Continue, give.clone());
            let out = run.join().result;
            match give {
                Some(v) => assert_eq!(out.unwrap(), v, "{kind}"),
                None => assert_eq!(out.unwrap_err().code, ErrorCode::ArgsInvalid, "{kind}"),
            }
        }
    }
}
