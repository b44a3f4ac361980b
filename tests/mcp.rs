//! MCP servers as a spell's tools, against real servers nobody here wrote:
//! the reference server `@modelcontextprotocol/server-everything` (npm), on
//! stdio and on streamable HTTP, and servers built with the official Python
//! SDK (`mcp`, PyPI) that fail, crash and hang (`tests/mcp/faulty.py`).
//! `scripts/mcp.sh` installs both and CI sets `LLMSPELL_MCP_SERVER` and
//! `LLMSPELL_MCP_PYTHON`, so there they must run; elsewhere they are looked
//! for where that script puts them. Servers that break before any message
//! (exit, a banner on stdout, silence) need only python3.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use llmspell::session::Resident;
use llmspell::{Config, EngineKind, ErrorCode, RunOptions, Runtime, Spell};
use serde_json::{json, Value as Json};

mod support;

use support::cli::{llmspell, text, write};
use support::scripted::{Reply, Scripted};

fn cached(var: &str, path: &str, what: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(var) {
        let p = PathBuf::from(p);
        assert!(
            p.exists(),
            "{var} is set to {}, which is not there",
            p.display()
        );
        return Some(p);
    }
    let p = Path::new(&std::env::var_os("HOME")?)
        .join(".cache/llmspell")
        .join(path);
    if p.exists() {
        return Some(p);
    }
    eprintln!("no {what} (scripts/mcp.sh installs it): skipped");
    None
}

/// The reference server's entry script, run with node.
fn everything() -> Option<PathBuf> {
    cached(
        "LLMSPELL_MCP_SERVER",
        "mcp-server-everything-2026.8.31/node_modules/@modelcontextprotocol/server-everything/dist/index.js",
        "MCP reference server",
    )
}

/// A python with the official MCP SDK.
fn sdk_python() -> Option<PathBuf> {
    cached(
        "LLMSPELL_MCP_PYTHON",
        "mcp-python-1.30.0/bin/python",
        "Python MCP SDK",
    )
}

fn faulty() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mcp/faulty.py")
}

fn everything_toml(entry: &Path) -> String {
    format!(
        "[capabilities]\nmcp = [\"everything\"]\n\n[mcp.everything]\ncommand = [\"node\", {:?}, \"stdio\"]\n",
        entry.display().to_string()
    )
}

struct Ran {
    result: Result<Json, llmspell::Error>,
    took: Duration,
}

