//! `llm`: one call to a model. Budgets, events, record/replay and schema
//! checks happen here, around the provider seam ([`crate::provider`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{Error, ErrorCode, Result};
use crate::provider::{ChatReply, ChatRequest, Message, ToolSpec};
use crate::session::{Args, Bridge, Registry, Shape, Task};
use crate::value::{Map, Value};

pub(super) fn register(r: &mut Registry) {
    r.add_shape(Shape {
        name: "Message",
        doc: "one message of a conversation",
        fields: "role: \"system\" | \"user\" | \"assistant\" | \"tool\", content: string, tool_calls?: ToolCall[], tool_call_id?: string",
    });
    r.add_shape(Shape {
        name: "ToolCall",
        doc: "a tool call the model asked for",
        fields: "id: string, name: string, arguments: any",
    });
    r.add_shape(Shape {
        name: "Usage",
        doc: "the tokens a call used",
        fields: "input_tokens: integer, output_tokens: integer",
    });
    r.add_shape(Shape {
        name: "ChatReply",
        doc: "a model's reply",
        fields: "text: string, data?: any, tool_calls: ToolCall[], usage: Usage, model: string, latency_ms: integer",
    });
    r.add_shape(Shape {
        name: "ModelTool",
        doc: "a tool offered to the model without a function of its own",
        fields: "name: string, description: string, params: map",
    });
    r.add_shape(Shape {
        name: "ChatOptions",
        doc: "options of llm.chat and llm.stream",
        fields: "model?: string, system?: string, temperature?: number, max_tokens?: integer, tools?: (string | ModelTool)[], schema?: map, timeout_ms?: integer",
    });
    r.add(Bridge::waiting(
        "llm.chat",
        "input: string | Message[], opts?: ChatOptions",
        "ChatReply",
        "asks a model: input is a string or an array of {role, content, tool_calls?, \
         tool_call_id?}; opts: model, system, temperature, max_tokens, tools, schema (the reply \
         must be JSON valid against it; reply.data holds it), timeout_ms",
        |task, args| async move {
            let req = request(&task, &args, false)?;
            let timeout = timeout(&task, &args, &req)?;
            let reply = exchange(&task, req.clone(), timeout, None).await?;
            finish(&task, &req, reply)
        },
    ));
    r.add(Bridge::waiting(
        "llm.stream",
        "input: string | Message[], opts: ChatOptions | nil, on_chunk: fun(text: string): boolean | nil",
        "ChatReply",
        "as llm.chat, calling on_chunk(text) with each piece as it arrives; on_chunk \
         returning false stops the stream and the reply holds what arrived",
        |task, args| async move {
            let on_chunk = args.func(2, "on_chunk")?;
            let req = request(&task, &args, true)?;
            let timeout = timeout(&task, &args, &req)?;
            let reply = exchange(&task, req.clone(), timeout, Some(on_chunk)).await?;
            finish(&task, &req, reply)
        },
    ));
    r.add(Bridge::waiting(
        "llm.embed",
        "texts: string | string[], opts?: {model?: string}",
        "number[][]",
        "embeddings for a string or an array of strings; opts.model ([defaults] embed_model, \
         else the default model)",
        |task, args| async move { embed(&task, &args).await },
    ));
}

/// The spell's input and options as one resolved request.
fn request(task: &Task, args: &Args, stream: bool) -> Result<ChatRequest> {
    let messages = match args.get(0) {
        Value::Str(s) => vec![Message {
            role: "user".into(),
            content: s.clone(),
            tool_calls: Vec::new(),
            tool_call_id: None,
        }],
        Value::Array(_) => serde_json::from_value::<Vec<Message>>(args.json(0)?)
            .map_err(|e| args.error(format!("input messages: {e}")))?,
        other => {
            return Err(args.error(format!(
                "input must be a string or an array of messages, not a {}",
                other.kind()
            )))
        }
    };
    for m in &messages {
        if !matches!(m.role.as_str(), "system" | "user" | "assistant" | "tool") {
            return Err(args.error(format!(
                "message role {:?} is not system, user, assistant or tool",
                m.role
            )));
        }
    }
    let opts = args.opt_map(1, "opts")?;
    let text = |k: &str| -> Result<Option<String>> {
        match opts.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Str(s)) => Ok(Some(s.clone())),
            Some(o) => Err(args.error(format!("opts.{k} must be a string, not a {}", o.kind()))),
        }
    };
    let model = task
        .session
        .models()
        .resolve(text("model")?.as_deref(), false)?;
    let temperature = match opts.get("temperature") {
        None | Some(Value::Null) => None,
        Some(Value::Int(i)) => Some(*i as f32),
        Some(Value::Float(f)) => Some(*f as f32),
        Some(o) => {
            return Err(args.error(format!(
                "opts.temperature must be a number, not a {}",
                o.kind()
            )))
        }
    };
    let max_tokens = match opts.get("max_tokens") {
        None | Some(Value::Null) => None,
        Some(Value::Int(i)) if *i > 0 && *i <= i64::from(u32::MAX) => Some(*i as u32),
        Some(_) => return Err(args.error("opts.max_tokens must be a positive integer")),
    };
    let schema = match opts.get("schema") {
        None | Some(Value::Null) => None,
        Some(v @ Value::Map(_)) => {
            let json = v.to_json()?;
            jsonschema::validator_for(&json)
                .map_err(|e| args.error(format!("opts.schema is not a valid JSON schema: {e}")))?;
            Some(json)
        }
        Some(o) => return Err(args.error(format!("opts.schema must be a map, not a {}", o.kind()))),
    };
    Ok(ChatRequest {
        model,
        messages,
        system: text("system")?,
        temperature,
        max_tokens,
        tools: tools(task, args, opts.get("tools"))?,
        schema,
        stream,
    })
}

