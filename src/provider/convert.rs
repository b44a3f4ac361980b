//! Between our request and reply types and the `llm` crate's, and from
//! `llm`'s errors (which carry no status code) to ours.

use llm::chat::{ChatMessage, ChatResponse, FunctionTool, Tool};
use llm::error::LLMError;
use llm::{FunctionCall, ToolCall as LlmToolCall};

use super::{ChatReply, ChatRequest, Message, ToolCall, ToolSpec};
use crate::error::{Error, ErrorCode};

/// The system prompt: the call's `system`, then any system messages.
pub(super) fn system_prompt(req: &ChatRequest) -> Option<String> {
    let parts: Vec<&str> = req
        .system
        .iter()
        .map(String::as_str)
        .chain(
            req.messages
                .iter()
                .filter(|m| m.role == "system")
                .map(|m| m.content.as_str()),
        )
        .collect();
    (!parts.is_empty()).then(|| parts.join("\n\n"))
}

fn llm_call(c: &ToolCall) -> LlmToolCall {
    LlmToolCall {
        id: c.id.clone(),
        call_type: "function".into(),
        function: FunctionCall {
            name: c.name.clone(),
            arguments: arguments_text(&c.arguments),
        },
    }
}

/// Tool arguments as the wire carries them: JSON text.
pub(super) fn arguments_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub(super) fn to_llm_messages(messages: &[Message]) -> Vec<ChatMessage> {
    let mut out = Vec::with_capacity(messages.len());
    for m in messages {
        let msg = match m.role.as_str() {
            "system" => continue,
            "assistant" if !m.tool_calls.is_empty() => ChatMessage::assistant()
                .tool_use(m.tool_calls.iter().map(llm_call).collect())
                .content(m.content.clone())
                .build(),
            "assistant" => ChatMessage::assistant().content(m.content.clone()).build(),
            // llm sends a tool result's content as the call's "arguments".
            "tool" => ChatMessage::user()
                .tool_result(vec![LlmToolCall {
                    id: m.tool_call_id.clone().unwrap_or_default(),
                    call_type: "function".into(),
                    function: FunctionCall {
                        name: String::new(),
                        arguments: m.content.clone(),
                    },
                }])
                .build(),
            _ => ChatMessage::user().content(m.content.clone()).build(),
        };
        out.push(msg);
    }
    out
}

pub(super) fn to_llm_tools(tools: &[ToolSpec]) -> Vec<Tool> {
    tools
        .iter()
        .map(|t| Tool {
            tool_type: "function".into(),
            function: FunctionTool {
                name: t.name.clone(),
                description: t.description.clone(),
                parameters: t.params.clone(),
            },
            cache_control: None,
        })
        .collect()
}

pub(super) fn parse_arguments(text: &str) -> serde_json::Value {
    if text.trim().is_empty() {
        return serde_json::json!({});
    }
    serde_json::from_str(text).unwrap_or_else(|_| serde_json::Value::String(text.to_owned()))
}

pub(super) fn from_llm_reply(r: &dyn ChatResponse) -> ChatReply {
    let usage = r.usage();
    ChatReply {
        text: r.text().unwrap_or_default(),
        tool_calls: r
            .tool_calls()
            .unwrap_or_default()
            .into_iter()
            .map(|c| ToolCall {
                id: c.id,
                name: c.function.name,
                arguments: parse_arguments(&c.function.arguments),
            })
            .collect(),
        input_tokens: usage.as_ref().map_or(0, |u| u64::from(u.prompt_tokens)),
        output_tokens: usage.as_ref().map_or(0, |u| u64::from(u.completion_tokens)),
        chunks: Vec::new(),
    }
}

/// The HTTP status in llm's error text ("... error status: 429 Too Many
/// Requests"): llm's errors have no status field.
fn status_in(text: &str) -> Option<u16> {
    let at = text.find("status: ")? + "status: ".len();
    text[at..].get(..3)?.parse().ok()
}

/// An HTTP status as our error.
pub(super) fn status_error(status: u16, provider: &str, body: &str) -> Error {
    let body: String = body.chars().take(300).collect();
    match status {
        429 => Error::new(
            ErrorCode::LlmRateLimited,
            format!("{provider} refused for rate limits (HTTP 429): {body}; wait, or wrap the call in workflow.retry"),
        ),
        401 | 403 => Error::new(
            ErrorCode::LlmConfig,
            format!("{provider} refused the API key (HTTP {status}): {body}"),
        ),
        _ => Error::new(
            ErrorCode::LlmHttp,
            format!("{provider} answered HTTP {status}: {body}"),
        ),
    }
}

pub(super) fn llm_error(e: LLMError, provider: &str) -> Error {
    match e {
        LLMError::ResponseFormatError {
            message,
            raw_response,
        } => match status_in(&message) {
            Some(status) => status_error(status, provider, &raw_response),
            None => Error::new(
                ErrorCode::LlmBadReply,
                format!("{provider} sent a reply that could not be read: {message}"),
            ),
        },
        LLMError::HttpError(text) if text.contains("timed out") || text.contains("timeout") => {
            Error::new(
                ErrorCode::LlmTimeout,
                format!("no reply from {provider} in time: {text}"),
            )
        }
        LLMError::HttpError(text) => match status_in(&text) {
            Some(status) => status_error(status, provider, &text),
            None => Error::new(
                ErrorCode::LlmHttp,
                format!("cannot reach {provider}: {text}"),
            ),
        },
        LLMError::AuthError(text) => {
            Error::new(ErrorCode::LlmConfig, format!("{provider}: {text}"))
        }
        LLMError::JsonError(text) => Error::new(
            ErrorCode::LlmBadReply,
            format!("{provider} sent JSON that could not be read: {text}"),
        ),
        other => Error::new(ErrorCode::LlmHttp, format!("{provider}: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_in_llm_error_text_map_to_codes() {
        let e = llm_error(
            LLMError::ResponseFormatError {
                message: "Groq API returned error status: 429 Too Many Requests".into(),
                raw_response: "slow down".into(),
            },
            "local",
        );
        assert_eq!(e.code, ErrorCode::LlmRateLimited);
        let e = llm_error(
            LLMError::ResponseFormatError {
                message: "Groq API returned error status: 503 Service Unavailable".into(),
                raw_response: "".into(),
            },
            "local",
        );
        assert_eq!(e.code, ErrorCode::LlmHttp);
        assert!(e.message.contains("503"), "{}", e.message);
        let e = llm_error(
            LLMError::ResponseFormatError {
                message: "Failed to decode Groq API response: expected value".into(),
                raw_response: "{".into(),
            },
            "local",
        );
        assert_eq!(e.code, ErrorCode::LlmBadReply);
    }
}