/// What a run shares its MCP servers with.
enum Shared<'a> {
    Nothing,
    Resident(&'a Resident),
    Runtime(&'a Runtime),
}

fn run_with(dir: &Path, toml: &str, kind: EngineKind, src: &str, resident: Shared) -> Ran {
    std::fs::write(dir.join("llmspell.toml"), toml).unwrap();
    let config = Config::load(&dir.join("llmspell.toml")).unwrap_or_else(|e| panic!("{e}"));
    let mut spell = Spell::from_source(&format!("m.{}", kind.extension()), src).unwrap();
    spell.dir = dir.to_path_buf();
    let mut opts = RunOptions::new(config);
    opts.output = Arc::new(|_| {});
    let started = Instant::now();
    let out = match resident {
        Shared::Resident(r) => {
            opts.resident = Some(r.clone());
            Runtime::new().run_here(&spell, &opts)
        }
        Shared::Runtime(rt) => rt.run_here(&spell, &opts),
        Shared::Nothing => Runtime::new().run_here(&spell, &opts),
    };
    Ran {
        result: out.result,
        took: started.elapsed(),
    }
}

fn run(dir: &Path, toml: &str, kind: EngineKind, src: &str) -> Ran {
    run_with(dir, toml, kind, src, Shared::Nothing)
}

fn lua(dir: &Path, toml: &str, src: &str) -> Ran {
    run(dir, toml, EngineKind::Lua, src)
}

/// The run's error, after checking its code and that it says `word`.
fn fails(ran: &Ran, code: ErrorCode, word: &str) {
    let e = error_of(ran);
    assert_eq!(e.code, code, "{}", e.report());
    assert!(e.message.contains(word), "{word:?} in {}", e.message);
}

fn error_of(ran: &Ran) -> &llmspell::Error {
    ran.result
        .as_ref()
        .err()
        .unwrap_or_else(|| panic!("expected an error, got {:?}", ran.result))
}

#[test]
fn a_real_servers_tools_resources_and_prompts_alike_in_every_engine() {
    let Some(entry) = everything() else { return };
    let toml = everything_toml(&entry);
    let lua_src = r#"
local listed = {}
for _, t in ipairs(tool.list()) do if t.server == "everything" then listed[#listed + 1] = t.name end end
local r = mcp.resources("everything")
local p = mcp.prompt("everything", "args-prompt", {city = "Paris", state = "Texas"})
local ok, e = pcall(tool.call, "everything/get-sum", {a = "two"})
return {
  listed = #listed, has_echo = listed[1] == "everything/echo",
  echo = tool.call("everything/echo", {message = "hi from lua"}),
  sum = tool.call("everything/get-sum", {a = 2, b = 40}),
  structured = tool.call("everything/get-structured-content", {location = "Chicago"}),
  resources = #r, first = r[1].uri,
  read = string.sub(mcp.read("everything", r[1].uri), 1, 16),
  prompt = p.messages[1].content, role = p.messages[1].role,
  prompts = #mcp.prompts("everything"), own = #mcp.tools("everything"),
  invalid = e:match("^([%w_]+%.[%w_]+):"),
}"#;
    let js_src = r#"
const listed = tool.list().filter(t => t.server === "everything").map(t => t.name);
const r = await mcp.resources("everything");
const p = await mcp.prompt("everything", "args-prompt", {city: "Paris", state: "Texas"});
let invalid;
try { await tool.call("everything/get-sum", {a: "two"}); } catch (e) { invalid = e.code; }
export default {
  listed: listed.length, has_echo: listed[0] === "everything/echo",
  echo: await tool.call("everything/echo", {message: "hi from js"}),
  sum: await tool.call("everything/get-sum", {a: 2, b: 40}),
  structured: await tool.call("everything/get-structured-content", {location: "Chicago"}),
  resources: r.length, first: r[0].uri,
  read: (await mcp.read("everything", r[0].uri)).slice(0, 16),
  prompt: p.messages[0].content, role: p.messages[0].role,
  prompts: (await mcp.prompts("everything")).length, own: (await mcp.tools("everything")).length,
  invalid,
};"#;
    let rhai_src = r#"
let listed = tool.list().filter(|t| t.server == "everything").map(|t| t.name);
let r = mcp.resources("everything");
let p = mcp.prompt("everything", "args-prompt", #{city: "Paris", state: "Texas"});
let invalid = "";
try { tool.call("everything/get-sum", #{a: "two"}); } catch (e) { invalid = e.split(":")[0]; }
#{
  listed: listed.len(), has_echo: listed[0] == "everything/echo",
  echo: tool.call("everything/echo", #{message: "hi from rhai"}),
  sum: tool.call("everything/get-sum", #{a: 2, b: 40}),
  structured: tool.call("everything/get-structured-content", #{location: "Chicago"}),
  resources: r.len(), first: r[0].uri,
  read: mcp.read("everything", r[0].uri).sub_string(0, 16),
  prompt: p.messages[0].content, role: p.messages[0].role,
  prompts: mcp.prompts("everything").len(), own: mcp.tools("everything").len(),
  invalid: invalid,
}"#;
    let mut seen = Vec::new();
    for (kind, src) in [
        (EngineKind::Lua, lua_src),
        (EngineKind::Js, js_src),
        (EngineKind::Rhai, rhai_src),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let ran = run(dir.path(), &toml, kind, src);
        let mut r = ran
            .result
            .unwrap_or_else(|e| panic!("{kind}: {}", e.report()));
        assert_eq!(r["echo"], format!("Echo: hi from {kind}"), "{kind}");
        r["echo"] = json!("Echo");
        seen.push(r);
    }
    let r = &seen[0];
    assert_eq!(seen[1], *r, "js differs from lua");
    assert_eq!(seen[2], *r, "rhai differs from lua");
    assert!(r["listed"].as_i64().unwrap() >= 10, "{r}");
    assert_eq!(r["listed"], r["own"], "{r}");
    assert_eq!(r["has_echo"], true, "{r}");
    assert_eq!(r["sum"], "The sum of 2 and 40 is 42.", "{r}");
    // Structured content comes as a value, not as its JSON text.
    assert!(r["structured"]["temperature"].is_number(), "{r}");
    assert!(r["resources"].as_i64().unwrap() >= 1, "{r}");
    assert!(r["first"].as_str().unwrap().starts_with("demo://"), "{r}");
    assert_eq!(r["read"], "# Everything Ser", "{r}");
    assert_eq!(r["prompt"], "What's weather in Paris, Texas?", "{r}");
    assert_eq!(r["role"], "user", "{r}");
    assert!(r["prompts"].as_i64().unwrap() >= 2, "{r}");
    // The tool's own schema checked the arguments before any call.
    assert_eq!(r["invalid"], "args.invalid", "{r}");
}

#[test]
fn an_agent_answers_with_a_real_servers_tool_in_every_engine() {
    let Some(entry) = everything() else { return };
    let srcs = [
        (
            EngineKind::Lua,
            r#"local a = agent.new{tools = {"everything/get-sum"}}
local r = a:run("What is 2 + 40?")
return {text = r.text, tool = r.steps[1].tool, result = r.steps[1].result}"#,
        ),
        (
            EngineKind::Js,
            r#"const a = agent.new({tools: ["everything/get-sum"]});
const r = await a.run("What is 2 + 40?");
export default {text: r.text, tool: r.steps[0].tool, result: r.steps[0].result};"#,
        ),
        (
            EngineKind::Rhai,
            r#"let a = agent.new(#{tools: ["everything/get-sum"]});
let r = a.run("What is 2 + 40?");
#{text: r.text, tool: r.steps[0].tool, result: r.steps[0].result}"#,
        ),
    ];
    for (kind, src) in srcs {
        let model = Scripted::start(vec![
            Reply::Text(
                String::new(),
                vec![(
                    "call_1".into(),
                    "everything__get-sum".into(),
                    r#"{"a": 2, "b": 40}"#.into(),
                )],
            ),
            Reply::text("2 + 40 is 42."),
        ]);
        let toml = format!("{}\n{}", everything_toml(&entry), model.toml());
        let dir = tempfile::tempdir().unwrap();
        let ran = run(dir.path(), &toml, kind, src);
        let r = ran
            .result
            .unwrap_or_else(|e| panic!("{kind}: {}", e.report()));
        assert_eq!(r["text"], "2 + 40 is 42.", "{kind}");
        assert_eq!(r["tool"], "everything/get-sum", "{kind}: {r}");
        assert_eq!(r["result"], "The sum of 2 and 40 is 42.", "{kind}: {r}");
        let requests = model.requests.lock().unwrap();
        // The model was offered the tool by a name models take, with the
        // server's own schema.
        let offered = &requests[0]["tools"][0]["function"];
        assert_eq!(offered["name"], "everything__get-sum", "{kind}");
        assert_eq!(
            offered["parameters"]["required"],
            json!(["a", "b"]),
            "{kind}"
        );
        // And read the server's answer in the conversation that followed.
        let told = requests[1]["messages"].to_string();
        assert!(
            told.contains("The sum of 2 and 40 is 42."),
            "{kind}: {told}"
        );
    }
}

/// A free port on 127.0.0.1.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process killed when the test ends, however it ends.
struct Killed(std::process::Child);

/// `cmd` started quietly, once it listens on `port` of 127.0.0.1.
fn listening(mut cmd: std::process::Command, port: u16) -> Killed {
    let child = Killed(
        cmd.stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let until = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < until, "the HTTP server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_real_server_over_streamable_http() {
    let Some(entry) = everything() else { return };
    let port = free_port();
    let mut node = std::process::Command::new("node");
    node.arg(&entry)
        .arg("streamableHttp")
        .env("PORT", port.to_string());
    let _server = listening(node, port);
    let toml = format!(
        "[capabilities]\nmcp = [\"web\"]\n\n[mcp.web]\nurl = \"http://127.0.0.1:{port}/mcp\"\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let ran = lua(
        dir.path(),
        &toml,
        r#"return {echo = tool.call("web/echo", {message = "over http"}), n = #mcp.tools("web")}"#,
    );
    let r = ran.result.unwrap_or_else(|e| panic!("{}", e.report()));
    assert_eq!(r["echo"], "Echo: over http");
    assert!(r["n"].as_i64().unwrap() >= 10, "{r}");
}

#[test]
fn an_http_servers_secret_goes_in_its_header_and_nowhere_else() {
    // Not an MCP server: it keeps what it was sent and answers 401.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(String::new()));
    let keep = seen.clone();
    std::thread::spawn(move || {
        use std::io::{BufRead, Write};
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                keep.lock().unwrap().push_str(&line.to_ascii_lowercase());
            }
            let _ = stream.write_all(
                b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            );
        }
    });
    std::env::set_var("LLMSPELL_TEST_MCP_TOKEN", "tok-5ecret-77");
    let toml = format!(
        "[capabilities]\nmcp = [\"locked\"]\n\n[mcp.locked]\nurl = \"http://127.0.0.1:{port}/mcp\"\nauth = \"locked\"\n\n\
         [secrets.locked]\nenv = \"LLMSPELL_TEST_MCP_TOKEN\"\nhosts = [\"127.0.0.1\"]\nheader = \"X-Api-Key\"\nprefix = \"\"\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let ran = lua(
        dir.path(),
        &toml,
        r#"return tool.call("locked/anything", {})"#,
    );
    let e = error_of(&ran);
    assert_eq!(e.code, ErrorCode::McpStart, "{}", e.report());
    assert!(
        seen.lock().unwrap().contains("x-api-key: tok-5ecret-77"),
        "{}",
        seen.lock().unwrap()
    );
    assert!(!e.report().contains("5ecret"), "{}", e.report());
    // A secret whose hosts do not hold the server's is never sent.
    let toml = toml.replace("hosts = [\"127.0.0.1\"]", "hosts = [\"api.example.com\"]");
    seen.lock().unwrap().clear();
    let ran = lua(
        dir.path(),
        &toml,
        r#"return tool.call("locked/anything", {})"#,
    );
    assert_eq!(error_of(&ran).code, ErrorCode::SandboxDenied);
    assert!(seen.lock().unwrap().is_empty());
}

#[test]
fn servers_that_break_before_any_message_fail_fast_with_a_code_and_why() {
    let py = faulty();
    let server = |mode: &str, extra: &str| {
        format!(
            "[capabilities]\nmcp = [\"bad\"]\n\n[mcp.bad]\ncommand = [\"python3\", {:?}, \"{mode}\"]\n{extra}",
            py.display().to_string()
        )
    };
    let call = r#"return tool.call("bad/x", {})"#;
    let dir = tempfile::tempdir().unwrap();

    let missing =
        "[capabilities]\nmcp = [\"bad\"]\n\n[mcp.bad]\ncommand = [\"no-such-mcp-server-here\"]\n";
    let ran = lua(dir.path(), missing, call);
    fails(&ran, ErrorCode::McpStart, "no-such-mcp-server-here");

    let ran = lua(dir.path(), &server("exit", ""), call);
    fails(&ran, ErrorCode::McpStart, "cannot find my config file");

    // A banner on stdout is not MCP: at once, not after a time limit.
    let ran = lua(dir.path(), &server("banner", ""), call);
    fails(&ran, ErrorCode::McpStart, "faulty server 1.0 ready");
    assert!(ran.took < Duration::from_secs(10), "{:?}", ran.took);

    let ran = lua(
        dir.path(),
        &server("silent", "start_timeout_secs = 0.5\n"),
        call,
    );
    fails(&ran, ErrorCode::McpStart, "start_timeout_secs");

    // The spell's own time limit ends a wait for a server sooner.
    let ran = lua(
        dir.path(),
        &format!("[limits]\ntimeout_secs = 0.5\n{}", server("silent", "")),
        call,
    );
    assert_eq!(error_of(&ran).code, ErrorCode::LimitTime);
    assert!(ran.took < Duration::from_secs(10), "{:?}", ran.took);
}

fn sdk_toml(python: &Path, extra: &str) -> String {
    format!(
        "[capabilities]\nmcp = [\"faulty\"]\n\n[mcp.faulty]\ncommand = [{:?}, {:?}, \"sdk\"]\n{extra}",
        python.display().to_string(),
        faulty().display().to_string()
    )
}

/// Whether a process is there and not a zombie.
fn alive(pid: i64) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z')),
        Err(_) => false,
    }
}

fn gone_soon(pid: i64) -> bool {
    let until = Instant::now() + Duration::from_secs(5);
    while alive(pid) {
        if Instant::now() > until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

#[test]
fn a_server_that_fails_crashes_or_hangs_mid_run_gives_a_code_and_the_next_call_restarts_it() {
    let Some(python) = sdk_python() else { return };
    let toml = sdk_toml(&python, "timeout_secs = 1\n");
    let dir = tempfile::tempdir().unwrap();
    let ran = lua(
        dir.path(),
        &toml,
        r#"
local first = tool.call("faulty/pid", {})
local _, failed = pcall(tool.call, "faulty/fail", {})
local _, crashed = pcall(tool.call, "faulty/crash", {})
local again = tool.call("faulty/pid", {})
local _, hung = pcall(tool.call, "faulty/hang", {})
local function code(e) return (e:match("^([%w_]+%.[%w_]+):")) end
return {first = first, again = again, failed = code(failed), failed_text = failed,
        crashed = code(crashed), crashed_text = crashed, hung = code(hung)}"#,
    );
    let r = ran.result.unwrap_or_else(|e| panic!("{}", e.report()));
    // A tool's own error is the tool's failure, with its words.
    assert_eq!(r["failed"], "tool.failed", "{r}");
    assert!(
        r["failed_text"].as_str().unwrap().contains("no luck today"),
        "{r}"
    );
    assert_eq!(r["crashed"], "mcp.failed", "{r}");
    let crashed = r["crashed_text"].as_str().unwrap();
    assert!(crashed.contains("crashing now"), "{crashed}");
    assert_ne!(r["first"], r["again"], "a new process after the crash: {r}");
    assert_eq!(r["hung"], "mcp.timeout", "{r}");
    assert!(ran.took < Duration::from_secs(20), "{:?}", ran.took);
    let pid = r["again"].as_i64().unwrap();
    assert!(gone_soon(pid), "the hung server outlived its run");
}

#[test]
fn a_server_sees_only_a_minimal_environment_and_what_it_is_given() {
    let Some(python) = sdk_python() else { return };
    std::env::set_var("LLMSPELL_TEST_HOST_ONLY", "host-value");
    std::env::set_var("LLMSPELL_TEST_PASSED", "passed-value");
    let toml = sdk_toml(
        &python,
        "env = { GIVEN = \"given-value\" }\npass_env = [\"LLMSPELL_TEST_PASSED\"]\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let ran = lua(
        dir.path(),
        &toml,
        r#"local function env(n) return tool.call("faulty/env", {name = n}) end
return {host = env("LLMSPELL_TEST_HOST_ONLY"), passed = env("LLMSPELL_TEST_PASSED"),
        given = env("GIVEN"), path = env("PATH") ~= "<unset>"}"#,
    );
    let r = ran.result.unwrap_or_else(|e| panic!("{}", e.report()));
    assert_eq!(
        r,
        json!({"host": "<unset>", "passed": "passed-value", "given": "given-value", "path": true})
    );
    let toml = sdk_toml(&python, "pass_env = [\"LLMSPELL_TEST_NOT_SET_ANYWHERE\"]\n");
    let ran = lua(dir.path(), &toml, r#"return tool.call("faulty/pid", {})"#);
    fails(&ran, ErrorCode::McpStart, "LLMSPELL_TEST_NOT_SET_ANYWHERE");
}

#[test]
fn runs_sharing_a_resident_share_its_servers_until_the_config_changes() {
    let Some(python) = sdk_python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let pid = r#"return tool.call("faulty/pid", {})"#;
    let pid_of = |ran: Ran| -> i64 {
        let v = ran.result.unwrap_or_else(|e| panic!("{}", e.report()));
        v.as_i64().unwrap_or_else(|| panic!("{v}"))
    };
    // A run of its own stops its server when it ends.
    let alone = pid_of(lua(dir.path(), &sdk_toml(&python, ""), pid));
    assert!(gone_soon(alone), "the server outlived its run");
    // The IDE's runs share its one runtime: the server stays up between them.
    let toml = sdk_toml(&python, "");
    let js = "export default await tool.call(\"faulty/pid\", {});";
    let ide = Runtime::new();
    fn on(dir: &Path, kind: EngineKind, src: &str, toml: &str, shared: Shared) -> i64 {
        let v = run_with(dir, toml, kind, src, shared)
            .result
            .unwrap_or_else(|e| panic!("{}", e.report()));
        v.as_i64().unwrap_or_else(|| panic!("{v}"))
    }
    let dir = dir.path();
    let first = on(dir, EngineKind::Lua, pid, &toml, Shared::Runtime(&ide));
    let second = on(dir, EngineKind::Js, js, &toml, Shared::Runtime(&ide));
    assert_eq!(first, second, "one server for both runs");
    drop(ide);
    assert!(gone_soon(first), "the server outlived the IDE's runtime");
    // Runs given one Resident share it the same way, across runtimes.
    let ide = Resident::default();
    let first = on(dir, EngineKind::Lua, pid, &toml, Shared::Resident(&ide));
    let second = on(dir, EngineKind::Js, js, &toml, Shared::Resident(&ide));
    assert_eq!(first, second, "one server for both runs");
    assert!(alive(first));
    // A changed [mcp.faulty] starts a new server and stops the old.
    let changed = sdk_toml(&python, "env = { CHANGED = \"1\" }\n");
    let rhai = "tool.call(\"faulty/pid\", #{})";
    let third = on(
        dir,
        EngineKind::Rhai,
        rhai,
        &changed,
        Shared::Resident(&ide),
    );
    assert_ne!(third, first);
    assert!(gone_soon(first), "the old server outlived its config");
    assert!(alive(third));
    drop(ide);
    assert!(
        gone_soon(third),
        "the server outlived the last run holding it"
    );
}

#[test]
fn only_the_servers_the_capabilities_list_are_reachable() {
    let dir = tempfile::tempdir().unwrap();
    let configured = "[mcp.quiet]\ncommand = [\"python3\", \"-c\", \"pass\"]\n";
    for src in [
        r#"return tool.call("quiet/x", {})"#,
        r#"return mcp.resources("quiet")"#,
        r#"return mcp.prompt("quiet", "p")"#,
    ] {
        let ran = lua(dir.path(), configured, src);
        let e = error_of(&ran);
        assert_eq!(e.code, ErrorCode::SandboxDenied, "{src}: {}", e.report());
        assert!(e.message.contains("[capabilities] mcp"), "{}", e.message);
    }
    // A name no [mcp] section has is a plain unknown tool, or a config error.
    let ran = lua(dir.path(), configured, r#"return tool.call("other/x", {})"#);
    assert_eq!(error_of(&ran).code, ErrorCode::ToolNotFound);
    let ran = lua(dir.path(), configured, r#"return mcp.tools("other")"#);
    assert_eq!(error_of(&ran).code, ErrorCode::ConfigInvalid);
    // And a capability for a server that is not configured is refused at load.
    std::fs::write(
        dir.path().join("llmspell.toml"),
        "[capabilities]\nmcp = [\"ghost\"]\n",
    )
    .unwrap();
    let e = Config::load(&dir.path().join("llmspell.toml")).unwrap_err();
    assert_eq!(e.code, ErrorCode::ConfigInvalid);
    assert!(e.message.contains("[mcp.ghost]"), "{}", e.message);
    for (bad, word) in [
        ("[mcp.x]\n", "command"),
        (
            "[mcp.x]\ncommand = [\"a\"]\nurl = \"http://h/mcp\"\n",
            "not both",
        ),
        ("[mcp.x]\nurl = \"ftp://h/mcp\"\n", "http"),
        (
            "[mcp.x]\nurl = \"http://h/mcp\"\nauth = \"nope\"\n",
            "[secrets.nope]",
        ),
        ("[mcp.\"a/b\"]\ncommand = [\"a\"]\n", "name"),
        (
            "[mcp.x]\ncommand = [\"a\"]\ntimeout_secs = 0\n",
            "timeout_secs",
        ),
        ("[mcp.x]\ncommand = [\"a\"]\nargs = []\n", "args"),
    ] {
        std::fs::write(dir.path().join("llmspell.toml"), bad).unwrap();
        let e = Config::load(&dir.path().join("llmspell.toml")).unwrap_err();
        assert_eq!(e.code, ErrorCode::ConfigInvalid, "{bad}");
        assert!(e.message.contains(word), "{bad}: {}", e.message);
    }
}

#[test]
fn a_recorded_run_replays_with_no_server() {
    let Some(entry) = everything() else { return };
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "llmspell.toml", &everything_toml(&entry));
    write(
        dir.path(),
        "m.lua",
        r#"print(#tool.list() > 8, tool.call("everything/echo", {message = "kept"}))
print(mcp.prompt("everything", "simple-prompt").messages[1].content)
return #mcp.resources("everything")"#,
    );
    let live = llmspell(dir.path(), &["run", "m.lua", "--record", "c.jsonl"]);
    assert!(live.status.success(), "{}", text(&live.stderr));
    // The server is gone now: the cassette answers everything it said.
    write(
        dir.path(),
        "llmspell.toml",
        "[capabilities]\nmcp = [\"everything\"]\n\n[mcp.everything]\ncommand = [\"no-such-server-now\"]\n",
    );
    let replayed = llmspell(dir.path(), &["run", "m.lua", "--replay", "c.jsonl"]);
    assert!(replayed.status.success(), "{}", text(&replayed.stderr));
    assert_eq!(text(&replayed.stdout), text(&live.stdout));
    assert!(
        text(&live.stdout).contains("true\tEcho: kept"),
        "{}",
        text(&live.stdout)
    );
}

/// A project whose spells declare tools, in each language, beside ones
/// that do not or declare one wrongly.
fn served_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    write(p, "llmspell.toml", "[limits]\ntimeout_secs = 5\n");
    write(
        p,
        "greet.lua",
        "-- @tool greet: Greets someone by name.\n-- @param name string: who to greet\n-- @param times? integer: how many times\n\
         for i = 1, spell.args.times or 1 do print(\"hello \" .. spell.args.name) end\n\
         return {greeted = spell.args.name}\n",
    );
    write(
        p,
        "math/add.js",
        "// @tool add: Adds two numbers.\n// @param a number\n// @param b number\n\
         export default {sum: spell.args.a + spell.args.b, engine: spell.engine};\n",
    );
    write(
        p,
        "fail.rhai",
        "// @tool fail: Always fails.\nthrow \"no way\";\n",
    );
    write(p, "plain.lua", "-- not a tool\nreturn 1\n");
    write(
        p,
        "broken.lua",
        "-- @tool broken thing: spaces in a name\nreturn 1\n",
    );
    dir
}

fn client(python: &Path, args: &[&str]) -> Json {
    let out = std::process::Command::new(python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mcp/client.py"))
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out.stdout)))
}

fn check_served(got: &Json) {
    assert_eq!(got["server"]["name"], "llmspell");
    let mut names: Vec<&str> = got["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["add", "fail", "greet"], "{got}");
    let greet = got["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "greet")
        .unwrap();
    assert_eq!(greet["description"], "Greets someone by name.");
    assert_eq!(greet["inputSchema"]["required"], json!(["name"]));
    assert_eq!(
        greet["inputSchema"]["properties"]["times"]["type"],
        "integer"
    );
    let calls = got["calls"].as_array().unwrap();
    // Printed lines and the result come back as text; the result as a value.
    assert_eq!(calls[0]["isError"], false, "{}", calls[0]);
    assert_eq!(
        calls[0]["content"][0]["text"],
        "hello Bo\nhello Bo\n{\"greeted\":\"Bo\"}"
    );
    assert_eq!(calls[0]["structuredContent"], json!({"greeted": "Bo"}));
    assert_eq!(
        calls[1]["structuredContent"],
        json!({"sum": 42.5, "engine": "js"})
    );
    // A wrong call and a failing spell are tool errors with their codes.
    assert_eq!(calls[2]["isError"], true);
    let missing = calls[2]["content"][0]["text"].as_str().unwrap();
    assert!(
        missing.starts_with("args.invalid: greet needs argument name"),
        "{missing}"
    );
    assert_eq!(calls[3]["isError"], true);
    let failed = calls[3]["content"][0]["text"].as_str().unwrap();
    assert!(failed.contains("no way"), "{failed}");
    assert_eq!(calls[4]["isError"], true);
    assert!(calls[4]["content"][0]["text"]
        .as_str()
        .unwrap()
        .starts_with("tool.not_found"));
}

const CALLS: &str = r#"[["greet", {"name": "Bo", "times": 2}], ["add", {"a": 40, "b": 2.5}],
    ["greet", {"times": 1}], ["fail", {}], ["nope", {}]]"#;

#[test]
fn a_real_mcp_client_lists_and_calls_the_projects_spells_on_stdio_and_http() {
    let Some(python) = sdk_python() else { return };
    let project = served_project();
    let dir = project.path().to_str().unwrap();
    let got = client(
        &python,
        &["stdio", env!("CARGO_BIN_EXE_llmspell"), dir, CALLS],
    );
    check_served(&got);
    // Each call was a run, kept in the project's history.
    let runs = llmspell(project.path(), &["runs", "--json"]);
    let runs: Json = serde_json::from_slice(&runs.stdout).unwrap();
    let spells: Vec<&str> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["spell"].as_str().unwrap())
        .collect();
    assert_eq!(spells.len(), 4, "{runs}");
    assert!(
        spells.contains(&"add.js") && spells.contains(&"fail.rhai"),
        "{spells:?}"
    );

    let port = free_port();
    let mut serve = std::process::Command::new(env!("CARGO_BIN_EXE_llmspell"));
    serve.args(["mcp", "serve", dir, "--http", &format!("127.0.0.1:{port}")]);
    let _server = listening(serve, port);
    let got = client(
        &python,
        &["http", &format!("http://127.0.0.1:{port}/mcp"), CALLS],
    );
    check_served(&got);
}

#[test]
fn a_spell_declares_its_args_for_check_run_and_serve() {
    let project = served_project();
    let p = project.path();
    let check = llmspell(p, &["check", "greet.lua"]);
    assert!(check.status.success(), "{}", text(&check.stderr));
    assert_eq!(
        text(&check.stdout),
        "greet.lua: ok\ntool greet: Greets someone by name.\n  name (string, required): who to greet\n  times (integer): how many times\n"
    );
    // --arg text is read as the declared type, and checked before the run.
    let ok = llmspell(
        p,
        &["run", "greet.lua", "--arg", "name=Al", "--arg", "times=2"],
    );
    assert_eq!(
        text(&ok.stdout),
        "hello Al\nhello Al\n{\"greeted\":\"Al\"}\n"
    );
    for (args, want) in [
        (
            vec!["--arg", "times=2"],
            "args.invalid: greet needs argument name (who to greet)",
        ),
        (
            vec!["--arg", "name=Al", "--arg", "times=lots"],
            "argument times must be an integer, not \"lots\"",
        ),
        (
            vec!["--arg", "name=Al", "--arg", "nmae=x"],
            "takes no argument \"nmae\"",
        ),
    ] {
        let mut all = vec!["run", "greet.lua"];
        all.extend(args);
        let out = llmspell(p, &all);
        assert!(!out.status.success());
        let err = text(&out.stderr);
        assert!(err.contains(want), "{err}");
        assert!(err.contains("greet.lua:"), "{err}");
    }
    let broken = llmspell(p, &["check", "broken.lua"]);
    assert!(!broken.status.success());
    assert!(
        text(&broken.stderr).starts_with("spell.syntax: @tool \"broken thing\""),
        "{}",
        text(&broken.stderr)
    );
    // Two spells that declare one tool are refused before serving.
    write(p, "greet2.js", "// @tool greet: again\nexport default 1;\n");
    let twice = llmspell(p, &["mcp", "serve", "."]);
    assert!(!twice.status.success());
    assert!(
        text(&twice.stderr).contains("two spells declare @tool greet"),
        "{}",
        text(&twice.stderr)
    );
    let open = llmspell(p, &["mcp", "serve", ".", "--http", "0.0.0.0:9"]);
    assert!(
        text(&open.stderr).contains("only on a loopback address"),
        "{}",
        text(&open.stderr)
    );
}

#[test]
fn the_shipped_word_stats_spell_is_served_alike_in_every_language() {
    let Some(python) = sdk_python() else { return };
    // A copy: the calls' runs are kept in the project's history.
    let project = tempfile::tempdir().unwrap();
    for name in [
        "word_stats.lua",
        "word_stats.js",
        "word_stats.rhai",
        "llmspell.toml",
    ] {
        std::fs::copy(
            support::project::spells_dir().join(name),
            project.path().join(name),
        )
        .unwrap();
    }
    let calls = r#"[["word_stats", {"text": "a b a\nc", "top": 1}]]"#;
    let mut seen = Vec::new();
    for kind in EngineKind::ALL {
        let file = project.path().join(format!("word_stats.{kind}"));
        let got = client(
            &python,
            &[
                "stdio",
                env!("CARGO_BIN_EXE_llmspell"),
                file.to_str().unwrap(),
                calls,
            ],
        );
        assert_eq!(got["tools"][0]["name"], "word_stats", "{kind}: {got}");
        assert_eq!(
            got["tools"][0]["inputSchema"]["required"],
            json!(["text"]),
            "{kind}"
        );
        seen.push(got["calls"][0].clone());
    }
    assert_eq!(
        seen[0]["structuredContent"],
        json!({"words": 4, "lines": 2, "longest": "a", "top": [{"word": "a", "count": 2}]})
    );
    assert_eq!(seen[1], seen[0], "js");
    assert_eq!(seen[2], seen[0], "rhai");
}

#[test]
fn an_mcp_tool_call_pauses_in_the_debugger_with_its_arguments_and_result_editable() {
    use llmspell::debug::{Debugger, Resume, When};
    let Some(entry) = everything() else { return };
    let srcs = [
        (
            EngineKind::Lua,
            r#"return tool.call("everything/echo", {message = "hi"})"#,
        ),
        (
            EngineKind::Js,
            r#"export default await tool.call("everything/echo", {message: "hi"});"#,
        ),
        (
            EngineKind::Rhai,
            r#"tool.call("everything/echo", #{message: "hi"})"#,
        ),
    ];
    for (kind, src) in srcs {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("llmspell.toml"), everything_toml(&entry)).unwrap();
        let config = Config::load(&dir.path().join("llmspell.toml")).unwrap();
        let mut spell = Spell::from_source(&format!("m.{}", kind.extension()), src).unwrap();
        spell.dir = dir.path().to_path_buf();
        let mut opts = RunOptions::new(config);
        opts.output = Arc::new(|_| {});
        let debugger = Debugger::new();
        debugger.break_on("tool.*");
        opts.debugger = Some(debugger.clone());
        let run = Runtime::new().spawn(spell, opts);
        let wait = Duration::from_secs(20);
        let p = debugger.wait_paused(wait).expect("paused before the call");
        assert_eq!(
            (p.when, p.call.as_str()),
            (When::Before, "tool.call"),
            "{kind}"
        );
        assert_eq!(
            p.args,
            vec![json!("everything/echo"), json!({"message": "hi"})],
            "{kind}"
        );
        // The server is sent the edited arguments...
        debugger.resume(
            Resume::Step,
            Some(json!(["everything/echo", {"message": "edited"}])),
        );
        let p = debugger.wait_paused(wait).expect("paused after the call");
        assert_eq!(p.result, Some(json!("Echo: edited")), "{kind}");
        // ...and the spell gets the edited result.
        debugger.resume(Resume::Continue, Some(json!("mine")));
        assert_eq!(run.join().result.unwrap(), json!("mine"), "{kind}");
    }
}