/// `opts.tools`: names of defined tools, or `{name, description, params}`.
fn tools(task: &Task, args: &Args, v: Option<&Value>) -> Result<Vec<ToolSpec>> {
    let items = match v {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(o) => {
            return Err(args.error(format!("opts.tools must be an array, not a {}", o.kind())))
        }
    };
    items
        .iter()
        .map(|item| match item {
            Value::Str(name) => super::tool::spec(&task.session, name),
            Value::Map(_) => serde_json::from_value(item.to_json()?)
                .map_err(|e| args.error(format!("opts.tools: {e}"))),
            o => Err(args.error(format!("opts.tools holds a {}; give tool names", o.kind()))),
        })
        .collect()
}

fn timeout(task: &Task, args: &Args, req: &ChatRequest) -> Result<Duration> {
    let asked = match args.opt_map(1, "opts")?.get("timeout_ms") {
        None | Some(Value::Null) => None,
        Some(Value::Int(ms)) if *ms > 0 => Some(Duration::from_millis(*ms as u64)),
        Some(_) => return Err(args.error("opts.timeout_ms must be a positive integer")),
    };
    Ok(task.session.models().timeout(&req.model, asked))
}

/// `llm.budget` before a call that would pass `[limits]`.
fn check_budget(task: &Task, req: &ChatRequest) -> Result<()> {
    let l = task.session.limits();
    let (calls, tokens) = task.session.llm_used();
    if l.max_llm_calls > 0 && calls >= l.max_llm_calls {
        return Err(Error::new(
            ErrorCode::LlmBudget,
            format!(
                "this call would pass [limits] max_llm_calls = {} (made {calls}); raise it in llmspell.toml",
                l.max_llm_calls
            ),
        ));
    }
    let next = tokens + u64::from(req.max_tokens.unwrap_or(0));
    if l.max_tokens > 0 && (tokens >= l.max_tokens || next > l.max_tokens) {
        return Err(Error::new(
            ErrorCode::LlmBudget,
            format!(
                "this call could pass [limits] max_tokens = {} (used {tokens}); raise it in llmspell.toml",
                l.max_tokens
            ),
        ));
    }
    Ok(())
}

fn request_event(req: &ChatRequest) -> Value {
    let mut m = Map::new();
    m.insert("model".into(), Value::str(&req.model));
    m.insert("stream".into(), Value::Bool(req.stream));
    if let Ok(messages) = serde_json::to_value(&req.messages) {
        m.insert("messages".into(), Value::from_json(&messages));
    }
    if let Some(s) = &req.system {
        m.insert("system".into(), Value::str(s));
    }
    let names = req.tools.iter().map(|t| Value::str(&t.name)).collect();
    m.insert("tools".into(), Value::Array(names));
    Value::Map(m)
}

/// One model exchange: budget, `llm.request`, then the journal or the
/// live provider, then `llm.error` on failure. Stream pieces go to
/// `on_chunk` as they arrive.
async fn exchange(
    task: &Task,
    req: ChatRequest,
    timeout: Duration,
    on_chunk: Option<crate::value::Callback>,
) -> Result<(ChatReply, u64)> {
    check_budget(task, &req)?;
    task.emit("llm.request", || request_event(&req))?;
    let started = Instant::now();
    let out = answer(task, &req, timeout, on_chunk).await;
    let latency = started.elapsed().as_millis() as u64;
    let used = out.as_ref().map_or(0, |r| r.input_tokens + r.output_tokens);
    task.session.count_llm_call(used);
    match out {
        Ok(reply) => Ok((reply, latency)),
        Err(e) => {
            if !e.code.is_fatal() {
                task.emit("llm.error", || {
                    let mut m = Map::new();
                    m.insert("model".into(), Value::str(&req.model));
                    m.insert("code".into(), Value::str(e.code.as_str()));
                    m.insert("message".into(), Value::str(&e.message));
                    m.insert("latency_ms".into(), Value::Int(latency as i64));
                    Value::Map(m)
                })?;
            }
            Err(e)
        }
    }
}

