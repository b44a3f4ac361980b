//! `mcp`: the tools, resources and prompts of the MCP servers the project
//! configures (`[mcp.NAME]`) and lets spells use (`[capabilities] mcp`).
//!
//! A server's tools join the spell's as `NAME/tool` (`tool.list`,
//! `tool.call`, agents); models are offered them as `NAME__tool`, as their
//! tool names allow only letters, digits, `_` and `-`. Everything a server
//! answers comes through the run's journal, so a replayed run needs no
//! server. The servers themselves are in [`super::mcp_servers`].

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;

use rmcp::model::{CallToolRequestParams, GetPromptRequestParams, ReadResourceRequestParams};

use super::mcp_servers::{Conn, Servers};
use super::tools::journaled;
use crate::error::{Error, ErrorCode, Result};
use crate::session::{Bridge, Registry, Session, Shape, Task};
use crate::value::{Map, Value};

/// One tool of a server, as listed.
pub(super) struct McpTool {
    /// `NAME/tool`: what spells call it and events show.
    pub name: String,
    /// `NAME__tool`, made safe: what a model is offered.
    pub model_name: String,
    server: String,
    tool: String,
    pub description: String,
    pub params: serde_json::Value,
    pub validator: Arc<jsonschema::Validator>,
    /// Its output schema only wraps a plain value in `{result}`, as servers
    /// built with the Python SDK do for a tool that returns a number or a
    /// string: the spell gets the value.
    wraps_result: bool,
}

/// The servers' tool lists this spell has seen (its state in the session):
/// asked once per run, so a run sees one list however often it looks.
#[derive(Default)]
struct Listed(RefCell<HashMap<String, Rc<[Rc<McpTool>]>>>);

pub(super) fn register(r: &mut Registry) {
    r.add_shape(Shape {
        name: "McpResource",
        doc: "a resource an MCP server offers",
        fields: "uri: string, name: string, description?: string, mimeType?: string",
    });
    r.add_shape(Shape {
        name: "McpPromptInfo",
        doc: "a prompt an MCP server offers, and the arguments it takes",
        fields: "name: string, description?: string, arguments?: map[]",
    });
    r.add_shape(Shape {
        name: "McpPrompt",
        doc: "a prompt filled in: messages ready for llm.chat",
        fields: "description?: string, messages: Message[]",
    });
    r.add(Bridge::waiting(
        "mcp.tools",
        "server: string",
        "ToolInfo[]",
        "the tools of MCP server `server` ([mcp.NAME], listed in [capabilities] mcp), named \
         server/tool as tool.call and agents take them; starts the server on first use",
        |task, args| async move {
            let server = args.str(0, "server")?.to_owned();
            let tools = tools_of(&task.session, &server).await?;
            Ok(Value::Array(tools.iter().map(|t| t.listing()).collect()))
        },
    ));
    r.add(Bridge::waiting(
        "mcp.resources",
        "server: string",
        "McpResource[]",
        "the resources MCP server `server` offers",
        |task, args| async move {
            let server = args.str(0, "server")?.to_owned();
            let key = serde_json::json!({"server": server, "list": "resources"});
            asked(
                &task.session,
                &server,
                ("mcp", key),
                "resources/list",
                |c| async move { c.peer().list_all_resources().await },
            )
            .await
        },
    ));
    r.add(Bridge::waiting(
        "mcp.read",
        "server: string, uri: string",
        "any",
        "reads resource `uri` of MCP server `server`: its text (the text parts joined) when \
         it is text, else its parts as maps ({uri, mimeType, text | blob})",
        |task, args| async move {
            let server = args.str(0, "server")?.to_owned();
            let uri = args.str(1, "uri")?.to_owned();
            let key = serde_json::json!({"server": server, "read": uri});
            let read = asked(
                &task.session,
                &server,
                ("mcp", key),
                "resources/read",
                |c| async move {
                    c.peer()
                        .read_resource(ReadResourceRequestParams::new(uri))
                        .await
                },
            )
            .await?
            .to_json()?;
            Ok(text_or_parts(&read["contents"]))
        },
    ));
    r.add(Bridge::waiting(
        "mcp.prompts",
        "server: string",
        "McpPromptInfo[]",
        "the prompts MCP server `server` offers",
        |task, args| async move {
            let server = args.str(0, "server")?.to_owned();
            let key = serde_json::json!({"server": server, "list": "prompts"});
            asked(
                &task.session,
                &server,
                ("mcp", key),
                "prompts/list",
                |c| async move { c.peer().list_all_prompts().await },
            )
            .await
        },
    ));
    r.add(Bridge::waiting(
        "mcp.prompt",
        "server: string, name: string, args?: map",
        "McpPrompt",
        "prompt `name` of MCP server `server`, filled in with `args` (a map of strings): \
         {description, messages}, whose messages llm.chat takes as they are",
        |task, args| async move {
            let server = args.str(0, "server")?.to_owned();
            let name = args.str(1, "name")?.to_owned();
            let arguments = match args.get(2) {
                Value::Null => serde_json::Map::new(),
                _ => match args.json(2)? {
                    serde_json::Value::Object(m) => m,
                    _ => return Err(args.error("args must be a map of strings")),
                },
            };
            let key = serde_json::json!({"server": server, "prompt": name, "arguments": arguments});
            let prompt = asked(
                &task.session,
                &server,
                ("mcp", key),
                "prompts/get",
                |c| async move {
                    let mut params = GetPromptRequestParams::new(name);
                    params.arguments = Some(arguments);
                    c.peer().get_prompt(params).await
                },
            )
            .await?
            .to_json()?;
            Ok(messages(&prompt))
        },
    ));
}

