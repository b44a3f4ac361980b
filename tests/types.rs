//! Type definitions for editors, as `llmspell api --types` writes them and
//! `llmspell init` sets a project up with them,
//! checked by the real TypeScript compiler (from npm): every shipped
//! JavaScript spell passes `tsc --noEmit --checkJs` against the
//! declarations, and spells that call the API wrongly fail it, each at its
//! own line. `scripts/typescript.sh` installs the compiler and CI sets
//! `LLMSPELL_TSC` to it, so there it must run; elsewhere the compiler is
//! looked for where that script puts it.

use std::path::{Path, PathBuf};
use std::process::Command;

mod support;

use support::cli::{llmspell, text, write};
use support::scripted::{Reply, Scripted};

fn tsc() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("LLMSPELL_TSC") {
        return Some(PathBuf::from(path));
    }
    let home = std::env::var_os("HOME")?;
    let path = Path::new(&home).join(".cache/llmspell/typescript-5.9.3/node_modules/.bin/tsc");
    if path.exists() {
        return Some(path);
    }
    eprintln!(
        "no TypeScript compiler (scripts/typescript.sh installs one): the tsc checks are skipped"
    );
    None
}

const JSCONFIG: &str = r#"{
  "compilerOptions": {
    "checkJs": true, "noEmit": true, "target": "es2022", "module": "es2022",
    "lib": ["es2022"], "types": []
  },
  "include": ["*.js", "llmspell.d.ts"]
}"#;

/// The declarations and a jsconfig in `dir`, then tsc over it: its
/// success, and what it printed.
fn check_js(dir: &Path, tsc: &Path) -> (bool, String) {
    let out = llmspell(dir, &["api", "--types", "ts"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::fs::write(dir.join("llmspell.d.ts"), &out.stdout).unwrap();
    std::fs::write(dir.join("jsconfig.json"), JSCONFIG).unwrap();
    let out = Command::new(tsc)
        .args(["-p", "jsconfig.json"])
        .current_dir(dir)
        .output()
        .expect("run tsc");
    (out.status.success(), text(&out.stdout) + &text(&out.stderr))
}

#[test]
fn every_shipped_javascript_spell_passes_tsc_against_the_declarations() {
    let Some(tsc) = tsc() else { return };
    let d = tempfile::tempdir().unwrap();
    let mut spells = 0;
    for entry in std::fs::read_dir("spells").unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "js") {
            std::fs::copy(&path, d.path().join(path.file_name().unwrap())).unwrap();
            spells += 1;
        }
    }
    assert!(spells >= 10, "only {spells} JavaScript spells");
    let (ok, printed) = check_js(d.path(), &tsc);
    assert!(ok, "tsc failed on the shipped spells:\n{printed}");
}

#[test]
fn spells_that_call_the_api_wrongly_fail_tsc_at_their_line() {
    let Some(tsc) = tsc() else { return };
    // Each line is wrong in its own way; the line it is on must be named.
    let cases = [
        ("too_few.js", "log.info();", "TS2554"),
        ("wrong_arg.js", "state.get(1);", "TS2345"),
        ("no_such.js", "state.gett('k');", "TS2551"),
        (
            "bad_option.js",
            "await llm.chat('hi', {modle: 'x'});",
            "TS2561",
        ),
        (
            "bad_reply.js",
            "const r = await llm.chat('hi'); print(r.txt);",
            "TS2551",
        ),
        (
            "not_awaited.js",
            "const r = llm.chat('hi'); print(r.text);",
            "TS2339",
        ),
        (
            "bad_role.js",
            "await llm.chat([{role: 'robot', content: 'x'}]);",
            "TS2322",
        ),
        (
            "agent_method.js",
            "const a = agent.new({}); await a.runn('x');",
            "TS2551",
        ),
        (
            "bad_callback.js",
            "workflow.map([1], 'not a function');",
            "TS2345",
        ),
        (
            "no_fetch.js",
            "await fetch('https://example.com');",
            "TS2304",
        ),
    ];
    let d = tempfile::tempdir().unwrap();
    for (name, body, _) in &cases {
        // Line 2, after a comment: the error must name it.
        write(
            d.path(),
            name,
            &format!("// {name}\n{body}\nexport {{}};\n"),
        );
    }
    let (ok, printed) = check_js(d.path(), &tsc);
    assert!(!ok, "tsc passed spells that are wrong:\n{printed}");
    for (name, _, code) in &cases {
        let at = format!("{name}(2,");
        let line = printed
            .lines()
            .find(|l| l.starts_with(&at))
            .unwrap_or_else(|| panic!("no error at {name} line 2:\n{printed}"));
        assert!(line.contains(code), "{name}: wanted {code}, got {line}");
    }
    // And the same spells written right pass.
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "right.js",
        "state.set('k', 1);\nconst r = await llm.chat([{role: 'user', content: 'x'}], {model: 'm'});\n\
         print(r.text, r.usage.input_tokens);\nconst a = agent.new({tools: ['calculator']});\n\
         print((await a.run('x')).steps.length);\nawait workflow.map([1], (x, i) => x + i);\n\
         const ac = new AbortController();\nawait workflow.sleep(1, {signal: ac.signal});\n\
         print(new URL('https://a.b/c').pathname, spell.engine);\nexport {};\n",
    );
    let (ok, printed) = check_js(d.path(), &tsc);
    assert!(ok, "tsc failed a right spell:\n{printed}");
}

