//! Chat-completions calls made by our own HTTP. Streams: llm 1.3.8
//! decodes each network chunk on its own (a character split across two
//! chunks turns into U+FFFD), bounds the whole stream by one timeout, and
//! then yields errors without end. Here bytes wait for a whole line before
//! they are decoded, the timeout is per gap between chunks, and the first
//! error ends the stream. Replies, streamed or not: llm reads a whole body,
//! however large, before anyone sees it (UPSTREAM.md #9); here no reply,
//! stream or error body is read past `[limits] max_reply_mb`.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use llm::chat::ChatMessage;
use llm::LLMProvider;
use tokio::sync::mpsc::UnboundedSender;

use super::convert::{arguments_text, llm_error, parse_arguments, status_error, system_prompt};
use super::{ChatReply, ChatRequest, ToolCall};
use crate::error::{Error, ErrorCode, Result};

/// The request body of a streamed chat completion.
pub(super) fn body(model: &str, req: &ChatRequest) -> serde_json::Value {
    let mut messages = Vec::new();
    if let Some(system) = system_prompt(req) {
        messages.push(serde_json::json!({"role": "system", "content": system}));
    }
    for m in req.messages.iter().filter(|m| m.role != "system") {
        let mut msg = serde_json::json!({"role": m.role, "content": m.content});
        if !m.tool_calls.is_empty() {
            msg["tool_calls"] = m
                .tool_calls
                .iter()
                .map(|c| {
                    serde_json::json!({"id": c.id, "type": "function",
                        "function": {"name": c.name, "arguments": arguments_text(&c.arguments)}})
                })
                .collect();
        }
        if let Some(id) = &m.tool_call_id {
            msg["tool_call_id"] = id.clone().into();
        }
        messages.push(msg);
    }
    let mut body = serde_json::json!({
        "model": model,
        "messages": messages,
        "stream": true,
        "stream_options": {"include_usage": true},
    });
    if let Some(t) = req.temperature {
        body["temperature"] = t.into();
    }
    if let Some(n) = req.max_tokens {
        body["max_tokens"] = n.into();
    }
    if !req.tools.is_empty() {
        body["tools"] = req
            .tools
            .iter()
            .map(|t| {
                serde_json::json!({"type": "function", "function":
                    {"name": t.name, "description": t.description, "parameters": t.params}})
            })
            .collect();
    }
    body
}

fn timeout(provider: &str, idle: Duration) -> Error {
    Error::new(
        ErrorCode::LlmTimeout,
        format!(
            "no reply from {provider} in {:.1} s; raise opts.timeout_ms or the provider's timeout_secs",
            idle.as_secs_f64()
        ),
    )
}

/// Where one call goes and what bounds it.
pub(super) struct Call<'a> {
    pub client: &'a reqwest::Client,
    pub url: &'a str,
    /// `url`, parsed (the provider's own chat URL, parsed once).
    pub parsed: Option<&'a reqwest::Url>,
    pub key: &'a str,
    /// The `Authorization` header `key` makes, made once.
    pub auth: Option<&'a reqwest::header::HeaderValue>,
    pub model: &'a str,
    pub idle: Duration,
    /// The most the reply may hold, in bytes.
    pub max_reply: usize,
}

fn too_large(provider: &str, max: usize) -> Error {
    Error::new(
        ErrorCode::LlmBadReply,
        format!(
            "the reply from {provider} passed [limits] max_reply_mb = {} MiB; raise it in llmspell.toml",
            max >> 20
        ),
    )
}

/// The body of `resp`, read chunk by chunk, never past `max` bytes.
async fn capped_body(
    resp: reqwest::Response,
    provider: &str,
    idle: Duration,
    max: usize,
) -> Result<Vec<u8>> {
    let mut bytes = resp.bytes_stream();
    let mut body = Vec::new();
    loop {
        let next = tokio::time::timeout(idle, bytes.next())
            .await
            .map_err(|_| timeout(provider, idle))?;
        match next {
            None => return Ok(body),
            Some(Ok(chunk)) => {
                if body.len() + chunk.len() > max {
                    return Err(too_large(provider, max));
                }
                body.extend_from_slice(&chunk);
            }
            Some(Err(e)) => {
                return Err(Error::new(
                    ErrorCode::LlmHttp,
                    format!("the reply from {provider} broke: {}", without_url(&e)),
                ))
            }
        }
    }
}