/// The servers this run may use, as `[capabilities] mcp` lists them.
pub(super) fn allowed(session: &Session) -> &[String] {
    &session.config().capabilities.mcp
}

/// `sandbox.denied` unless the project lets spells use `server`.
fn check(session: &Session, server: &str) -> Result<()> {
    let config = session.config();
    if !config.mcp.contains_key(server) {
        let known: Vec<&str> = config.mcp.keys().map(String::as_str).collect();
        return Err(Error::new(
            ErrorCode::ConfigInvalid,
            format!(
                "no MCP server {server:?}: add [mcp.{server}] to llmspell.toml (configured: {})",
                if known.is_empty() {
                    "none".into()
                } else {
                    known.join(", ")
                }
            ),
        ));
    }
    if !allowed(session).iter().any(|s| s == server) {
        return Err(Error::new(
            ErrorCode::SandboxDenied,
            format!(
                "MCP server {server:?} is not in [capabilities] mcp; add it there to let spells use it"
            ),
        ));
    }
    Ok(())
}

/// What `request` of server `server` came to, through the run's journal
/// (kept under `op` and `key`: a replay is answered from it, with no
/// server), or live, the server started on first use and the request
/// polled by the spell's thread.
async fn asked<F, Fut, T>(
    session: &Session,
    server: &str,
    (op, key): (&str, serde_json::Value),
    what: &'static str,
    request: F,
) -> Result<Value>
where
    F: FnOnce(Arc<Conn>) -> Fut + 'static,
    Fut: Future<Output = std::result::Result<T, rmcp::service::ServiceError>>,
    T: serde::Serialize,
{
    check(session, server)?;
    let servers = session.resident().get::<Servers>();
    let config = session.config().clone();
    let server = server.to_owned();
    let work = crate::session::wait::on_io(async move {
        let conn = servers.connect(&server, &config).await?;
        let answer = conn.ask(what, request(conn.clone())).await?;
        serde_json::to_value(answer)
            .map_err(|e| Error::new(ErrorCode::Internal, format!("an MCP answer as JSON: {e}")))
    });
    let live = async move { work.await?.map(|v| Value::from_json(&v)) };
    journaled(session, op, key, live).await
}

/// Server `server`'s tools, asked once per run.
pub(super) async fn tools_of(session: &Session, server: &str) -> Result<Rc<[Rc<McpTool>]>> {
    let listed = session.state().get::<Listed>();
    if let Some(tools) = listed.0.borrow().get(server) {
        return Ok(tools.clone());
    }
    let key = serde_json::json!({"server": server, "list": "tools"});
    let list = asked(
        session,
        server,
        ("mcp", key),
        "tools/list",
        |c| async move { c.peer().list_all_tools().await },
    )
    .await?
    .to_json()?;
    let tools: Rc<[Rc<McpTool>]> = list
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| McpTool::from_listing(server, t))
        .map(Rc::new)
        .collect();
    listed
        .0
        .borrow_mut()
        .insert(server.to_owned(), tools.clone());
    Ok(tools)
}

/// The tool `name` names, as a spell (`NAME/tool`) or a model
/// (`NAME__tool`) names it, when its server is one this run may use.
pub(super) async fn find(session: &Session, name: &str) -> Result<Option<Rc<McpTool>>> {
    let server = match (name.split_once('/'), name.split_once("__")) {
        (Some((server, _)), _) | (None, Some((server, _))) => server,
        (None, None) => return Ok(None),
    };
    if !session.config().mcp.contains_key(server) {
        return Ok(None);
    }
    let tools = tools_of(session, server).await?;
    Ok(tools
        .iter()
        .find(|t| t.name == name || t.model_name == name)
        .cloned())
}

