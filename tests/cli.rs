//! The `llmspell` command line as a user runs it: results, exit codes,
//! error reports, arguments, config discovery, check, api, the REPL, and
//! state that survives a killed process.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

mod support;

use support::cli::{llmspell, text, write};

#[test]
fn run_prints_the_result_as_json_and_nothing_for_null() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "a.lua", "return { n = 1, s = 'x' }");
    write(d.path(), "b.js", "print('only output');");
    let out = llmspell(d.path(), &["run", "a.lua"]);
    assert!(out.status.success());
    assert_eq!(text(&out.stdout), "{\"n\":1,\"s\":\"x\"}\n");
    let out = llmspell(d.path(), &["run", "b.js"]);
    assert_eq!(text(&out.stdout), "only output\n");
    let out = llmspell(d.path(), &["run", "a.lua", "--pretty"]);
    assert_eq!(text(&out.stdout), "{\n  \"n\": 1,\n  \"s\": \"x\"\n}\n");
}

#[test]
fn a_failing_spell_reports_code_message_and_place_and_exits_1() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "bad.lua", "local x = 1\nerror('boom')\n");
    write(d.path(), "bad.js", "const x = 1;\nstate.set(1, 2);\n");
    write(d.path(), "bad.rhai", "let x = 1;\nthrow \"boom\";\n");
    let out = llmspell(d.path(), &["run", "bad.lua"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stderr), "spell.error: boom\n  --> bad.lua:2\n");
    let out = llmspell(d.path(), &["run", "bad.js"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("args.invalid: state.set: argument 1 (key)"),
        "{err}"
    );
    assert!(err.ends_with("  --> bad.js:2\n"), "{err}");
    let out = llmspell(d.path(), &["run", "bad.rhai"]);
    assert_eq!(text(&out.stderr), "spell.error: boom\n  --> bad.rhai:2\n");
}

#[test]
fn usage_and_config_errors_exit_2() {
    let d = tempfile::tempdir().unwrap();
    for args in [
        &["run"][..],
        &["run", "x.lua", "--bogus"],
        &["frobnicate"],
        &["run", "missing.lua"],
        &["run", "notes.txt"],
        &["repl"],
        &["repl", "--engine", "cobol"],
        &["run", "x.lua", "--args-json", "[1]"],
        &["run", "x.lua", "--timeout", "soon"],
    ] {
        let out = llmspell(d.path(), args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(!text(&out.stderr).is_empty());
    }
    write(
        d.path(),
        "p/llmspell.toml",
        "[limits]\ntimeout_secs = 1\nmemroy_mb = 3\n",
    );
    write(d.path(), "p/s.lua", "return 1");
    let out = llmspell(d.path(), &["run", "p/s.lua"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.starts_with("config.invalid:"), "{err}");
    assert!(err.contains("memroy_mb"), "{err}");
    assert!(err.contains("llmspell.toml:3"), "{err}");
}

#[test]
fn help_and_version() {
    let d = tempfile::tempdir().unwrap();
    let out = llmspell(d.path(), &["--help"]);
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("llmspell run SPELL"));
    let out = llmspell(d.path(), &["--version"]);
    assert!(text(&out.stdout).starts_with("llmspell "));
}

#[test]
fn args_reach_the_spell() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "a.rhai", "spell.args");
    let out = llmspell(
        d.path(),
        &[
            "run",
            "a.rhai",
            "--args-json",
            r#"{"n": 2, "who": "json"}"#,
            "--arg",
            "who=cli",
            "--arg",
            "eq=a=b",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "{\"eq\":\"a=b\",\"n\":2,\"who\":\"cli\"}\n"
    );
}

