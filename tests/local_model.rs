//! The real local model (SmolLM2-135M under llama.cpp's llama-server, see
//! scripts/local-model.sh): chat, stream, a schema call and an agent run
//! in every engine. A 135M model's wording is not stable, so these assert
//! on shape; exact behaviour is the scripted provider's job (tests/llm.rs).
//!
//! The server is built once into ~/.cache/llmspell (minutes, the first
//! time) and started on its own port for this test.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use llmspell::{Config, EngineKind, ErrorCode, RunOptions, Runtime, Spell};

#[global_allocator]
static ALLOC: llmspell::CountingAllocator = llmspell::CountingAllocator;

const PORT: &str = "8097";

struct Server;

impl Server {
    fn start() -> Server {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/local-model.sh");
        let out = Command::new("bash")
            .arg(&script)
            .args(["start", PORT])
            .output()
            .expect("bash runs scripts/local-model.sh");
        if !out.status.success() {
            // Whatever it left running goes too.
            drop(Server);
        }
        assert!(
            out.status.success(),
            "scripts/local-model.sh start {PORT} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Server
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/local-model.sh");
        let _ = Command::new("bash")
            .arg(&script)
            .args(["stop", PORT])
            .status();
    }
}

const TOML: &str = "[providers.local]\nkind = \"openai_compatible\"\nbase_url = \"http://127.0.0.1:8097/v1\"\nmodel = \"smollm2\"\n\n[defaults]\nmodel = \"local/smollm2\"\n";

fn run(kind: EngineKind, src: &str) -> llmspell::Result<serde_json::Value> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("llmspell.toml");
    std::fs::write(&file, TOML).unwrap();
    let mut opts = RunOptions::new(Config::load(&file).unwrap());
    opts.output = Arc::new(|_| {});
    let mut spell = Spell::from_source(&format!("m.{}", kind.extension()), src).unwrap();
    spell.dir = dir.path().to_path_buf();
    Runtime::new().run(&spell, &opts).result
}

const LUA: &str = r#"
local sys = "You are a helpful assistant. Answer briefly."
local chat = llm.chat("Name a colour.", {system = sys, max_tokens = 16})
local pieces = 0
local streamed = llm.stream("Count to five.", {system = sys, max_tokens = 24}, function(p) pieces = pieces + 1 end)
local shaped = llm.chat("Describe a cat as JSON.", {system = sys, max_tokens = 80, temperature = 0,
  schema = {type = "object", required = {"name", "age"}, properties = {name = {type = "string", maxLength = 12}, age = {type = "integer"}}}})
local bot = agent.new{system = sys .. " Use the calculator tool for arithmetic.", tools = {"calculator"}, max_steps = 3}
local ok, ran = pcall(bot.run, bot, "What is 12 * 7?")
return {chat = chat, streamed = streamed, pieces = pieces, data = shaped.data, agent_ok = ok, agent = ran}"#;

const JS: &str = r#"
const sys = "You are a helpful assistant. Answer briefly.";
const chat = await llm.chat("Name a colour.", {system: sys, max_tokens: 16});
let pieces = 0;
const streamed = await llm.stream("Count to five.", {system: sys, max_tokens: 24}, (p) => { pieces++; });
const shaped = await llm.chat("Describe a cat as JSON.", {system: sys, max_tokens: 80, temperature: 0,
  schema: {type: "object", required: ["name", "age"], properties: {name: {type: "string", maxLength: 12}, age: {type: "integer"}}}});
const bot = agent.new({system: sys + " Use the calculator tool for arithmetic.", tools: ["calculator"], max_steps: 3});
let agent_ok = true, ran;
try { ran = await bot.run("What is 12 * 7?"); } catch (e) { agent_ok = false; ran = e.message; }
export default {chat, streamed, pieces, data: shaped.data, agent_ok, agent: ran};"#;

const RHAI: &str = r#"
let sys = "You are a helpful assistant. Answer briefly.";
let chat = llm.chat("Name a colour.", #{system: sys, max_tokens: 16});
let count = #{pieces: 0};
let streamed = llm.stream("Count to five.", #{system: sys, max_tokens: 24}, |p| { count.pieces += 1; });
let shaped = llm.chat("Describe a cat as JSON.", #{system: sys, max_tokens: 80, temperature: 0,
  schema: #{type: "object", required: ["name", "age"], properties: #{name: #{type: "string", maxLength: 12}, age: #{type: "integer"}}}});
let bot = agent.new(#{system: sys + " Use the calculator tool for arithmetic.", tools: ["calculator"], max_steps: 3});
let agent_ok = true;
let ran = ();
try { ran = bot.run("What is 12 * 7?"); } catch (e) { agent_ok = false; ran = e; }
#{chat: chat, streamed: streamed, pieces: count.pieces, data: shaped.data, agent_ok: agent_ok, agent: ran}"#;

#[test]
fn the_local_model_answers_chat_stream_schema_and_agent_calls_in_every_engine() {
    let _server = Server::start();
    for (kind, src) in [
        (EngineKind::Lua, LUA),
        (EngineKind::Js, JS),
        (EngineKind::Rhai, RHAI),
    ] {
        let r = run(kind, src).unwrap_or_else(|e| panic!("{kind}: {}", e.report()));
        let chat = &r["chat"];
        assert!(!chat["text"].as_str().unwrap().is_empty(), "{kind}: {r}");
        assert_eq!(chat["model"], "local/smollm2");
        assert!(
            chat["usage"]["input_tokens"].as_i64().unwrap() > 0,
            "{kind}: {r}"
        );
        assert!(
            chat["usage"]["output_tokens"].as_i64().unwrap() > 0,
            "{kind}: {r}"
        );
        assert!(chat["latency_ms"].as_i64().unwrap() > 0);
        // Streams come in pieces, and the pieces make up the text.
        assert!(r["pieces"].as_i64().unwrap() > 1, "{kind}: {r}");
        assert!(!r["streamed"]["text"].as_str().unwrap().is_empty());
        // The server constrains a schema call's output: data is valid.
        assert!(r["data"]["name"].is_string(), "{kind}: {r}");
        assert!(r["data"]["age"].is_i64(), "{kind}: {r}");
        // The agent ends with a reply or runs out of steps; nothing else.
        if r["agent_ok"] == true {
            assert!(r["agent"]["text"].is_string(), "{kind}: {r}");
            assert!(r["agent"]["steps"].is_array(), "{kind}: {r}");
            assert!(r["agent"]["usage"]["input_tokens"].as_i64().unwrap() > 0);
        } else {
            let text = r["agent"].as_str().unwrap();
            assert!(
                text.starts_with(ErrorCode::AgentMaxSteps.as_str()),
                "{kind}: {text}"
            );
        }
    }
}
