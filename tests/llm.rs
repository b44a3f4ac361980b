//! Model calls against the scripted provider: exact replies, tool calls,
//! faults, streams, budgets, events, and record/replay, in every engine.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use llmspell::provider::{Cassette, CassetteMode};
use llmspell::{Config, EngineKind, ErrorCode, RunOptions, Runtime, Spell};
use support::scripted::{Reply, Scripted};

#[global_allocator]
static ALLOC: llmspell::CountingAllocator = llmspell::CountingAllocator;

struct Run {
    result: llmspell::Result<serde_json::Value>,
    events: Vec<llmspell::Event>,
}

fn run_with(toml: &str, kind: EngineKind, src: &str, cassette: Option<CassetteMode>) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("llmspell.toml");
    std::fs::write(&file, toml).unwrap();
    let config = Config::load(&file).unwrap();
    let mut opts = RunOptions::new(config);
    opts.output = Arc::new(|_| {});
    opts.log = Arc::new(|_, _, _| {});
    if let Some(mode) = cassette {
        opts.cassette = Some(Arc::new(Mutex::new(Cassette::open(&mode).unwrap())));
    }
    let name = format!("case.{}", kind.extension());
    let mut spell = Spell::from_source(&name, src).unwrap();
    spell.dir = dir.path().to_path_buf();
    let rt = Runtime::new();
    let rx = rt.bus().subscribe("llm.*");
    let out = rt.run(&spell, &opts);
    Run {
        result: out.result,
        events: rx.try_iter().collect(),
    }
}

/// The same case in three languages.
struct Case {
    lua: &'static str,
    js: &'static str,
    rhai: &'static str,
}

impl Case {
    fn each(&self, replies: impl Fn() -> Vec<Reply>, check: impl Fn(EngineKind, Run, &Scripted)) {
        for (kind, src) in [
            (EngineKind::Lua, self.lua),
            (EngineKind::Js, self.js),
            (EngineKind::Rhai, self.rhai),
        ] {
            let server = Scripted::start(replies());
            let run = run_with(&server.toml(), kind, src, None);
            check(kind, run, &server);
        }
    }
}

#[test]
fn chat_returns_the_reply_usage_model_and_sends_options() {
    Case {
        lua: r#"return llm.chat("hi", {system = "be brief", temperature = 0, max_tokens = 9})"#,
        js: r#"export default await llm.chat("hi", {system: "be brief", temperature: 0, max_tokens: 9});"#,
        rhai: r#"llm.chat("hi", #{system: "be brief", temperature: 0, max_tokens: 9})"#,
    }
    .each(
        || vec![Reply::text("Hello there")],
        |kind, run, server| {
            let r = run.result.unwrap_or_else(|e| panic!("{kind}: {e}"));
            assert_eq!(r["text"], "Hello there", "{kind}");
            assert_eq!(r["model"], "mock/m1");
            assert_eq!(r["usage"], serde_json::json!({"input_tokens": 7, "output_tokens": 5}));
            assert_eq!(r["tool_calls"], serde_json::json!([]));
            let req = &server.requests.lock().unwrap()[0];
            assert_eq!(req["model"], "m1");
            assert_eq!(req["max_tokens"], 9);
            assert_eq!(req["temperature"], 0.0);
            assert_eq!(req["messages"][0]["role"], "system");
            assert_eq!(req["messages"][1]["content"], "hi");
            let topics: Vec<_> = run.events.iter().map(|e| e.topic.as_str()).collect();
            assert_eq!(topics, ["llm.request", "llm.response"], "{kind}");
            assert_eq!(run.events[1].data["usage"]["output_tokens"], 5);
        },
    );
}

#[test]
fn calls_in_a_row_reuse_one_connection() {
    let server = Scripted::start((0..5).map(|_| Reply::text("ok")).collect());
    let src = "for i = 1, 5 do llm.chat('hi') end";
    run_with(&server.toml(), EngineKind::Lua, src, None)
        .result
        .unwrap();
    assert_eq!(server.requests.lock().unwrap().len(), 5);
    assert_eq!(*server.connections.lock().unwrap(), 1);
}

#[test]
fn later_runs_reuse_the_first_runs_connection() {
    let server = Scripted::start((0..3).map(|_| Reply::text("ok")).collect());
    for (kind, src) in [
        (EngineKind::Lua, "return llm.chat('hi').text"),
        (
            EngineKind::Js,
            "export default (await llm.chat('hi')).text;",
        ),
        (EngineKind::Rhai, "llm.chat(\"hi\").text"),
    ] {
        let run = run_with(&server.toml(), kind, src, None);
        assert_eq!(run.result.unwrap(), "ok", "{kind}");
    }
    assert_eq!(*server.connections.lock().unwrap(), 1);
}

#[test]
fn per_call_options_reach_the_server_even_though_llm_fixes_them_at_build() {
    let server = Scripted::start(vec![Reply::text("a"), Reply::text("b")]);
    let src = r#"llm.chat("x", {temperature = 0.5, max_tokens = 3}); return llm.chat("y", {temperature = 1, max_tokens = 4, system = "s2"}).text"#;
    let run = run_with(&server.toml(), EngineKind::Lua, src, None);
    assert_eq!(run.result.unwrap(), "b");
    let reqs = server.requests.lock().unwrap();
    assert_eq!(
        (reqs[0]["max_tokens"].clone(), reqs[1]["max_tokens"].clone()),
        (3.into(), 4.into())
    );
    assert_eq!(reqs[1]["temperature"], 1.0);
    assert_eq!(reqs[1]["messages"][0]["role"], "system");
    assert_eq!(reqs[1]["messages"][0]["content"], "s2");
}