/// No API key ever reaches a script, an event, a log or a journal
/// through what a provider sent back: its error or its reply.
fn clean(task: &Task, out: Result<ChatReply>) -> Result<ChatReply> {
    let models = task.session.models();
    match out {
        Ok(mut reply) => {
            models.scrub_reply(&mut reply);
            Ok(reply)
        }
        Err(mut e) => {
            e.message = models.scrub(&e.message).into_owned();
            Err(e)
        }
    }
}

async fn answer(
    task: &Task,
    req: &ChatRequest,
    timeout: Duration,
    on_chunk: Option<crate::value::Callback>,
) -> Result<ChatReply> {
    let op = if req.stream { "stream" } else { "chat" };
    let journal = task.session.journal();
    // The request as the journal keys it: made only when there is one.
    let key = match journal {
        Some(_) => serde_json::to_value(req)
            .map_err(|e| Error::new(ErrorCode::SpellError, e.to_string()))?,
        None => serde_json::Value::Null,
    };
    if let Some(journal) = journal {
        if let Some(recorded) = journal.answer(op, &key)? {
            let reply: ChatReply = serde_json::from_value(recorded?).map_err(|e| {
                Error::new(
                    ErrorCode::ReplayMiss,
                    format!("a recorded reply cannot be read: {e}"),
                )
            })?;
            if let Some(f) = &on_chunk {
                for piece in &reply.chunks {
                    if matches!(
                        task.call_script(f, vec![Value::str(piece)]).await?,
                        Value::Bool(false)
                    ) {
                        break;
                    }
                }
            }
            return Ok(reply);
        }
    }
    let models = task.session.models();
    let out = match on_chunk {
        None => {
            let chat = models
                .clone()
                .chat(req.clone(), task.session.limits().reply_bytes());
            match crate::session::wait::on_io_timeout(timeout, chat).await? {
                Some(r) => r,
                None => Err(Error::new(
                    ErrorCode::LlmTimeout,
                    format!(
                        "no reply from {} in {:.1} s; raise opts.timeout_ms or the provider's timeout_secs",
                        req.model,
                        timeout.as_secs_f64()
                    ),
                )),
            }
        }
        Some(f) => stream(task, models, req, timeout, &f).await,
    };
    let out = clean(task, out);
    if let Some(journal) = journal {
        let recorded = out
            .as_ref()
            .map(|r| serde_json::to_value(r).unwrap_or_default())
            .map_err(Clone::clone);
        journal.record(op, &key, &recorded)?;
    }
    out
}

/// A live stream: pieces to `on_chunk` as they come; false stops it.
async fn stream(
    task: &Task,
    models: Arc<crate::provider::Models>,
    req: &ChatRequest,
    idle: Duration,
    on_chunk: &crate::value::Callback,
) -> Result<ChatReply> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let limit = task.session.limits().reply_bytes();
    let streamed = models.clone().stream(req.clone(), tx, idle, limit);
    let mut call = std::pin::pin!(crate::session::wait::on_io(streamed));
    let mut sofar = ChatReply::default();
    loop {
        tokio::select! {
            biased;
            piece = rx.recv() => match piece {
                Some(piece) => {
                    let piece = models.scrub(&piece).into_owned();
                    sofar.text.push_str(&piece);
                    sofar.chunks.push(piece.clone());
                    if matches!(task.call_script(on_chunk, vec![Value::Str(piece)]).await?, Value::Bool(false)) {
                        // Dropping the call cancels the request.
                        return Ok(sofar);
                    }
                }
                None => return call.await?,
            },
            done = &mut call => {
                // Deliver what is still queued before the end.
                let reply = done??;
                while let Ok(piece) = rx.try_recv() {
                    let piece = models.scrub(&piece).into_owned();
                    if matches!(task.call_script(on_chunk, vec![Value::Str(piece)]).await?, Value::Bool(false)) {
                        break;
                    }
                }
                return Ok(reply);
            }
        }
    }
}