/// Sends `body`; a status of 400 or more is its coded error, with the
/// start of what the server said.
async fn send(
    call: &Call<'_>,
    provider: &str,
    body: &serde_json::Value,
) -> Result<reqwest::Response> {
    let post = match call.parsed {
        Some(url) => call.client.post(url.clone()),
        None => call.client.post(call.url),
    };
    let post = match call.auth {
        Some(auth) => post.header(reqwest::header::AUTHORIZATION, auth.clone()),
        None => post.bearer_auth(call.key),
    };
    let send = post.json(body).send();
    let resp = tokio::time::timeout(call.idle, send)
        .await
        .map_err(|_| timeout(provider, call.idle))?
        .map_err(|e| {
            Error::new(
                ErrorCode::LlmHttp,
                format!("cannot reach {provider}: {}", without_url(&e)),
            )
        })?;
    let status = resp.status().as_u16();
    if status >= 400 {
        // An error body is read only as far as its message is shown.
        let text = capped_body(resp, provider, call.idle, 64 << 10)
            .await
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        return Err(status_error(status, provider, &text));
    }
    Ok(resp)
}

/// One chat completion, not streamed, its reply read up to the cap.
pub(super) async fn chat_once(call: Call<'_>, req: &ChatRequest) -> Result<ChatReply> {
    let provider = req.model.split('/').next().unwrap_or_default().to_owned();
    let mut body = body(call.model, req);
    body["stream"] = false.into();
    if let Some(o) = body.as_object_mut() {
        o.remove("stream_options");
    }
    if let Some(schema) = &req.schema {
        // As llm sends it: a closed object unless the schema says otherwise.
        let mut schema = schema.clone();
        if schema.is_object() && schema.get("additionalProperties").is_none() {
            schema["additionalProperties"] = false.into();
        }
        body["response_format"] = serde_json::json!({
            "type": "json_schema",
            "json_schema": {"name": "reply", "schema": schema},
        });
    }
    let resp = send(&call, &provider, &body).await?;
    let bytes = capped_body(resp, &provider, call.idle, call.max_reply).await?;
    let json: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
        Error::new(
            ErrorCode::LlmBadReply,
            format!("{provider} answered with a reply that is not JSON: {e}"),
        )
    })?;
    let message = &json["choices"][0]["message"];
    if !message.is_object() {
        return Err(Error::new(
            ErrorCode::LlmBadReply,
            format!("{provider} answered without a message (no choices[0].message)"),
        ));
    }
    let calls = message["tool_calls"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            (
                c["id"].as_str().unwrap_or_default().to_owned(),
                c["function"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                match &c["function"]["arguments"] {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                },
            )
        })
        .collect();
    let usage = &json["usage"];
    let reply = ChatReply {
        text: message["content"].as_str().unwrap_or_default().to_owned(),
        input_tokens: usage["prompt_tokens"].as_u64().unwrap_or(0),
        output_tokens: usage["completion_tokens"].as_u64().unwrap_or(0),
        ..ChatReply::default()
    };
    Ok(finish(reply, calls))
}

/// Embeddings from an OpenAI-style `/embeddings`, the reply read up to
/// the cap: one vector per text, in the texts' order.
pub(super) async fn embeddings(
    call: Call<'_>,
    provider: &str,
    texts: &[String],
) -> Result<Vec<Vec<f32>>> {
    let body = serde_json::json!({"model": call.model, "input": texts});
    let resp = send(&call, provider, &body).await?;
    let bytes = capped_body(resp, provider, call.idle, call.max_reply).await?;
    #[derive(serde::Deserialize)]
    struct Reply {
        data: Vec<Item>,
    }
    #[derive(serde::Deserialize)]
    struct Item {
        embedding: Vec<f32>,
        #[serde(default)]
        index: Option<usize>,
    }
    let reply: Reply = serde_json::from_slice(&bytes).map_err(|e| {
        Error::new(
            ErrorCode::LlmBadReply,
            format!(
                "{provider} answered embeddings with a reply that is not data[].embedding: {e}"
            ),
        )
    })?;
    let mut items = reply.data;
    if items.len() != texts.len() {
        return Err(Error::new(
            ErrorCode::LlmBadReply,
            format!(
                "{provider} answered {} embeddings for {} texts",
                items.len(),
                texts.len()
            ),
        ));
    }
    // Servers may answer out of order; each item says which text it is.
    items.sort_by_key(|i| i.index.unwrap_or(usize::MAX));
    Ok(items.into_iter().map(|i| i.embedding).collect())
}