impl McpTool {
    fn from_listing(server: &str, t: &serde_json::Value) -> Option<McpTool> {
        let tool = t["name"].as_str()?.to_owned();
        let params = match &t["inputSchema"] {
            serde_json::Value::Object(_) => t["inputSchema"].clone(),
            _ => serde_json::json!({"type": "object"}),
        };
        // A schema the validator cannot take checks nothing here: the
        // server checks its own arguments.
        let validator = jsonschema::validator_for(&params)
            .or_else(|_| jsonschema::validator_for(&serde_json::json!({})))
            .ok()?;
        let mut model_name: String = format!("{server}__{tool}")
            .chars()
            .map(|c| match c {
                'a'..='z' | 'A'..='Z' | '0'..='9' | '_' | '-' => c,
                _ => '_',
            })
            .collect();
        model_name.truncate(64);
        let wraps_result = t["outputSchema"]["properties"]
            .as_object()
            .is_some_and(|p| p.len() == 1 && p.contains_key("result"));
        Some(McpTool {
            name: format!("{server}/{tool}"),
            model_name,
            server: server.to_owned(),
            tool,
            description: t["description"].as_str().unwrap_or_default().to_owned(),
            params,
            validator: Arc::new(validator),
            wraps_result,
        })
    }

    pub fn listing(&self) -> Value {
        let mut m = Map::new();
        m.insert("name".into(), Value::str(&self.name));
        m.insert("description".into(), Value::str(&self.description));
        m.insert("params".into(), Value::from_json(&self.params));
        m.insert("builtin".into(), Value::Bool(false));
        m.insert("server".into(), Value::str(&self.server));
        Value::Map(m)
    }

    /// Calls the tool on its server, through the run's journal: its
    /// structured content when it has some (unwrapped from `{result}` when
    /// its schema only wraps a value), else its text, else its content
    /// parts; a result the server marks as an error is
    /// `tool.failed` with its text.
    pub async fn call(&self, task: &Task, input: serde_json::Value) -> Result<Value> {
        let key = serde_json::json!({"tool": self.name, "arguments": input});
        let tool = self.tool.clone();
        let result = asked(
            &task.session,
            &self.server,
            ("tool", key),
            "tools/call",
            move |c| async move {
                let mut params = CallToolRequestParams::new(tool);
                params.arguments = input.as_object().cloned();
                c.peer().call_tool(params).await
            },
        )
        .await?
        .to_json()?;
        if result["isError"] == serde_json::Value::Bool(true) {
            let text = match text_or_parts(&result["content"]) {
                Value::Str(s) => s,
                other => other.to_json().map(|j| j.to_string()).unwrap_or_default(),
            };
            return Err(Error::new(
                ErrorCode::ToolFailed,
                format!("tool {} failed: {text}", self.name),
            ));
        }
        match result.get("structuredContent") {
            Some(serde_json::Value::Object(m)) if self.wraps_result && m.len() == 1 => {
                Ok(m.get("result").map_or(Value::Null, Value::from_json))
            }
            Some(s) if !s.is_null() => Ok(Value::from_json(s)),
            _ => Ok(text_or_parts(&result["content"])),
        }
    }
}

/// Parts that are all text as one string (joined by newlines); any other
/// parts as they are.
fn text_or_parts(parts: &serde_json::Value) -> Value {
    let parts = parts.as_array().map(Vec::as_slice).unwrap_or_default();
    let texts: Option<Vec<&str>> = parts
        .iter()
        .map(|p| match p.get("type").and_then(|t| t.as_str()) {
            Some("text") | None => p.get("text").and_then(|t| t.as_str()),
            Some(_) => None,
        })
        .collect();
    match texts {
        Some(texts) if !parts.is_empty() => Value::Str(texts.join("\n")),
        _ => Value::from_json(&serde_json::Value::Array(parts.to_vec())),
    }
}

/// A filled-in prompt as `{description, messages}`, each message's content
/// its text where it is text.
fn messages(prompt: &serde_json::Value) -> Value {
    let mut out = Map::new();
    if let Some(d) = prompt["description"].as_str() {
        out.insert("description".into(), Value::str(d));
    }
    let messages = prompt["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            let mut msg = Map::new();
            msg.insert(
                "role".into(),
                Value::str(m["role"].as_str().unwrap_or("user")),
            );
            let content = match &m["content"] {
                c @ serde_json::Value::Object(_) => text_or_parts(&serde_json::json!([c])),
                c => text_or_parts(c),
            };
            msg.insert("content".into(), content);
            Value::Map(msg)
        })
        .collect();
    out.insert("messages".into(), Value::Array(messages));
    Value::Map(out)
}