/// The reply as the spell sees it, after the schema check; `llm.response`.
fn finish(task: &Task, req: &ChatRequest, (reply, latency): (ChatReply, u64)) -> Result<Value> {
    let mut m = Map::new();
    if let Some(schema) = &req.schema {
        let data = check_schema(&req.model, schema, &reply.text).inspect_err(|e| {
            let _ = task.emit("llm.error", || {
                let mut m = Map::new();
                m.insert("model".into(), Value::str(&req.model));
                m.insert("code".into(), Value::str(e.code.as_str()));
                m.insert("message".into(), Value::str(&e.message));
                Value::Map(m)
            });
        })?;
        m.insert("data".into(), Value::from_json(&data));
    }
    m.insert("text".into(), Value::str(&reply.text));
    let calls = reply
        .tool_calls
        .iter()
        .map(|c| {
            let mut t = Map::new();
            t.insert("id".into(), Value::str(&c.id));
            t.insert("name".into(), Value::str(&c.name));
            t.insert("arguments".into(), Value::from_json(&c.arguments));
            Value::Map(t)
        })
        .collect();
    m.insert("tool_calls".into(), Value::Array(calls));
    let mut usage = Map::new();
    usage.insert("input_tokens".into(), Value::Int(reply.input_tokens as i64));
    usage.insert(
        "output_tokens".into(),
        Value::Int(reply.output_tokens as i64),
    );
    m.insert("usage".into(), Value::Map(usage));
    m.insert("model".into(), Value::str(&req.model));
    m.insert("latency_ms".into(), Value::Int(latency as i64));
    let out = Value::Map(m);
    task.emit("llm.response", || out.clone())?;
    Ok(out)
}

/// The reply's text as JSON valid against the schema. Models often wrap
/// JSON in a Markdown fence: that is taken off first.
fn check_schema(model: &str, schema: &serde_json::Value, text: &str) -> Result<serde_json::Value> {
    let trimmed = text.trim();
    let body = trimmed
        .strip_prefix("```json")
        .or_else(|| trimmed.strip_prefix("```"))
        .and_then(|t| t.strip_suffix("```"))
        .unwrap_or(trimmed)
        .trim();
    let data: serde_json::Value = serde_json::from_str(body).map_err(|e| {
        Error::new(
            ErrorCode::LlmBadReply,
            format!(
                "{model} did not reply with JSON for the schema ({e}): {}",
                preview(text)
            ),
        )
    })?;
    let validator = jsonschema::validator_for(schema)
        .map_err(|e| Error::new(ErrorCode::ArgsInvalid, format!("opts.schema: {e}")))?;
    if let Some(err) = validator.iter_errors(&data).next() {
        return Err(Error::new(
            ErrorCode::LlmBadReply,
            format!(
                "{model}'s reply does not match the schema at {}: {err}",
                if err.instance_path().as_str().is_empty() {
                    "$"
                } else {
                    err.instance_path().as_str()
                }
            ),
        ));
    }
    Ok(data)
}

fn preview(text: &str) -> String {
    let p: String = text.chars().take(120).collect();
    if p.len() < text.len() {
        format!("{p}...")
    } else {
        p
    }
}

async fn embed(task: &Task, args: &Args) -> Result<Value> {
    let texts: Vec<String> = match args.get(0) {
        Value::Str(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .map(|v| match v {
                Value::Str(s) => Ok(s.clone()),
                o => Err(args.error(format!("texts holds a {}; give strings", o.kind()))),
            })
            .collect::<Result<_>>()?,
        o => {
            return Err(args.error(format!(
                "texts must be a string or an array of strings, not a {}",
                o.kind()
            )))
        }
    };
    let opts = args.opt_map(1, "opts")?;
    let asked = match opts.get("model") {
        Some(Value::Str(s)) => Some(s.clone()),
        _ => None,
    };
    let models = task.session.models();
    let model = models.resolve(asked.as_deref(), true)?;
    let journal = task.session.journal();
    // The request as the journal keys it: made only when there is one
    // (it copies every text).
    let key = match journal {
        Some(_) => serde_json::json!({"model": model, "texts": texts}),
        None => serde_json::Value::Null,
    };
    task.emit("llm.request", || {
        let mut m = Map::new();
        m.insert("model".into(), Value::str(&model));
        m.insert("embed".into(), Value::Int(texts.len() as i64));
        Value::Map(m)
    })?;
    let recorded = match journal {
        Some(journal) => journal.answer("embed", &key)?,
        None => None,
    };
    let vectors: Result<serde_json::Value> = match recorded {
        Some(r) => r,
        None => {
            let timeout = models.timeout(&model, None);
            let limit = task.session.limits().reply_bytes();
            let call = models.clone().embed(model.clone(), texts.clone(), limit);
            let out = match crate::session::wait::on_io_timeout(timeout, call).await {
                Ok(Some(r)) => r,
                Err(e) => Err(e),
                Ok(None) => Err(Error::new(
                    ErrorCode::LlmTimeout,
                    format!("no embeddings from {model} in time"),
                )),
            }
            .map(|v| serde_json::json!(v))
            .map_err(|mut e| {
                e.message = models.scrub(&e.message).into_owned();
                e
            });
            if let Some(journal) = journal {
                journal.record("embed", &key, &out)?;
            }
            out
        }
    };
    Ok(Value::from_json(&vectors?))
}