pub(super) async fn chat_completions(
    call: Call<'_>,
    req: &ChatRequest,
    pieces: UnboundedSender<String>,
) -> Result<ChatReply> {
    let (idle, max) = (call.idle, call.max_reply);
    let provider = req.model.split('/').next().unwrap_or_default().to_owned();
    let resp = send(&call, &provider, &body(call.model, req)).await?;
    let mut bytes = resp.bytes_stream();
    let mut line = Vec::new();
    let mut reply = ChatReply::default();
    let mut calls: Vec<(String, String, String)> = Vec::new();
    let mut done = false;
    while !done {
        let next = tokio::time::timeout(idle, bytes.next())
            .await
            .map_err(|_| timeout(&provider, idle))?;
        let chunk = match next {
            None => break,
            Some(Ok(c)) => c,
            Some(Err(e)) => {
                return Err(Error::new(
                    ErrorCode::LlmHttp,
                    format!("the stream from {provider} broke: {}", without_url(&e)),
                ))
            }
        };
        if line.len() + reply.text.len() + chunk.len() > max {
            return Err(too_large(&provider, max));
        }
        for &b in chunk.iter() {
            if b != b'\n' {
                line.push(b);
                continue;
            }
            let text = String::from_utf8_lossy(&line).trim().to_owned();
            line.clear();
            let Some(data) = text.strip_prefix("data:").map(str::trim) else {
                continue;
            };
            if data == "[DONE]" {
                done = true;
                break;
            }
            let event: serde_json::Value = serde_json::from_str(data).map_err(|e| {
                Error::new(
                    ErrorCode::LlmBadReply,
                    format!("{provider} streamed an event that is not JSON: {e}"),
                )
            })?;
            if let Some(u) = event.get("usage").filter(|u| !u.is_null()) {
                reply.input_tokens = u["prompt_tokens"].as_u64().unwrap_or(0);
                reply.output_tokens = u["completion_tokens"].as_u64().unwrap_or(0);
            }
            let delta = &event["choices"][0]["delta"];
            if let Some(piece) = delta["content"].as_str().filter(|p| !p.is_empty()) {
                reply.text.push_str(piece);
                reply.chunks.push(piece.to_owned());
                if pieces.send(piece.to_owned()).is_err() {
                    // Nobody wants more: stop reading.
                    return Ok(finish(reply, calls));
                }
            }
            for c in delta["tool_calls"].as_array().into_iter().flatten() {
                let i = c["index"].as_u64().unwrap_or(0) as usize;
                if calls.len() <= i {
                    calls.resize(i + 1, Default::default());
                }
                if let Some(id) = c["id"].as_str() {
                    calls[i].0 = id.to_owned();
                }
                if let Some(name) = c["function"]["name"].as_str() {
                    calls[i].1.push_str(name);
                }
                if let Some(args) = c["function"]["arguments"].as_str() {
                    calls[i].2.push_str(args);
                }
            }
        }
    }
    if !done {
        return Err(Error::new(
            ErrorCode::LlmHttp,
            format!(
                "the stream from {provider} was cut after {} pieces, before its end",
                reply.chunks.len()
            ),
        ));
    }
    Ok(finish(reply, calls))
}

fn finish(mut reply: ChatReply, calls: Vec<(String, String, String)>) -> ChatReply {
    reply.tool_calls = calls
        .into_iter()
        .filter(|(_, name, _)| !name.is_empty())
        .map(|(id, name, args)| ToolCall {
            id,
            name,
            arguments: parse_arguments(&args),
        })
        .collect();
    reply
}

/// reqwest's error text without the URL (which may carry a query key).
fn without_url(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    if let Some(url) = e.url() {
        text = text.replace(url.as_str(), "the provider");
    }
    text
}

/// Other kinds stream through llm; its stream is ended at the first error.
pub(super) async fn through_llm(
    built: Arc<dyn LLMProvider>,
    messages: Vec<ChatMessage>,
    provider: &str,
    pieces: UnboundedSender<String>,
    max_reply: usize,
) -> Result<ChatReply> {
    let mut stream = built
        .chat_stream(&messages)
        .await
        .map_err(|e| llm_error(e, provider))?;
    let mut reply = ChatReply::default();
    while let Some(piece) = stream.next().await {
        let piece = piece.map_err(|e| llm_error(e, provider))?;
        if reply.text.len() + piece.len() > max_reply {
            return Err(too_large(provider, max_reply));
        }
        reply.text.push_str(&piece);
        reply.chunks.push(piece.clone());
        if pieces.send(piece).is_err() {
            break;
        }
    }
    Ok(reply)
}
