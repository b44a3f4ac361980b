//! Streaming. For chat-completions servers we read the server-sent events
//! ourselves: llm 1.3.8 decodes each network chunk on its own (a character
//! split across two chunks turns into U+FFFD), bounds the whole stream by
//! one timeout, and then yields errors without end. Here bytes wait for a
//! whole line before they are decoded, the timeout is per gap between
//! chunks, and the first error ends the stream.

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

pub(super) async fn chat_completions(
    client: &reqwest::Client,
    url: &str,
    key: &str,
    model: &str,
    req: &ChatRequest,
    pieces: UnboundedSender<String>,
    idle: Duration,
) -> Result<ChatReply> {
    let provider = req.model.split('/').next().unwrap_or_default().to_owned();
    let send = client
        .post(url)
        .bearer_auth(key)
        .json(&body(model, req))
        .send();
    let resp = tokio::time::timeout(idle, send)
        .await
        .map_err(|_| timeout(&provider, idle))?
        .map_err(|e| {
            Error::new(
                ErrorCode::LlmHttp,
                format!("cannot reach {provider}: {}", without_url(&e)),
            )
        })?;
    let status = resp.status().as_u16();
    if status >= 400 {
        let text = tokio::time::timeout(idle, resp.text())
            .await
            .ok()
            .and_then(|r| r.ok())
            .unwrap_or_default();
        return Err(status_error(status, &provider, &text));
    }
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
) -> Result<ChatReply> {
    let mut stream = built
        .chat_stream(&messages)
        .await
        .map_err(|e| llm_error(e, provider))?;
    let mut reply = ChatReply::default();
    while let Some(piece) = stream.next().await {
        let piece = piece.map_err(|e| llm_error(e, provider))?;
        reply.text.push_str(&piece);
        reply.chunks.push(piece.clone());
        if pieces.send(piece).is_err() {
            break;
        }
    }
    Ok(reply)
}