#[test]
fn the_lua_definitions_are_lua_and_name_every_bridge() {
    let d = tempfile::tempdir().unwrap();
    let out = llmspell(d.path(), &["api", "--types", "lua"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lua = text(&out.stdout);
    assert!(lua.starts_with("---@meta\n"));
    std::fs::write(d.path().join("defs.lua"), &lua).unwrap();
    let out = llmspell(d.path(), &["check", "defs.lua"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let api = llmspell(d.path(), &["api", "--json"]);
    let api: serde_json::Value = serde_json::from_slice(&api.stdout).unwrap();
    let ts = text(&llmspell(d.path(), &["api", "--types", "ts"]).stdout);
    for f in api["functions"].as_array().unwrap() {
        let name = f["name"].as_str().unwrap();
        assert!(
            lua.contains(&format!("function {name}(")),
            "{name} not in the Lua definitions"
        );
        let member = name.rsplit('.').next().unwrap();
        let declared =
            ts.contains(&format!("  {member}(")) || ts.contains(&format!("  \"{member}\"("));
        assert!(
            declared || ts.contains(&format!("function {member}(")),
            "{name} not in the declarations"
        );
    }
    for needed in [
        "---@param opts? ChatOptions",
        "---@class ChatReply",
        "function Agent:run(input) end",
        "---@return AgentReply",
    ] {
        assert!(lua.contains(needed), "{needed:?} not in:\n{lua}");
    }
    let out = llmspell(d.path(), &["api", "--types", "rust"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--types must be lua or ts"));
}

#[test]
fn init_sets_up_a_project_that_runs_asks_a_model_and_type_checks_in_each_language() {
    let server = Scripted::always(Reply::text("teal"));
    let tsc = tsc();
    for (engine, ext, types) in [
        ("lua", "lua", Some(("types/llmspell.d.lua", ".luarc.json"))),
        ("js", "js", Some(("types/llmspell.d.ts", "jsconfig.json"))),
        ("rhai", "rhai", None),
    ] {
        let d = tempfile::tempdir().unwrap();
        // A folder that is not there yet is made.
        let out = llmspell(d.path(), &["init", "new", "--engine", engine]);
        assert!(out.status.success(), "{engine}: {}", text(&out.stderr));
        let project = d.path().join("new");
        let main = format!("main.{ext}");
        let mut expected = vec!["llmspell.toml".to_owned(), main.clone()];
        if let Some((defs, editor)) = types {
            expected.push(defs.into());
            expected.push(editor.into());
            assert!(!project.join("types/llmspell.d.rhai").exists());
        }
        for file in &expected {
            assert!(project.join(file).is_file(), "{engine}: no {file}");
            assert!(
                text(&out.stdout).contains(&format!("wrote new/{file}")),
                "{engine}: {file}"
            );
        }
        let run = llmspell(&project, &["run", &main]);
        assert!(run.status.success(), "{engine}: {}", text(&run.stderr));
        assert_eq!(
            text(&run.stdout),
            format!("hello from {engine}; give --arg ask=... to ask a model\n")
        );
        // With a model set up, it asks it.
        let config = std::fs::read_to_string(project.join("llmspell.toml")).unwrap();
        std::fs::write(
            project.join("llmspell.toml"),
            format!("{config}\n{}", server.toml()),
        )
        .unwrap();
        let run = llmspell(&project, &["run", &main, "--arg", "ask=Name a colour"]);
        assert!(run.status.success(), "{engine}: {}", text(&run.stderr));
        assert!(
            text(&run.stdout).starts_with("teal\n"),
            "{engine}: {}",
            text(&run.stdout)
        );
        if let (Some(tsc), "js") = (&tsc, engine) {
            let out = Command::new(tsc)
                .args(["-p", "jsconfig.json"])
                .current_dir(&project)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "tsc on a new project: {}",
                text(&out.stdout)
            );
        }
        // Again: what the user has is kept byte for byte; generated
        // definitions are written again, and ones the user wrote are kept.
        std::fs::write(project.join(&main), "-- mine\n").unwrap();
        let toml = std::fs::read(project.join("llmspell.toml")).unwrap();
        if let Some((defs, _)) = types {
            std::fs::write(
                project.join(defs),
                "stale, but written by `llmspell api --types`",
            )
            .unwrap();
        }
        let out = llmspell(d.path(), &["init", "new", "--engine", engine]);
        assert!(out.status.success(), "{engine}: {}", text(&out.stderr));
        assert_eq!(
            std::fs::read_to_string(project.join(&main)).unwrap(),
            "-- mine\n"
        );
        assert_eq!(std::fs::read(project.join("llmspell.toml")).unwrap(), toml);
        assert!(text(&out.stdout).contains(&format!("kept (already there) new/{main}")));
        if let Some((defs, _)) = types {
            let again = std::fs::read_to_string(project.join(defs)).unwrap();
            assert!(again.len() > 1000, "{engine}: {defs} not written again");
            std::fs::write(project.join(defs), "my own").unwrap();
            assert!(llmspell(d.path(), &["init", "new", "--engine", engine])
                .status
                .success());
            assert_eq!(
                std::fs::read_to_string(project.join(defs)).unwrap(),
                "my own"
            );
        }
    }
    // A file where the folder should be is refused, and left alone.
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "taken", "a file");
    let out = llmspell(d.path(), &["init", "taken"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).starts_with("config.invalid: llmspell init: taken is a file"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(d.path().join("taken")).unwrap(),
        "a file"
    );
    let out = llmspell(d.path(), &["init", "x", "--engine", "cobol"]);
    assert_eq!(out.status.code(), Some(2));
}
