//! `llmspell dap` against a real Debug Adapter Protocol client nobody here
//! wrote: the `DebugClient` of `@vscode/debugadapter-testsupport` (npm),
//! which VS Code's own adapters are tested with, runs
//! `tests/dap/session.cjs` (a conditional breakpoint, a logpoint, a
//! breakpoint on a comment, the stack, locals, evaluation, setting a local,
//! step in and out, a bridge-call breakpoint, its arguments, a step over it
//! and its reply edited) for a spell in each language, on stdio and on a
//! port. `scripts/dap-client.sh` installs the client and CI sets
//! `LLMSPELL_DAP_CLIENT` to it, so there it must run; elsewhere it is
//! looked for where that script puts it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

mod support;

use support::scripted::{Reply, Scripted};

fn client() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("LLMSPELL_DAP_CLIENT") {
        return Some(PathBuf::from(path));
    }
    let home = std::env::var_os("HOME")?;
    let path = Path::new(&home).join(".cache/llmspell/dap-testsupport-1.68.0/node_modules");
    if path.join("@vscode/debugadapter-testsupport").exists() {
        return Some(path);
    }
    eprintln!(
        "no DAP test client (scripts/dap-client.sh installs one): the DAP session is skipped"
    );
    None
}

/// The same spell in each language: line 2 is in `grow`, line 7 calls it
/// in a loop, line 8 is a comment, line 10 asks the model.
const SPELLS: [(&str, &str); 3] = [
    (
        "debugged.lua",
        "local function grow(n)\n  local m = n * 2\n  return m + 1\nend\n\
         local total = 0 print(\"hello \" .. spell.args.who)\nfor i = 1, 4 do\n\
         \x20 total = total + grow(i)\n  -- a comment\nend\nlocal r = llm.chat(\"say hi\")\n\
         print(\"reply: \" .. r.text)\nreturn {total = total, reply = r.text}\n",
    ),
    (
        "debugged.js",
        "function grow(n) {\n  const m = n * 2;\n  return m + 1;\n}\n\
         let total = 0; print(\"hello \" + spell.args.who);\nfor (let i = 1; i <= 4; i++) {\n\
         \x20 total = total + grow(i);\n  // a comment\n}\nconst r = await llm.chat(\"say hi\");\n\
         print(\"reply: \" + r.text);\nexport default {total, reply: r.text};\n",
    ),
    (
        "debugged.rhai",
        "fn grow(n) {\n  let m = n * 2;\n  m + 1\n}\n\
         let total = 0; print(\"hello \" + spell.args.who);\nfor i in 1..=4 {\n\
         \x20 total = total + grow(i);\n  // a comment\n}\nlet r = llm.chat(\"say hi\");\n\
         print(\"reply: \" + r.text);\n#{total: total, reply: r.text}\n",
    ),
];

/// A project holding one spell, whose model is a scripted one that says
/// "hoot": the server (alive while it is held), the folder, the spell.
fn project(name: &str, source: &str) -> (Scripted, tempfile::TempDir, PathBuf) {
    let server = Scripted::start(vec![Reply::text("hoot")]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("llmspell.toml"), server.toml()).unwrap();
    let spell = dir.path().join(name);
    std::fs::write(&spell, source).unwrap();
    (server, dir, spell)
}

fn session(
    node_modules: &Path,
    dir: &Path,
    spell: &Path,
    port: Option<u16>,
    scenario: &str,
) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/dap/session.cjs");
    let mut cmd = Command::new("node");
    cmd.arg(&script)
        .arg(env!("CARGO_BIN_EXE_llmspell"))
        .arg(spell);
    if let Some(port) = port {
        cmd.arg(port.to_string());
    }
    let out = cmd
        .env("NODE_PATH", node_modules)
        .env("SCENARIO", scenario)
        .current_dir(dir)
        .output()
        .expect("run node");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{}: {said}", spell.display());
    said
}

#[test]
fn a_real_dap_client_debugs_a_spell_in_every_language() {
    let Some(node_modules) = client() else {
        return;
    };
    for (name, source) in SPELLS {
        let (_server, dir, spell) = project(name, source);
        let said = session(&node_modules, dir.path(), &spell, None, "main");
        assert!(said.contains("ok"), "{name}: {said}");
    }
}

#[test]
fn the_dap_server_serves_a_client_on_a_port() {
    let Some(node_modules) = client() else {
        return;
    };
    let (name, source) = SPELLS[0];
    let (_server, dir, spell) = project(name, source);
    // A free port, then the server on it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut adapter = Command::new(env!("CARGO_BIN_EXE_llmspell"))
        .args(["dap", "--port", &port.to_string()])
        .current_dir(dir.path())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the server never listened"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let said = session(&node_modules, dir.path(), &spell, Some(port), "main");
    let _ = adapter.kill();
    let _ = adapter.wait();
    assert!(said.contains("ok"), "{said}");
}

#[test]
fn over_dap_a_failed_call_pauses_and_is_given_a_result_and_a_loop_is_paused_and_ended() {
    let Some(node_modules) = client() else {
        return;
    };
    for (name, source) in [
        (
            "errors.lua",
            "local v = json.decode(\"{bad\")\nprint(\"got \" .. json.encode(v))\nlocal n = 0\n\
             while true do\n  n = n + 1\nend\n",
        ),
        (
            "errors.js",
            "const v = json.decode(\"{bad\");\nprint(\"got \" + json.encode(v));\nlet n = 0;\n\
             while (true) {\n  n = n + 1;\n}\n",
        ),
        (
            "errors.rhai",
            "let v = json.decode(\"{bad\");\nprint(\"got \" + json.encode(v));\nlet n = 0;\n\
             loop {\n  n = n + 1;\n}\n",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let spell = dir.path().join(name);
        std::fs::write(&spell, source).unwrap();
        let said = session(&node_modules, dir.path(), &spell, None, "errors");
        assert!(said.contains("ok"), "{name}: {said}");
    }
}

#[test]
fn the_vscode_extension_starts_the_server_with_the_launch_settings_it_takes() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("editors/vscode/package.json");
    let package: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let debugger = &package["contributes"]["debuggers"][0];
    assert_eq!(debugger["type"], "llmspell");
    assert_eq!(debugger["program"], "llmspell");
    assert_eq!(debugger["args"], serde_json::json!(["dap"]));
    let mut settings: Vec<&str> = debugger["configurationAttributes"]["launch"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    settings.sort_unstable();
    // What `launch` reads (src/bin/llmspell/dap.rs).
    let source = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src/bin/llmspell/dap.rs"),
    )
    .unwrap();
    for s in &settings {
        assert!(
            source.contains(&format!("args[\"{s}\"]")),
            "launch does not read {s}"
        );
    }
    assert_eq!(
        settings,
        ["args", "cwd", "noDebug", "program", "replay", "stopOnEntry"]
    );
}