#[test]
fn tool_calls_come_back_parsed_and_conversations_with_tool_results_go_out() {
    Case {
        lua: r#"
local tools = {{name = "add", description = "adds", params = {type = "object", properties = {a = {type = "integer"}}}}}
local r = llm.chat("add", {tools = tools})
local c = r.tool_calls[1]
local r2 = llm.chat({{role = "user", content = "add"}, {role = "assistant", content = "", tool_calls = r.tool_calls},
  {role = "tool", tool_call_id = c.id, content = "3"}}, {tools = tools})
return {call = c, text = r2.text}"#,
        js: r#"
const tools = [{name: "add", description: "adds", params: {type: "object", properties: {a: {type: "integer"}}}}];
const r = await llm.chat("add", {tools});
const c = r.tool_calls[0];
const r2 = await llm.chat([{role: "user", content: "add"}, {role: "assistant", content: "", tool_calls: r.tool_calls},
  {role: "tool", tool_call_id: c.id, content: "3"}], {tools});
export default {call: c, text: r2.text};"#,
        rhai: r#"
let tools = [#{name: "add", description: "adds", params: #{type: "object", properties: #{a: #{type: "integer"}}}}];
let r = llm.chat("add", #{tools: tools});
let c = r.tool_calls[0];
let r2 = llm.chat([#{role: "user", content: "add"}, #{role: "assistant", content: "", tool_calls: r.tool_calls},
  #{role: "tool", tool_call_id: c.id, content: "3"}], #{tools: tools});
#{"call": c, text: r2.text}"#,
    }
    .each(
        || {
            vec![
                Reply::Text(String::new(), vec![("call_1".into(), "add".into(), r#"{"a": 1}"#.into())]),
                Reply::text("three"),
            ]
        },
        |kind, run, server| {
            let r = run.result.unwrap_or_else(|e| panic!("{kind}: {e}"));
            assert_eq!(r["call"], serde_json::json!({"id": "call_1", "name": "add", "arguments": {"a": 1}}));
            assert_eq!(r["text"], "three");
            let reqs = server.requests.lock().unwrap();
            assert_eq!(reqs[0]["tools"][0]["function"]["name"], "add", "{kind}");
            let msgs = reqs[1]["messages"].as_array().unwrap();
            assert_eq!(msgs[1]["tool_calls"][0]["id"], "call_1", "{kind}");
            assert_eq!(msgs[2]["role"], "tool");
            assert_eq!(msgs[2]["tool_call_id"], "call_1");
            assert_eq!(msgs[2]["content"], "3");
        },
    );
}

fn expect_code(replies: Vec<Reply>, opts_lua: &str, code: ErrorCode) {
    let server = Scripted::start(replies);
    let src = format!("return llm.chat('hi', {opts_lua})");
    let run = run_with(&server.toml(), EngineKind::Lua, &src, None);
    let e = run.result.expect_err("should fail");
    assert_eq!(e.code, code, "{e}");
    let last = run.events.last().expect("an llm.error event");
    assert_eq!(last.topic, "llm.error");
    assert_eq!(last.data["code"], code.as_str());
}

#[test]
fn http_faults_map_to_their_codes() {
    expect_code(
        vec![Reply::Status(429, "slow down".into())],
        "{}",
        ErrorCode::LlmRateLimited,
    );
    expect_code(
        vec![Reply::Status(500, "oops".into())],
        "{}",
        ErrorCode::LlmHttp,
    );
    expect_code(
        vec![Reply::Status(503, "busy".into())],
        "{}",
        ErrorCode::LlmHttp,
    );
    expect_code(
        vec![Reply::Raw("{not json".into())],
        "{}",
        ErrorCode::LlmBadReply,
    );
    expect_code(
        vec![Reply::Slow(
            Duration::from_millis(800),
            Box::new(Reply::text("late")),
        )],
        "{timeout_ms = 150}",
        ErrorCode::LlmTimeout,
    );
}

#[test]
fn a_refused_connection_is_llm_http_and_names_no_key() {
    let toml = "[providers.gone]\nkind = \"openai_compatible\"\nbase_url = \"http://127.0.0.1:9/v1\"\nmodel = \"m\"\napi_key_env = \"LLMSPELL_TEST_KEY\"\n";
    std::env::set_var("LLMSPELL_TEST_KEY", "sk-secret-value-123456");
    let run = run_with(toml, EngineKind::Lua, "return llm.chat('hi')", None);
    let e = run.result.unwrap_err();
    assert_eq!(e.code, ErrorCode::LlmHttp, "{e}");
    assert!(!e.message.contains("sk-secret"), "{e}");
    for ev in &run.events {
        assert!(!ev.data.to_string().contains("sk-secret"), "{:?}", ev);
    }
}

#[test]
fn a_key_the_server_echoes_back_reaches_no_cassette_event_log_error_or_spell() {
    let key = "sk-echoed-back-424242";
    std::env::set_var("LLMSPELL_TEST_KEY3", key);
    let dir = tempfile::tempdir().unwrap();
    let tape = dir.path().join("tape.jsonl");
    let server = Scripted::start(vec![
        Reply::Status(
            401,
            format!("{{\"error\":{{\"message\":\"bad key: Authorization: Bearer {key}\"}}}}"),
        ),
        Reply::text(&format!("your key is {key}, {key}")),
        Reply::stream(&["the key ", key, " again"], None, true),
    ]);
    let toml = server.toml().replace(
        "model = \"m1\"\n",
        "model = \"m1\"\napi_key_env = \"LLMSPELL_TEST_KEY3\"\n",
    );
    let logged = Arc::new(Mutex::new(String::new()));
    let file = dir.path().join("llmspell.toml");
    std::fs::write(&file, &toml).unwrap();
    let mut opts = RunOptions::new(Config::load(&file).unwrap());
    let (out, log) = (logged.clone(), logged.clone());
    opts.output = Arc::new(move |l| out.lock().unwrap().push_str(&String::from_utf8_lossy(l)));
    opts.log = Arc::new(move |_, m, f| log.lock().unwrap().push_str(&format!("{m} {f}")));
    let mode = CassetteMode {
        record: Some(tape.clone()),
        ..Default::default()
    };
    opts.cassette = Some(Arc::new(Mutex::new(Cassette::open(&mode).unwrap())));
    let src = r#"
local ok, err = pcall(llm.chat, "one")
log.warn(tostring(err))
local r = llm.chat("two")
print(r.text)
log.info(r.text)
local pieces = {}
local s = llm.stream("three", {}, function(p) pieces[#pieces + 1] = p end)
print(table.concat(pieces))
return {err = err, text = r.text, stream = s.text}
"#;
    let mut spell = Spell::from_source("leak.lua", src).unwrap();
    spell.dir = dir.path().to_path_buf();
    let rt = Runtime::new();
    let events = rt.bus().subscribe("*");
    let result = rt.run(&spell, &opts).result.unwrap();
    let result = result.to_string();
    assert!(result.contains("[redacted]"), "{result}");
    let cassette = std::fs::read_to_string(&tape).unwrap();
    let events: Vec<String> = events.try_iter().map(|e| e.data.to_string()).collect();
    for (what, text) in [
        ("result", result),
        ("cassette", cassette),
        ("events", events.join("\n")),
        ("output and log", logged.lock().unwrap().clone()),
    ] {
        assert!(!text.contains(key), "the key is in the {what}: {text}");
    }
}

#[test]
fn a_reply_or_stream_past_max_reply_mb_is_llm_bad_reply() {
    let big = "x".repeat(3 << 20);
    let pieces: Vec<String> = (0..200).map(|_| "y".repeat(16 << 10)).collect();
    let piece_refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
    for (reply, src) in [
        (Reply::text(&big), "return llm.chat('hi').text"),
        (
            Reply::stream(&piece_refs, None, true),
            "return llm.stream('hi', {}, function() end).text",
        ),
        // Two vectors of 200,000 numbers: about 1.6 MB of JSON.
        (Reply::Embed(200_000), "return #llm.embed({'a', 'b'})"),
    ] {
        let server = Scripted::start(vec![reply]);
        let toml = format!("{}\n[limits]\nmax_reply_mb = 1\n", server.toml());
        let run = run_with(&toml, EngineKind::Lua, src, None);
        let Err(e) = run.result else {
            panic!("a reply past max_reply_mb came through")
        };
        assert_eq!(e.code, ErrorCode::LlmBadReply, "{e}");
        assert!(e.message.contains("max_reply_mb = 1"), "{e}");
    }
    // Under the cap the same reply comes through whole.
    let server = Scripted::start(vec![Reply::text(&big)]);
    let toml = format!("{}\n[limits]\nmax_reply_mb = 16\n", server.toml());
    let run = run_with(&toml, EngineKind::Lua, "return #llm.chat('hi').text", None);
    assert_eq!(run.result.unwrap(), serde_json::json!(3 << 20));
}

#[test]
fn the_key_goes_only_in_the_authorization_header() {
    std::env::set_var("LLMSPELL_TEST_KEY2", "sk-only-in-header-999");
    let server = Scripted::start(vec![Reply::text("ok")]);
    let toml = server.toml().replace(
        "model = \"m1\"\n",
        "model = \"m1\"\napi_key_env = \"LLMSPELL_TEST_KEY2\"\n",
    );
    let run = run_with(&toml, EngineKind::Lua, "return llm.chat('hi').text", None);
    assert_eq!(run.result.unwrap(), "ok");
    assert_eq!(
        server.auth.lock().unwrap()[0],
        "authorization: Bearer sk-only-in-header-999"
    );
    assert!(!server.requests.lock().unwrap()[0]
        .to_string()
        .contains("sk-only"));
}

#[test]
fn every_chat_completions_kind_works_end_to_end_through_its_base_url() {
    // The kinds llmspell sends over OpenAI's chat completions (through llm's
    // groq backend for calls, its own reader for streams). Each gets a reply,
    // a tool call, a stream and a rate limit from the scripted server.
    std::env::set_var("LLMSPELL_TEST_KIND_KEY", "k");
    for kind in [
        "openai",
        "openai_compatible",
        "ollama",
        "groq",
        "openrouter",
        "deepseek",
        "xai",
        "mistral",
    ] {
        let server = Scripted::start(vec![
            Reply::text("plain"),
            call("c1", "calculator", r#"{"expression": "1+1"}"#),
            Reply::stream(&["str", "eam"], None, true),
            Reply::Status(429, "slow down".into()),
        ]);
        let toml = format!(
            "[providers.p]\nkind = \"{kind}\"\nbase_url = \"{}\"\nmodel = \"m1\"\napi_key_env = \"LLMSPELL_TEST_KIND_KEY\"\n\n[defaults]\nmodel = \"p/m1\"\n",
            server.url
        );
        let src = r#"local a = llm.chat("hi").text
local b = llm.chat("add", {tools = {"calculator"}}).tool_calls[1].name
local c = llm.stream("s", {}, function() end).text
local ok, d = pcall(llm.chat, "again")
return {a, b, c, d:match("^[%w._]+")}"#;
        let run = run_with(&toml, EngineKind::Lua, src, None);
        let r = run.result.unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(
            r,
            serde_json::json!(["plain", "calculator", "stream", "llm.rate_limited"]),
            "{kind}"
        );
        let paths = server.paths.lock().unwrap();
        assert_eq!(paths.len(), 4, "{kind}: {paths:?}");
        for path in paths.iter() {
            assert_eq!(path, "POST /v1/chat/completions", "{kind}");
        }
        assert_eq!(server.requests.lock().unwrap()[0]["model"], "m1", "{kind}");
    }
}

#[test]
fn schema_replies_are_parsed_and_validated() {
    Case {
        lua: r#"local s = {type = "object", required = {"name"}, properties = {name = {type = "string"}}}
local a = llm.chat("x", {schema = s})
local ok2, e2 = pcall(llm.chat, "x", {schema = s})
local ok3, e3 = pcall(llm.chat, "x", {schema = s})
return {data = a.data, e2 = e2, e3 = e3}"#,
        js: r#"const s = {type: "object", required: ["name"], properties: {name: {type: "string"}}};
const a = await llm.chat("x", {schema: s});
let e2, e3;
try { await llm.chat("x", {schema: s}); } catch (e) { e2 = `${e.code}: ${e.message}`; }
try { await llm.chat("x", {schema: s}); } catch (e) { e3 = `${e.code}: ${e.message}`; }
export default {data: a.data, e2, e3};"#,
        rhai: r#"let s = #{type: "object", required: ["name"], properties: #{name: #{type: "string"}}};
let a = llm.chat("x", #{schema: s});
let e2 = ""; let e3 = "";
try { llm.chat("x", #{schema: s}); } catch (e) { e2 = e; }
try { llm.chat("x", #{schema: s}); } catch (e) { e3 = e; }
#{data: a.data, e2: e2, e3: e3}"#,
    }
    .each(
        || {
            vec![
                Reply::text("```json\n{\"name\": \"Ada\"}\n```"),
                Reply::text("{\"name\": 3}"),
                Reply::text("not json"),
            ]
        },
        |kind, run, _| {
            let r = run.result.unwrap_or_else(|e| panic!("{kind}: {e}"));
            assert_eq!(r["data"], serde_json::json!({"name": "Ada"}), "{kind}");
            let e2 = r["e2"].as_str().unwrap();
            assert!(e2.starts_with("llm.bad_reply:"), "{kind}: {r}");
            assert!(e2.contains("/name"), "{kind}: {r}");
            let e3 = r["e3"].as_str().unwrap();
            assert!(e3.starts_with("llm.bad_reply:"), "{kind}: {r}");
        },
    );
}

#[test]
fn streams_deliver_pieces_in_order_keep_split_characters_whole_and_stop_on_false() {
    Case {
        lua: r#"local got = {}
local r = llm.stream("x", {}, function(p) got[#got + 1] = p end)
local n = 0
local r2 = llm.stream("x", {}, function(p) n = n + 1; return false end)
return {got = got, text = r.text, stopped = r2.text, n = n, usage = r.usage}"#,
        js: r#"const got = [];
const r = await llm.stream("x", {}, (p) => { got.push(p); });
let n = 0;
const r2 = await llm.stream("x", {}, (p) => { n++; return false; });
export default {got, text: r.text, stopped: r2.text, n, usage: r.usage};"#,
        rhai: r#"let got = [];
let r = llm.stream("x", #{}, |p| { got.push(p); });
let c = #{n: 0};
let r2 = llm.stream("x", #{}, |p| { c.n += 1; false });
#{got: got, text: r.text, stopped: r2.text, n: c.n, usage: r.usage}"#,
    }
    .each(
        || {
            // "é" and "—" are split between two network writes.
            vec![
                Reply::stream(&["caf\u{e9} ", "\u{2014} ", "done"], Some(62), true),
                Reply::stream(&["one ", "two ", "three"], None, true),
            ]
        },
        |kind, run, _| {
            let r = run.result.unwrap_or_else(|e| panic!("{kind}: {e}"));
            assert_eq!(r["text"], "caf\u{e9} \u{2014} done", "{kind}");
            assert_eq!(
                r["got"],
                serde_json::json!(["caf\u{e9} ", "\u{2014} ", "done"]),
                "{kind}"
            );
            assert_eq!(r["stopped"], "one ", "{kind}");
            assert_eq!(r["n"], 1, "{kind}");
            assert_eq!(r["usage"]["output_tokens"], 3, "{kind}");
        },
    );
}

#[test]
fn a_cut_stream_is_an_error_not_a_short_reply() {
    let server = Scripted::start(vec![Reply::stream(&["par", "tial"], None, false)]);
    let run = run_with(
        &server.toml(),
        EngineKind::Lua,
        "return llm.stream('x', {}, function() end)",
        None,
    );
    let e = run.result.unwrap_err();
    assert_eq!(e.code, ErrorCode::LlmHttp, "{e}");
    assert!(e.message.contains("cut"), "{e}");
}

#[test]
fn a_stream_timeout_bounds_each_gap_not_the_whole_stream_and_ends_it_once() {
    // llm bounds a whole streamed body by one timeout and then yields
    // errors without end; llmspell bounds the wait for each next piece.
    let gap = Duration::from_millis(120);
    let server = Scripted::start(vec![
        Reply::stream(&["a", "b", "c", "d", "e"], None, true).paced(gap),
        Reply::stream(&["x", "y"], None, true).paced(Duration::from_millis(700)),
    ]);
    let src = r#"local long = llm.stream("x", {timeout_ms = 300}, function() end).text
local n = 0
local ok, err = pcall(llm.stream, "y", {timeout_ms = 300}, function() n = n + 1 end)
return {long, n, err:match("^[%w._]+")}"#;
    let started = std::time::Instant::now();
    let run = run_with(&server.toml(), EngineKind::Lua, src, None);
    let r = run.result.unwrap();
    // The first stream took longer than its timeout in all, and finished.
    assert!(started.elapsed() > Duration::from_millis(800));
    assert_eq!(r[0], "abcde");
    // The second stalled after its first piece: one timeout, then nothing.
    assert_eq!(r[1], 1);
    assert_eq!(r[2], "llm.timeout");
    let errors = run.events.iter().filter(|e| e.topic == "llm.error").count();
    assert_eq!(errors, 1);
}

#[test]
fn budgets_stop_the_call_that_would_pass_them() {
    for (kind, src) in [
        (EngineKind::Lua, "llm.chat('1') llm.chat('2') local ok, e = pcall(llm.chat, '3') return e"),
        (
            EngineKind::Js,
            "await llm.chat('1'); await llm.chat('2'); let e; try { await llm.chat('3'); } catch (x) { e = `${x.code}: ${x.message}`; } export default e;",
        ),
        (
            EngineKind::Rhai,
            "llm.chat(\"1\"); llm.chat(\"2\"); let e = \"\"; try { llm.chat(\"3\"); } catch (x) { e = x; } e",
        ),
    ] {
        let server = Scripted::start(vec![Reply::text("a"), Reply::text("b"), Reply::text("c")]);
        let toml = format!("{}\n[limits]\nmax_llm_calls = 2\n", server.toml());
        let e = run_with(&toml, kind, src, None).result.unwrap();
        assert!(e.as_str().unwrap().starts_with("llm.budget:"), "{kind}: {e}");
        assert_eq!(server.requests.lock().unwrap().len(), 2, "{kind}");
    }
    // Tokens: 12 used, and a call that may use 10 more would pass 20.
    let server = Scripted::start(vec![Reply::text("a")]);
    let toml = format!("{}\n[limits]\nmax_tokens = 20\n", server.toml());
    let src = "llm.chat('1') local ok, e = pcall(llm.chat, '2', {max_tokens = 10}) return e";
    let e = run_with(&toml, EngineKind::Lua, src, None).result.unwrap();
    assert!(e.as_str().unwrap().starts_with("llm.budget:"), "{e}");
    assert_eq!(server.requests.lock().unwrap().len(), 1);
}

#[test]
fn hooks_rewrite_the_prompt_and_redact_the_reply() {
    Case {
        lua: r#"hooks.before("llm.chat", function(c) return {args = {"rewritten: " .. c.args[1]}} end)
hooks.after("llm.chat", function(c, r) r.text = r.text:gsub("%d+", "[n]"); return {result = r} end)
return llm.chat("hi").text"#,
        js: r#"hooks.before("llm.chat", (c) => ({args: ["rewritten: " + c.args[0]]}));
hooks.after("llm.chat", (c, r) => { r.text = r.text.replace(/\d+/g, "[n]"); return {result: r}; });
export default (await llm.chat("hi")).text;"#,
        rhai: r#"hooks.before("llm.chat", |c| #{args: ["rewritten: " + c.args[0]]});
hooks.after("llm.chat", |c, r| { r.text.replace("42", "[n]"); #{result: r} });
llm.chat("hi").text"#,
    }
    .each(
        || vec![Reply::text("the secret is 42")],
        |kind, run, server| {
            let r = run.result.unwrap_or_else(|e| panic!("{kind}: {e}"));
            assert_eq!(r, "the secret is [n]", "{kind}");
            assert_eq!(
                server.requests.lock().unwrap()[0]["messages"][0]["content"],
                "rewritten: hi",
                "{kind}"
            );
        },
    );
}

#[test]
fn record_then_replay_with_no_server_and_fork_with_live_after() {
    let dir = tempfile::tempdir().unwrap();
    let tape = dir.path().join("tape.jsonl");
    let server = Scripted::start(vec![Reply::text("one"), Reply::text("two")]);
    let src = "return {llm.chat('a').text, llm.chat('b').text}";
    let rec = CassetteMode {
        record: Some(tape.clone()),
        ..Default::default()
    };
    let run = run_with(&server.toml(), EngineKind::Lua, src, Some(rec));
    assert_eq!(run.result.unwrap(), serde_json::json!(["one", "two"]));
    let text = std::fs::read_to_string(&tape).unwrap();
    assert_eq!(text.lines().count(), 3, "{text}");
    // The server is gone from this config: replay needs no network.
    let offline = server.toml().replace(&server.url, "http://127.0.0.1:9/v1");
    let play = CassetteMode {
        replay: Some(tape.clone()),
        ..Default::default()
    };
    let rhai = "[llm.chat(\"a\").text, llm.chat(\"b\").text]";
    for (kind, src) in [(EngineKind::Lua, src), (EngineKind::Rhai, rhai)] {
        let run = run_with(&offline, kind, src, Some(play.clone()));
        assert_eq!(
            run.result.unwrap(),
            serde_json::json!(["one", "two"]),
            "{kind}"
        );
    }
    let js = "export default [(await llm.chat('a')).text, (await llm.chat('b')).text];";
    assert_eq!(
        run_with(&offline, EngineKind::Js, js, Some(play.clone()))
            .result
            .unwrap(),
        serde_json::json!(["one", "two"])
    );
    let miss = run_with(
        &offline,
        EngineKind::Lua,
        "return llm.chat('c')",
        Some(play.clone()),
    );
    let e = miss.result.unwrap_err();
    assert_eq!(e.code, ErrorCode::ReplayMiss);
    let has = |mark: &str, text: &str| {
        e.message
            .lines()
            .any(|l| l.starts_with(mark) && l.contains(text))
    };
    assert!(
        has("- ", "\"content\": \"a\"") && has("+ ", "\"content\": \"c\""),
        "{e}"
    );
    // Fork: the first exchange from the tape, the second live.
    let live = Scripted::start(vec![Reply::text("fresh")]);
    let forked = tape.with_extension("fork.jsonl");
    let fork = CassetteMode {
        replay: Some(tape),
        live_after: Some(1),
        record: Some(forked.clone()),
    };
    let run = run_with(&live.toml(), EngineKind::Lua, src, Some(fork));
    assert_eq!(run.result.unwrap(), serde_json::json!(["one", "fresh"]));
    assert_eq!(live.requests.lock().unwrap().len(), 1);
    // Recording the fork keeps the replayed exchange and the live one, and
    // the new cassette replays the whole run with no server.
    let replay = CassetteMode {
        replay: Some(forked),
        ..Default::default()
    };
    let run = run_with(&offline, EngineKind::Lua, src, Some(replay));
    assert_eq!(run.result.unwrap(), serde_json::json!(["one", "fresh"]));
}

#[test]
fn embeddings_come_back_as_float_arrays() {
    Case {
        lua: r#"return llm.embed({"a", "b"})"#,
        js: r#"export default await llm.embed(["a", "b"]);"#,
        rhai: r#"llm.embed(["a", "b"])"#,
    }
    .each(
        || vec![Reply::Embed(4)],
        |kind, run, server| {
            assert_eq!(
                run.result.unwrap_or_else(|e| panic!("{kind}: {e}")),
                serde_json::json!([[0.5, 0.5, 0.5, 0.5], [0.25, 0.25, 0.25, 0.25]]),
                "{kind}"
            );
            assert_eq!(
                server.requests.lock().unwrap()[0]["input"],
                serde_json::json!(["a", "b"])
            );
        },
    );
    // The server answers two vectors; three texts asked is a bad reply.
    let server = Scripted::start(vec![Reply::Embed(4)]);
    let run = run_with(
        &server.toml(),
        EngineKind::Lua,
        "return llm.embed({'a', 'b', 'c'})",
        None,
    );
    let e = run.result.unwrap_err();
    assert_eq!(e.code, ErrorCode::LlmBadReply, "{e}");
    assert!(e.message.contains("2 embeddings for 3 texts"), "{e}");
}

#[test]
fn bad_provider_config_is_llm_config_with_what_to_do() {
    let cases = [
        ("[providers.p]\nkind = \"openai_compatible\"\nbase_url = \"not a url\"\nmodel = \"m\"\n", "not an http(s) URL"),
        ("[providers.p]\nkind = \"anthropic\"\nbase_url = \"http://127.0.0.1:1\"\napi_key_env = \"HOME\"\nmodel = \"m\"\n", "ignores"),
        ("[providers.p]\nkind = \"telepathy\"\nmodel = \"m\"\n", "not one of"),
        ("[providers.p]\nkind = \"openai\"\napi_key_env = \"LLMSPELL_UNSET_VAR\"\nmodel = \"m\"\n", "LLMSPELL_UNSET_VAR"),
    ];
    for (toml, want) in cases {
        let run = run_with(
            toml,
            EngineKind::Lua,
            "return llm.chat('hi', {model = 'p/m'})",
            None,
        );
        let e = run.result.unwrap_err();
        assert_eq!(e.code, ErrorCode::LlmConfig, "{e}");
        assert!(e.message.contains(want), "{want}: {e}");
    }
}

#[test]
fn parallel_model_calls_overlap() {
    let replies = || {
        (0..4)
            .map(|_| Reply::Slow(Duration::from_millis(300), Box::new(Reply::text("x"))))
            .collect::<Vec<_>>()
    };
    let server = Scripted::start(replies());
    let src = "local f = function() return llm.chat('x').text end\nreturn workflow.parallel({f, f, f, f})";
    let run = run_with(&server.toml(), EngineKind::Lua, src, None);
    assert_eq!(run.result.unwrap(), serde_json::json!(["x", "x", "x", "x"]));
    // All four were at the server at once.
    assert_eq!(*server.most_in_flight.lock().unwrap(), 4);
    let server = Scripted::start(replies());
    let src = "fn f() { llm.chat(\"x\").text }\nworkflow.parallel([Fn(\"f\"), Fn(\"f\"), Fn(\"f\"), Fn(\"f\")])";
    let run = run_with(&server.toml(), EngineKind::Rhai, src, None);
    assert_eq!(run.result.unwrap(), serde_json::json!(["x", "x", "x", "x"]));
    assert_eq!(*server.most_in_flight.lock().unwrap(), 4);
    let server = Scripted::start(replies());
    let src = "const f = async () => (await llm.chat('x')).text;\nexport default await Promise.all([f(), f(), f(), f()]);";
    let run = run_with(&server.toml(), EngineKind::Js, src, None);
    assert_eq!(run.result.unwrap(), serde_json::json!(["x", "x", "x", "x"]));
    assert_eq!(*server.most_in_flight.lock().unwrap(), 4);
}

fn call(id: &str, name: &str, args: &str) -> Reply {
    Reply::Text(String::new(), vec![(id.into(), name.into(), args.into())])
}

#[test]
fn agents_run_tools_in_order_send_results_and_errors_back_and_remember() {
    Case {
        lua: r#"
tool.define{name = "add", description = "adds", params = {type = "object", properties = {a = {type = "integer"}, b = {type = "integer"}}, required = {"a", "b"}},
  run = function(x) return x.a + x.b end}
local bot = agent.new{name = "m", system = "use tools", tools = {"add"}}
local r = bot:run("2+3?")
return {text = r.text, steps = r.steps, usage = r.usage, n = #bot:history(), last = bot:history()[6].content}"#,
        js: r#"
tool.define({name: "add", description: "adds", params: {type: "object", properties: {a: {type: "integer"}, b: {type: "integer"}}, required: ["a", "b"]},
  run: (x) => x.a + x.b});
const bot = agent.new({name: "m", system: "use tools", tools: ["add"]});
const r = await bot.run("2+3?");
export default {text: r.text, steps: r.steps, usage: r.usage, n: bot.history().length, last: bot.history()[5].content};"#,
        rhai: r#"
tool.define(#{name: "add", description: "adds", params: #{type: "object", properties: #{a: #{type: "integer"}, b: #{type: "integer"}}, required: ["a", "b"]},
  run: |x| x.a + x.b});
let bot = agent.new(#{name: "m", system: "use tools", tools: ["add"]});
let r = bot.run("2+3?");
#{text: r.text, steps: r.steps, usage: r.usage, n: bot.history().len(), last: bot.history()[5].content}"#,
    }
    .each(
        // calculator exists but was not given to this agent: not run.
        || vec![call("c1", "add", r#"{"a":2,"b":3}"#), call("c2", "calculator", r#"{"expression":"6*7"}"#), Reply::text("5")],
        |kind, run, server| {
            let r = run.result.unwrap_or_else(|e| panic!("{kind}: {e}"));
            assert_eq!(r["text"], "5", "{kind}");
            assert_eq!(r["steps"][0], serde_json::json!({"tool": "add", "arguments": {"a": 2, "b": 3}, "result": 5}), "{kind}");
            assert_eq!(r["steps"][1]["error"]["code"], "tool.not_found", "{kind}");
            assert!(r["steps"][1].get("result").is_none(), "{kind}");
            assert_eq!(r["usage"], serde_json::json!({"input_tokens": 21, "output_tokens": 15}), "{kind}");
            assert_eq!(r["n"], 6, "{kind}");
            assert_eq!(r["last"], "5", "{kind}");
            let reqs = server.requests.lock().unwrap();
            assert_eq!(reqs.len(), 3);
            assert_eq!(reqs[0]["tools"][0]["function"]["name"], "add");
            let m1 = reqs[1]["messages"].as_array().unwrap();
            assert_eq!(m1.last().unwrap()["content"], "5", "{kind}");
            assert_eq!(m1.last().unwrap()["tool_call_id"], "c1");
            let m2 = reqs[2]["messages"].as_array().unwrap();
            assert!(m2.last().unwrap()["content"].as_str().unwrap().starts_with("error: tool.not_found"), "{kind}");
            let topics: Vec<_> = run.events.iter().map(|e| e.topic.as_str()).filter(|t| *t != "llm.request").collect();
            assert_eq!(topics.iter().filter(|t| **t == "llm.response").count(), 3, "{kind}");
        },
    );
}

#[test]
fn agents_stop_at_max_steps_and_delegate_to_agents_as_tools() {
    let server = Scripted::start(vec![call("a", "calculator", r#"{"expression":"1+1"}"#); 3]);
    let src =
        "local bot = agent.new{tools = {'calculator'}, max_steps = 2}\nreturn bot:run('loop')";
    let e = run_with(&server.toml(), EngineKind::Lua, src, None)
        .result
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::AgentMaxSteps, "{e}");
    assert_eq!(server.requests.lock().unwrap().len(), 2);

    Case {
        lua: r#"
local helper = agent.new{name = "helper", system = "you help"}
local boss = agent.new{name = "boss", tools = {helper:as_tool{name = "ask_helper", description = "asks the helper"}}}
local seen = {}
hooks.before("tool.call", function(c) seen[#seen + 1] = c.args[1] end)
local r = boss:run("delegate")
return {text = r.text, result = r.steps[1].result, seen = seen, helper = #helper:history()}"#,
        js: r#"
const helper = agent.new({name: "helper", system: "you help"});
const boss = agent.new({name: "boss", tools: [helper.as_tool({name: "ask_helper", description: "asks the helper"})]});
const seen = [];
hooks.before("tool.call", (c) => { seen.push(c.args[0]); });
const r = await boss.run("delegate");
export default {text: r.text, result: r.steps[0].result, seen, helper: helper.history().length};"#,
        rhai: r#"
let helper = agent.new(#{name: "helper", system: "you help"});
let boss = agent.new(#{name: "boss", tools: [helper.as_tool(#{name: "ask_helper", description: "asks the helper"})]});
let seen = [];
hooks.before("tool.call", |c| { seen.push(c.args[0]); });
let r = boss.run("delegate");
#{text: r.text, result: r.steps[0].result, seen: seen, helper: helper.history().len()}"#,
    }
    .each(
        || vec![call("t1", "ask_helper", r#"{"task":"do it"}"#), Reply::text("inner done"), Reply::text("all done")],
        |kind, run, server| {
            let r = run.result.unwrap_or_else(|e| panic!("{kind}: {e}"));
            assert_eq!(r["text"], "all done", "{kind}");
            assert_eq!(r["result"], "inner done", "{kind}");
            assert_eq!(r["seen"], serde_json::json!(["ask_helper"]), "{kind}");
            assert_eq!(r["helper"], 2, "{kind}");
            let reqs = server.requests.lock().unwrap();
            assert_eq!(reqs[1]["messages"][1]["content"], "do it", "{kind}");
            assert_eq!(reqs[1]["messages"][0]["content"], "you help", "{kind}");
        },
    );
}

#[test]
fn what_a_tool_brings_in_from_outside_is_recorded_and_replayed_in_every_language() {
    // The time, to the nanosecond: a second live run never matches.
    let format = "%H:%M:%S%.9f";
    let cases = [
        (
            EngineKind::Lua,
            format!("return {{tool.call('datetime', {{format = '{format}'}}), tool.call('calculator', {{expression = '1+2'}})}}"),
        ),
        (
            EngineKind::Js,
            format!("export default [await tool.call('datetime', {{format: '{format}'}}), await tool.call('calculator', {{expression: '1+2'}})];"),
        ),
        (
            EngineKind::Rhai,
            format!("[tool.call(\"datetime\", #{{format: \"{format}\"}}), tool.call(\"calculator\", #{{expression: \"1+2\"}})]"),
        ),
    ];
    let toml = "[defaults]\n";
    for (kind, src) in &cases {
        let dir = tempfile::tempdir().unwrap();
        let tape = dir.path().join("tape.jsonl");
        let rec = CassetteMode {
            record: Some(tape.clone()),
            ..Default::default()
        };
        let recorded = run_with(toml, *kind, src, Some(rec)).result.unwrap();
        let text = std::fs::read_to_string(&tape).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines[0]["llmspell_cassette"], 2, "{kind}: {text}");
        // The clock came from outside; the calculator did not.
        assert_eq!(lines.len(), 2, "{kind}: {text}");
        assert_eq!(lines[1]["op"], "tool");
        assert_eq!(lines[1]["request"]["tool"], "datetime");
        assert_eq!(lines[1]["reply"], recorded[0], "{kind}");
        std::thread::sleep(Duration::from_millis(2));
        let play = CassetteMode {
            replay: Some(tape.clone()),
            ..Default::default()
        };
        let replayed = run_with(toml, *kind, src, Some(play)).result.unwrap();
        assert_eq!(replayed, recorded, "{kind}: the replay is the recorded run");
        let live = run_with(toml, *kind, src, None).result.unwrap();
        assert_ne!(live[0], recorded[0], "{kind}: a live run reads the clock");
        assert_eq!(live[1], 3);
        // A cassette holding no such result misses, as a model call would.
        std::fs::write(&tape, "{\"llmspell_cassette\":2}\n").unwrap();
        let play = CassetteMode {
            replay: Some(tape.clone()),
            ..Default::default()
        };
        let miss = run_with(toml, *kind, src, Some(play)).result.unwrap_err();
        assert_eq!(miss.code, ErrorCode::ReplayMiss, "{kind}: {miss}");
        // One made before tool results were kept lets the tool run live.
        std::fs::write(&tape, "{\"llmspell_cassette\":1}\n").unwrap();
        let play = CassetteMode {
            replay: Some(tape.clone()),
            ..Default::default()
        };
        let old = run_with(toml, *kind, src, Some(play)).result.unwrap();
        assert_ne!(old[0], recorded[0], "{kind}");
    }
}

#[test]
fn a_replay_draws_the_random_numbers_the_recorded_run_drew() {
    // Rhai has no random numbers of its own.
    for (kind, src, draws_none) in [
        (
            EngineKind::Js,
            "export default [Math.random(), crypto.randomUUID(), Math.random()];",
            "export default 1;",
        ),
        (
            EngineKind::Lua,
            "return {math.random(), math.random(1, 1000000000), math.random()}",
            "return 1",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let tape = dir.path().join("tape.jsonl");
        let toml = "[defaults]\n";
        let rec = CassetteMode {
            record: Some(tape.clone()),
            ..Default::default()
        };
        let recorded = run_with(toml, kind, src, Some(rec)).result.unwrap();
        let text = std::fs::read_to_string(&tape).unwrap();
        let seeds = text
            .lines()
            .filter(|l| l.contains("\"op\":\"seed\""))
            .count();
        assert_eq!(seeds, 1, "{kind}: one seed, kept when first drawn: {text}");
        let play = CassetteMode {
            replay: Some(tape.clone()),
            ..Default::default()
        };
        let replayed = run_with(toml, kind, src, Some(play.clone()))
            .result
            .unwrap();
        assert_eq!(replayed, recorded, "{kind}");
        let live = run_with(toml, kind, src, None).result.unwrap();
        assert_ne!(live, recorded, "{kind}: a live run has a fresh seed");
        // A spell that draws nothing asks for no seed, so it replays a
        // cassette that holds none.
        std::fs::write(&tape, "{\"llmspell_cassette\":2}\n").unwrap();
        let none = run_with(toml, kind, draws_none, Some(play.clone()));
        assert_eq!(none.result.unwrap(), 1, "{kind}");
        let miss = run_with(toml, kind, src, Some(play)).result.unwrap_err();
        assert_eq!(miss.code, ErrorCode::ReplayMiss, "{kind}: {miss}");
    }
}