#[test]
fn timeout_flag_stops_a_runaway_spell() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "loop.js", "while (true) {}");
    let out = llmspell(d.path(), &["run", "loop.js", "--timeout", "0.2"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("limit.time:"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn limit_flags_override_the_config() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "llmspell.toml", "[limits]\ninstructions = 0\n");
    write(d.path(), "loop.rhai", "loop {}");
    write(
        d.path(),
        "deep.lua",
        "local function f(n) return f(n + 1) + 1 end return f(1)",
    );
    write(
        d.path(),
        "big.js",
        "const t = []; for (;;) t.push('x'.repeat(100));",
    );
    let out = llmspell(d.path(), &["run", "loop.rhai", "--instructions", "10000"]);
    assert!(
        text(&out.stderr).starts_with("limit.instructions:"),
        "{}",
        text(&out.stderr)
    );
    let out = llmspell(
        d.path(),
        &["run", "deep.lua", "--call-depth", "20", "--timeout", "20"],
    );
    assert!(
        text(&out.stderr).starts_with("limit.depth:"),
        "{}",
        text(&out.stderr)
    );
    let out = llmspell(d.path(), &["run", "big.js", "--memory-mb", "8"]);
    assert!(
        text(&out.stderr).starts_with("limit.memory:"),
        "{}",
        text(&out.stderr)
    );
    assert!(text(&out.stderr).contains("8 MiB"), "{}", text(&out.stderr));
    let out = llmspell(d.path(), &["run", "loop.rhai", "--instructions", "lots"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn an_enormous_call_depth_still_never_overflows_the_host_stack() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "deep.js",
        "function f(n) { return n == 0 ? 0 : f(n - 1) + 1 } export default f(1e6);",
    );
    write(
        d.path(),
        "deep.rhai",
        "fn f(n) { if n == 0 { 0 } else { f(n - 1) + 1 } } f(100000)",
    );
    write(
        d.path(),
        "deep.lua",
        "local function f(n) if n == 0 then return 0 end return f(n - 1) + 1 end return f(1e7)",
    );
    for spell in ["deep.js", "deep.rhai", "deep.lua"] {
        let out = llmspell(
            d.path(),
            &["run", spell, "--call-depth", "100000000", "--timeout", "60"],
        );
        assert_eq!(out.status.code(), Some(1), "{spell}: {}", text(&out.stderr));
        assert!(
            text(&out.stderr).starts_with("limit.depth:"),
            "{spell}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn config_is_found_upwards_and_state_lives_in_its_project() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "proj/llmspell.toml",
        "[limits]\ninstructions = 5000\n",
    );
    write(d.path(), "proj/sub/loop.lua", "while true do end");
    write(
        d.path(),
        "proj/sub/save.lua",
        "state.set('k', 'v') return state.get('k')",
    );
    let out = llmspell(d.path(), &["run", "proj/sub/loop.lua"]);
    assert!(
        text(&out.stderr).starts_with("limit.instructions:"),
        "{}",
        text(&out.stderr)
    );
    let out = llmspell(d.path(), &["run", "proj/sub/save.lua"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(d.path().join("proj/.llmspell/state.db").exists());
    assert!(!d.path().join("proj/sub/.llmspell").exists());
    // --config names another file; its folder becomes the project.
    write(d.path(), "other/llmspell.toml", "");
    let out = llmspell(
        d.path(),
        &[
            "run",
            "proj/sub/save.lua",
            "--config",
            "other/llmspell.toml",
        ],
    );
    assert!(out.status.success());
    assert!(d.path().join("other/.llmspell/state.db").exists());
}

#[test]
fn check_compiles_without_running() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "ok.lua", "state.set('ran', true)");
    write(d.path(), "bad.js", "const = ;");
    write(d.path(), "bad.rhai", "let x = ;");
    write(d.path(), "ok.rhai", "log.debug(\"fine\")");
    let out = llmspell(d.path(), &["check", "ok.lua"]);
    assert!(out.status.success());
    assert_eq!(text(&out.stdout), "ok.lua: ok\n");
    assert!(
        !d.path().join(".llmspell").exists(),
        "check must not run the spell"
    );
    assert!(llmspell(d.path(), &["check", "ok.rhai"]).status.success());
    for bad in ["bad.js", "bad.rhai"] {
        let out = llmspell(d.path(), &["check", bad]);
        assert_eq!(out.status.code(), Some(1));
        let err = text(&out.stderr);
        assert!(err.starts_with("spell.syntax:"), "{err}");
        assert!(err.contains(&format!("--> {bad}:1")), "{err}");
    }
}

#[test]
fn api_prints_the_registry() {
    let d = tempfile::tempdir().unwrap();
    let out = llmspell(d.path(), &["api"]);
    let t = text(&out.stdout);
    for want in [
        "state.update(key: string, fn: fun(old: any): any) -> any",
        "hooks.before(point: string, fn: fun(call: HookCall): HookBefore | nil) -> integer",
        "print(...values: any) -> nil",
        "spell: SpellInfo",
        "    ChatReply {text: string",
        "limit.time",
    ] {
        assert!(t.contains(want), "missing {want}");
    }
    let out = llmspell(d.path(), &["api", "--json"]);
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = j["functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    let registry = llmspell::Registry::standard();
    assert_eq!(names.len(), registry.bridges().len());
    assert!(names.contains(&"events.emit"));
}

fn repl(dir: &Path, engine: &str, input: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_llmspell"))
        .args(["repl", "--engine", engine])
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn repl_keeps_state_between_entries_and_takes_multi_line_input() {
    let d = tempfile::tempdir().unwrap();
    let cases = [
        ("lua", "x = 20\nfunction add(a, b)\n  return a + b\nend\nadd(x, 22)\nerror('oops')\nx\n"),
        ("js", "let x = 20;\nfunction add(a, b) {\n  return a + b;\n}\nadd(x, 22)\nthrow new Error('oops')\nx\n"),
        ("rhai", "let x = 20;\nfn add(a, b) {\n  a + b\n}\nadd(x, 22)\nthrow \"oops\";\nx\n"),
    ];
    for (engine, input) in cases {
        let out = repl(d.path(), engine, input);
        assert!(out.status.success(), "{engine}: {}", text(&out.stderr));
        let stdout = text(&out.stdout);
        let results: Vec<&str> = stdout.lines().filter(|l| !l.contains("REPL")).collect();
        assert_eq!(results, ["42", "20"], "{engine}: {stdout}");
        assert!(text(&out.stderr).contains("oops"), "{engine}");
        assert!(
            d.path()
                .join(format!(".llmspell/history-{engine}"))
                .exists(),
            "{engine}"
        );
    }
}

#[test]
fn acknowledged_state_survives_a_killed_process() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "writer.lua",
        "for i = 1, 1e9 do state.set('k' .. i, i) print(i) end",
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_llmspell"))
        .args(["run", "writer.lua"])
        .current_dir(d.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut seen = String::new();
    let mut buf = [0u8; 4096];
    while seen.lines().count() < 200 {
        let n = std::io::Read::read(&mut stdout, &mut buf).unwrap();
        assert!(n > 0, "writer ended early");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    child.kill().unwrap(); // SIGKILL: no chance to flush or close anything
    child.wait().unwrap();
    let acknowledged: Vec<i64> = seen.lines().filter_map(|l| l.parse().ok()).collect();
    let store = llmspell::store::Store::open(d.path()).unwrap();
    for i in acknowledged {
        let got = store.get(&format!("k{i}")).unwrap();
        assert_eq!(
            got.map(|e| e.value),
            Some(serde_json::json!(i)),
            "k{i} lost"
        );
    }
}

#[test]
fn concurrent_processes_update_state_atomically() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "bump.rhai",
        "for i in 0..50 { state.update(\"n\", |v| if v == () { 1 } else { v + 1 }); }",
    );
    let children: Vec<_> = (0..4)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_llmspell"))
                .args(["run", "bump.rhai"])
                .current_dir(d.path())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let store = llmspell::store::Store::open(d.path()).unwrap();
    assert_eq!(
        store.get("n").unwrap().unwrap().value,
        serde_json::json!(200)
    );
}

#[test]
fn a_spell_reading_state_in_a_loop_sees_another_process_write() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "wait.lua",
        "local n = 0\n\
         while state.get('go') == nil do n = n + 1 end\n\
         print(state.get('go'), n > 0)",
    );
    llmspell::store::Store::open(d.path()).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_llmspell"))
        .args(["run", "wait.lua", "--timeout", "30"])
        .current_dir(d.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Let it read (and keep reading) the key while it is unset.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let store = llmspell::store::Store::open(d.path()).unwrap();
    store
        .set("go", &serde_json::json!("written elsewhere"))
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "written elsewhere\ttrue\n"
    );
}

#[test]
fn processes_creating_the_store_at_once_all_succeed() {
    // No .llmspell/ yet, each time: the store is created under contention.
    for round in 0..20 {
        let d = tempfile::tempdir().unwrap();
        write(d.path(), "set.lua", "state.set('k' .. spell.args.i, 1)");
        let children: Vec<_> = (0..3)
            .map(|i| {
                Command::new(env!("CARGO_BIN_EXE_llmspell"))
                    .args(["run", "set.lua", "--arg", &format!("i={i}")])
                    .current_dir(d.path())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for c in children {
            let out = c.wait_with_output().unwrap();
            assert!(out.status.success(), "round {round}: {}", text(&out.stderr));
        }
        let store = llmspell::store::Store::open(d.path()).unwrap();
        assert_eq!(store.keys("k").unwrap().len(), 3, "round {round}");
    }
}

#[test]
fn limits_no_run_can_have_are_config_invalid_and_exit_2() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "a.lua", "return 1");
    for flags in [
        &["--timeout", "1e99"][..],
        &["--memory-mb", "18446744073709551615"][..],
    ] {
        let mut args = vec!["run", "a.lua"];
        args.extend_from_slice(flags);
        let out = llmspell(d.path(), &args);
        assert_eq!(out.status.code(), Some(2), "{flags:?}");
        let err = text(&out.stderr);
        assert!(err.starts_with("config.invalid: "), "{flags:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    for toml in [
        "[limits]\ntimeout_secs = 9223372036854775807\n",
        "[limits]\ntimeout_secs = -1\n",
        "[providers.p]\nkind = \"openai_compatible\"\nbase_url = \"http://127.0.0.1:9/v1\"\ntimeout_secs = 1e300\n",
    ] {
        write(d.path(), "llmspell.toml", toml);
        let out = llmspell(d.path(), &["run", "a.lua"]);
        assert_eq!(out.status.code(), Some(2), "{toml}");
        let err = text(&out.stderr);
        assert!(err.starts_with("config.invalid: "), "{toml}: {err}");
        assert!(err.contains("timeout_secs"), "{err}");
    }
}

#[test]
fn a_panic_or_a_closed_stdout_never_prints_a_backtrace() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "sleep.rhai", "sleep(1e300)");
    write(
        d.path(),
        "sort.rhai",
        "let a = []; for i in 0..5000 { a.push((i * 7919) % 5003) }\n\
         a.sort(|x, y| if (x * 13 + y * 7) % 5 < 2 { -1 } else { 1 }); a.len()",
    );
    write(d.path(), "many.lua", "for i = 1, 1000000 do print(i) end");
    write(
        d.path(),
        "many.js",
        "for (let i = 0; i < 1000000; i++) print(i);",
    );
    let out = llmspell(d.path(), &["run", "sleep.rhai", "--timeout", "1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("limit.time: "),
        "{}",
        text(&out.stderr)
    );
    let out = llmspell(d.path(), &["run", "sort.rhai"]);
    let err = text(&out.stderr);
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
    for spell in ["many.lua", "many.js"] {
        // `llmspell run spell | head -1`: the reader leaves after a line.
        let mut child = Command::new(env!("CARGO_BIN_EXE_llmspell"))
            .args(["run", spell])
            .current_dir(d.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = [0u8; 2];
        use std::io::Read;
        child
            .stdout
            .as_mut()
            .unwrap()
            .read_exact(&mut first)
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{spell}: {}", text(&out.stderr));
        assert_eq!(text(&out.stderr), "", "{spell}");
    }
}

#[test]
fn spell_files_are_read_as_each_language_reads_them() {
    let d = tempfile::tempdir().unwrap();
    let put = |name: &str, body: &[u8]| std::fs::write(d.path().join(name), body).unwrap();
    // A byte-order mark and a `#!` line, in every engine: an executable script.
    put(
        "a.lua",
        b"\xef\xbb\xbf#!/usr/bin/env llmspell run\nreturn 1",
    );
    put(
        "a.js",
        b"\xef\xbb\xbf#!/usr/bin/env llmspell run\nexport default 1;",
    );
    put("a.rhai", b"\xef\xbb\xbf#!/usr/bin/env llmspell run\n1");
    for name in ["a.lua", "a.js", "a.rhai"] {
        let out = llmspell(d.path(), &["run", name]);
        assert_eq!(text(&out.stdout), "1\n", "{name}: {}", text(&out.stderr));
    }
    // Lua skips any first line that starts with `#`, and keeps its lines.
    put("hash.lua", b"# not Lua\nerror('here')");
    let out = llmspell(d.path(), &["run", "hash.lua"]);
    assert_eq!(text(&out.stderr), "spell.error: here\n  --> hash.lua:2\n");
    // Lua strings are bytes: Latin-1 in the source, and print writes the
    // bytes it was given (here a Latin-1 line and a lone UTF-8 lead byte).
    put(
        "latin1.lua",
        b"local s = 'caf\xe9'\nprint(s, #s)\nprint(string.char(0xc3))\nreturn s:byte(4)",
    );
    let out = llmspell(d.path(), &["run", "latin1.lua"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(out.stdout, b"caf\xe9\t4\n\xc3\n233\n");
    // JavaScript and Rhai are UTF-8 text: other bytes are a syntax error
    // at their line, not a read error.
    put("bad.js", b"const a = 1;\nconst s = '\xe9';\n");
    put("bad.rhai", b"let a = 1;\n\nlet s = \"\xe9\";\n");
    for (name, line) in [("bad.js", 2), ("bad.rhai", 3)] {
        let out = llmspell(d.path(), &["run", name]);
        assert_eq!(out.status.code(), Some(1), "{name}");
        let err = text(&out.stderr);
        assert!(
            err.starts_with("spell.syntax: byte 0xe9 is not UTF-8"),
            "{err}"
        );
        assert!(err.ends_with(&format!("  --> {name}:{line}\n")), "{err}");
        let out = llmspell(d.path(), &["check", name]);
        assert!(text(&out.stderr).starts_with("spell.syntax:"), "{name}");
    }
}

#[test]
fn repl_limits_apply_to_each_entry_not_to_the_repls_life() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "llmspell.toml",
        "[limits]\ntimeout_secs = 2\ninstructions = 500000\n",
    );
    // Ten entries that each do a fifth of the instruction limit's work;
    // one that runs forever; then one more.
    let cases = [
        (
            "lua",
            "s = 0\n",
            "for i = 1, 100000 do s = s + 1 end\n",
            "while true do end\n",
            "s\n",
        ),
        (
            "js",
            "var s = 0\n",
            "for (let i = 0; i < 100000; i++) { s += 1 }\n",
            "while (true) {}\n",
            "s\n",
        ),
        (
            "rhai",
            "let s = 0;\n",
            "for i in 0..100000 { s += 1; }\n",
            "loop {}\n",
            "s\n",
        ),
    ];
    for (engine, init, work, forever, read) in cases {
        let input = format!("{init}{}{forever}{read}", work.repeat(10));
        let out = repl(d.path(), engine, &input);
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert!(out.status.success(), "{engine}: {stderr}");
        let results: Vec<&str> = stdout.lines().filter(|l| !l.contains("REPL")).collect();
        assert_eq!(
            results.last(),
            Some(&"1000000"),
            "{engine}: {stdout}\n{stderr}"
        );
        let stops: Vec<&str> = stderr.lines().filter(|l| l.contains("limit.")).collect();
        assert_eq!(
            stops.len(),
            1,
            "{engine}: only the endless entry stops: {stderr}"
        );
        assert!(
            stops[0].contains("limit.time") || stops[0].contains("limit.instructions"),
            "{engine}: {stderr}"
        );
    }
}
