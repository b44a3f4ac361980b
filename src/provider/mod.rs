//! The seam over the `llm` crate: which provider and model a call goes to,
//! per-call options that `llm` fixes when a provider is built, and the
//! known defects of `llm` 1.3.8 routed around (each listed in UPSTREAM.md
//! with a test). Record and replay sit here too ([`cassette`]).
//!
//! Nothing here knows about engines or script values, and no API key ever
//! leaves this module: not in requests we record, events, logs or errors.

pub mod cassette;
mod convert;
mod stream;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use llm::builder::{LLMBackend, LLMBuilder};
use llm::chat::StructuredOutputFormat;
use llm::LLMProvider;
use serde::{Deserialize, Serialize};

use crate::config::{Config, ProviderConfig};
use crate::error::{Error, ErrorCode, Result};
pub use cassette::{
    cassette_text, parse_cassette, Cassette, CassetteMode, ErrorData, Exchange, MODEL_OPS,
};

/// A call's time limit unless the provider or the call says otherwise.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// What an API key becomes in any text that leaves the provider seam.
pub const REDACTED: &str = "[redacted]";

/// One message of a conversation, as the spell API has it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: String,
    #[serde(default)]
    pub content: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

/// A tool call the model asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    /// Parsed JSON; the raw text when the model sent something else.
    pub arguments: serde_json::Value,
}

/// A tool offered to the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    pub params: serde_json::Value,
}

/// One model call, with every option resolved. This is also what a
/// cassette records as the request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    /// `"provider/model"`.
    pub model: String,
    pub messages: Vec<Message>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ToolSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stream: bool,
}

/// What came back.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatReply {
    pub text: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// For streams: the pieces as they arrived.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chunks: Vec<String>,
}

/// How a provider is reached.
#[derive(Debug, Clone)]
struct Provider {
    name: String,
    kind: String,
    backend: LLMBackend,
    /// Set for servers that speak OpenAI's chat completions, which our own
    /// streaming reader uses (llm's corrupts UTF-8 split across chunks).
    chat_completions_url: Option<String>,
    /// `chat_completions_url` parsed once, not per call (where it parses).
    chat_url: Option<reqwest::Url>,
    base_url: Option<String>,
    key: String,
    /// `Authorization: Bearer key`, made once (where the key makes one).
    auth: Option<reqwest::header::HeaderValue>,
    model: Option<String>,
    timeout: Duration,
}

impl Provider {
    /// A call made by our own HTTP to `url` of this provider.
    fn call<'a>(
        &'a self,
        url: &'a str,
        model: &'a str,
        idle: Duration,
        max_reply: usize,
    ) -> stream::Call<'a> {
        stream::Call {
            client: client(),
            url,
            parsed: None,
            key: &self.key,
            auth: self.auth.as_ref(),
            model,
            idle,
            max_reply,
        }
    }

    /// A call to this provider's own chat-completions URL, parsed once
    /// when the provider was built; `None` for a kind `llm` speaks to.
    fn chat_call<'a>(
        &'a self,
        model: &'a str,
        idle: Duration,
        max_reply: usize,
    ) -> Option<stream::Call<'a>> {
        let url = self.chat_completions_url.as_deref()?;
        Some(stream::Call {
            parsed: self.chat_url.as_ref(),
            ..self.call(url, model, idle, max_reply)
        })
    }
}

/// The providers of one project, built from `llmspell.toml` and the
/// environment; shared by the runs of a runtime.
pub struct Models {
    providers: BTreeMap<String, Provider>,
    default_model: Option<String>,
    embed_model: Option<String>,
    aliases: BTreeMap<String, String>,
    /// Configuration problems, reported when a call needs the provider.
    problems: BTreeMap<String, String>,
}

/// The environment variables used when `llmspell.toml` names no provider:
/// `(provider name and kind, key variable)`.
const ENV_PROVIDERS: [(&str, &str); 10] = [
    ("openai", "OPENAI_API_KEY"),
    ("anthropic", "ANTHROPIC_API_KEY"),
    ("google", "GOOGLE_API_KEY"),
    ("groq", "GROQ_API_KEY"),
    ("deepseek", "DEEPSEEK_API_KEY"),
    ("xai", "XAI_API_KEY"),
    ("mistral", "MISTRAL_API_KEY"),
    ("openrouter", "OPENROUTER_API_KEY"),
    ("cohere", "COHERE_API_KEY"),
    ("azure_openai", "AZURE_OPENAI_API_KEY"),
];

impl Models {
    pub fn from_config(config: &Config) -> Models {
        let mut providers = BTreeMap::new();
        let mut problems = BTreeMap::new();
        let mut configured = config.providers.clone();
        if configured.is_empty() {
            for (name, var) in ENV_PROVIDERS {
                if std::env::var_os(var).is_some() {
                    configured.insert(
                        name.into(),
                        ProviderConfig {
                            kind: name.into(),
                            api_key_env: Some(var.into()),
                            ..ProviderConfig::default()
                        },
                    );
                }
            }
            if let Some(host) = std::env::var_os("OLLAMA_HOST") {
                configured.insert(
                    "ollama".into(),
                    ProviderConfig {
                        kind: "ollama".into(),
                        base_url: Some(host.to_string_lossy().into_owned()),
                        ..ProviderConfig::default()
                    },
                );
            }
        }
        for (name, pc) in configured {
            match provider(&name, &pc) {
                Ok(p) => {
                    providers.insert(name, p);
                }
                Err(e) => {
                    problems.insert(name, e);
                }
            }
        }
        Models {
            providers,
            default_model: config.defaults.model.clone(),
            embed_model: config.defaults.embed_model.clone(),
            aliases: config.models.clone(),
            problems,
        }
    }

    /// `"provider/model"` for what a call asked (`None`: the default).
    pub fn resolve(&self, asked: Option<&str>, embed: bool) -> Result<String> {
        let fallback = if embed {
            self.embed_model.as_ref().or(self.default_model.as_ref())
        } else {
            self.default_model.as_ref()
        };
        let name = match asked.or(fallback.map(String::as_str)) {
            Some(n) => n.to_owned(),
            None if self.providers.len() == 1 => {
                let (name, p) = self.providers.iter().next().expect("one provider");
                match &p.model {
                    Some(m) => format!("{name}/{m}"),
                    None => name.clone(),
                }
            }
            None => return Err(no_model(self.providers.keys())),
        };
        let name = self.aliases.get(&name).cloned().unwrap_or(name);
        let (provider, model) = match name.split_once('/') {
            Some((p, m)) => (p.to_owned(), Some(m.to_owned())),
            None => (name.clone(), None),
        };
        let p = self.provider(&provider)?;
        let model = model.or_else(|| p.model.clone()).ok_or_else(|| {
            Error::new(
                ErrorCode::LlmConfig,
                format!(
                    "no model named for provider {provider}: write \"{provider}/MODEL\" or set \
                     model in [providers.{provider}]"
                ),
            )
        })?;
        Ok(format!("{provider}/{model}"))
    }

    fn provider(&self, name: &str) -> Result<&Provider> {
        if let Some(problem) = self.problems.get(name) {
            return Err(Error::new(ErrorCode::LlmConfig, problem.clone()));
        }
        self.providers.get(name).ok_or_else(|| {
            Error::new(
                ErrorCode::LlmConfig,
                format!(
                    "no provider {name:?}; configured: {}. Add [providers.{name}] to llmspell.toml",
                    list(self.providers.keys())
                ),
            )
        })
    }

    /// The time limit of a call: the call's own, else the provider's.
    pub fn timeout(&self, model: &str, asked: Option<Duration>) -> Duration {
        let provider = model.split_once('/').map_or(model, |(p, _)| p);
        asked.unwrap_or_else(|| {
            self.providers
                .get(provider)
                .map_or(DEFAULT_TIMEOUT, |p| p.timeout)
        })
    }

    /// API keys, so that text from a provider can be cleaned of them.
    pub fn secrets(&self) -> Vec<String> {
        self.providers
            .values()
            .map(|p| p.key.clone())
            .filter(|k| k.len() >= 8)
            .collect()
    }

    /// `text` with every API key this project uses replaced by
    /// `[redacted]`: what a provider sends back (an error body that
    /// echoes the `Authorization` header, a reply that quotes it) never
    /// carries a key further.
    pub fn scrub<'t>(&self, text: &'t str) -> std::borrow::Cow<'t, str> {
        let mut out = std::borrow::Cow::Borrowed(text);
        for p in self.providers.values() {
            if p.key.len() >= 8 && out.contains(p.key.as_str()) {
                out = std::borrow::Cow::Owned(out.replace(p.key.as_str(), REDACTED));
            }
        }
        out
    }

    /// [`Models::scrub`] of `text`, in place.
    fn scrub_string(&self, text: &mut String) {
        if let std::borrow::Cow::Owned(clean) = self.scrub(text) {
            *text = clean;
        }
    }

    /// [`Models::scrub`] over every text of a reply, in place.
    pub fn scrub_reply(&self, reply: &mut ChatReply) {
        self.scrub_string(&mut reply.text);
        for call in &mut reply.tool_calls {
            self.scrub_string(&mut call.id);
            self.scrub_string(&mut call.name);
            self.scrub_json(&mut call.arguments);
        }
        reply.chunks.iter_mut().for_each(|c| self.scrub_string(c));
    }

    /// [`Models::scrub`] over every string in a JSON value.
    pub fn scrub_json(&self, v: &mut serde_json::Value) {
        match v {
            serde_json::Value::String(text) => self.scrub_string(text),
            serde_json::Value::Array(items) => items.iter_mut().for_each(|i| self.scrub_json(i)),
            serde_json::Value::Object(map) => {
                let dirty: Vec<String> = map
                    .keys()
                    .filter(|k| matches!(self.scrub(k), std::borrow::Cow::Owned(_)))
                    .cloned()
                    .collect();
                for k in dirty {
                    if let Some(item) = map.remove(&k) {
                        map.insert(self.scrub(&k).into_owned(), item);
                    }
                }
                map.values_mut().for_each(|i| self.scrub_json(i));
            }
            _ => {}
        }
    }

    /// One chat call, live, its reply no larger than `max_reply` bytes
    /// where llmspell reads it (chat-completions kinds). Runs on the I/O
    /// runtime.
    pub async fn chat(self: Arc<Self>, req: ChatRequest, max_reply: usize) -> Result<ChatReply> {
        let (provider, model) = self.split(&req.model)?;
        if let Some(call) = provider.chat_call(model, provider.timeout, max_reply) {
            return stream::chat_once(call, &req).await;
        }
        let built = self.built(provider, model, &req)?;
        let messages = convert::to_llm_messages(&req.messages);
        let tools = convert::to_llm_tools(&req.tools);
        let out = if tools.is_empty() {
            built.chat(&messages).await
        } else {
            built.chat_with_tools(&messages, Some(&tools)).await
        };
        let reply = out.map_err(|e| convert::llm_error(e, &provider.name))?;
        Ok(convert::from_llm_reply(reply.as_ref()))
    }

    /// One streamed chat call, live: each piece goes to `pieces` as it
    /// arrives. The reply holds the whole text.
    pub async fn stream(
        self: Arc<Self>,
        req: ChatRequest,
        pieces: tokio::sync::mpsc::UnboundedSender<String>,
        idle: Duration,
        max_reply: usize,
    ) -> Result<ChatReply> {
        let (provider, model) = self.split(&req.model)?;
        match provider.chat_call(model, idle, max_reply) {
            Some(call) => stream::chat_completions(call, &req, pieces).await,
            None => {
                let built = self.built(provider, model, &req)?;
                let messages = convert::to_llm_messages(&req.messages);
                stream::through_llm(built, messages, &provider.name, pieces, max_reply).await
            }
        }
    }

    /// Embeddings, live; from a chat-completions server read no further
    /// than `max_reply` bytes.
    pub async fn embed(
        self: Arc<Self>,
        model: String,
        texts: Vec<String>,
        max_reply: usize,
    ) -> Result<Vec<Vec<f32>>> {
        let (provider, model) = self.split(&model)?;
        if let (Some(_), Some(base)) = (&provider.chat_completions_url, &provider.base_url) {
            let url = format!("{base}/embeddings");
            let call = provider.call(&url, model, provider.timeout, max_reply);
            return stream::embeddings(call, &provider.name, &texts).await;
        }
        let mut b = LLMBuilder::new()
            .backend(provider.backend.clone())
            .api_key(provider.key.clone())
            .model(model)
            .timeout_seconds(provider.timeout.as_secs().max(1));
        if let Some(url) = embed_base(provider) {
            b = b.base_url(url);
        }
        let built = b
            .build()
            .map_err(|e| convert::llm_error(e, &provider.name))?;
        built
            .embed(texts)
            .await
            .map_err(|e| convert::llm_error(e, &provider.name))
    }

    fn split<'m>(&self, model: &'m str) -> Result<(&Provider, &'m str)> {
        let (p, m) = model.split_once('/').ok_or_else(|| {
            Error::new(ErrorCode::LlmConfig, format!("{model}: not provider/model"))
        })?;
        Ok((self.provider(p)?, m))
    }

    /// `llm` fixes model, temperature, max_tokens, system and schema when a
    /// provider is built: one built provider per distinct set, kept for
    /// every run in the process, so runs after the first reuse its HTTP
    /// client and its open connections.
    fn built(&self, p: &Provider, model: &str, req: &ChatRequest) -> Result<Arc<dyn LLMProvider>> {
        let system = convert::system_prompt(req);
        // Everything the built provider depends on; the key only as a hash.
        let mut key_hash = std::collections::hash_map::DefaultHasher::new();
        std::hash::Hash::hash(&p.key, &mut key_hash);
        let key = serde_json::json!([
            p.kind,
            p.base_url,
            std::hash::Hasher::finish(&key_hash),
            p.timeout.as_secs_f64(),
            model,
            req.temperature,
            req.max_tokens,
            system,
            req.schema
        ])
        .to_string();
        static BUILT: OnceLock<Mutex<HashMap<String, Arc<dyn LLMProvider>>>> = OnceLock::new();
        let mut built = BUILT
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(b) = built.get(&key) {
            return Ok(b.clone());
        }
        let mut b = LLMBuilder::new()
            .backend(p.backend.clone())
            .api_key(p.key.clone())
            .model(model)
            // Our own timeout bounds the call; this one only backs it up.
            .timeout_seconds(p.timeout.as_secs().max(1) + 5);
        if let Some(url) = &p.base_url {
            b = b.base_url(url.clone());
        }
        if let Some(t) = req.temperature {
            b = b.temperature(t);
        }
        if let Some(n) = req.max_tokens {
            b = b.max_tokens(n);
        }
        if let Some(s) = system {
            b = b.system(s);
        }
        if let Some(schema) = &req.schema {
            b = b.schema(StructuredOutputFormat {
                name: "reply".into(),
                description: None,
                schema: Some(schema.clone()),
                strict: None,
            });
        }
        let provider: Arc<dyn LLMProvider> =
            Arc::from(b.build().map_err(|e| convert::llm_error(e, &p.name))?);
        if built.len() >= 64 {
            built.clear();
        }
        built.insert(key, provider.clone());
        Ok(provider)
    }
}

/// The HTTP client for llmspell's own requests (streams), shared by every
/// run in the process.
fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(reqwest::Client::new)
}

fn list<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let v: Vec<&str> = names.map(String::as_str).collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

fn no_model<'a>(names: impl Iterator<Item = &'a String>) -> Error {
    Error::new(
        ErrorCode::LlmConfig,
        format!(
            "no model given and no default: pass opts.model = \"provider/model\" or set \
             [defaults] model in llmspell.toml (providers: {}). Without an API key, \
             scripts/local-model.sh start serves a local model",
            list(names)
        ),
    )
}

/// Kinds that speak OpenAI's chat completions, with their usual base URL.
fn chat_completions_base(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "openai" => "https://api.openai.com/v1",
        "openai_compatible" => "",
        "ollama" => "http://127.0.0.1:11434",
        "groq" => "https://api.groq.com/openai/v1",
        "openrouter" => "https://openrouter.ai/api/v1",
        "deepseek" => "https://api.deepseek.com/v1",
        "xai" => "https://api.x.ai/v1",
        "mistral" => "https://api.mistral.ai/v1",
        _ => return None,
    })
}

fn provider(name: &str, pc: &ProviderConfig) -> std::result::Result<Provider, String> {
    let kind = pc.kind.replace('-', "_");
    let known = [
        "openai",
        "openai_compatible",
        "ollama",
        "anthropic",
        "google",
        "groq",
        "deepseek",
        "xai",
        "mistral",
        "openrouter",
        "cohere",
        "azure_openai",
    ];
    if !known.contains(&kind.as_str()) {
        return Err(format!(
            "[providers.{name}] kind {:?} is not one of {}",
            pc.kind,
            known.join(", ")
        ));
    }
    // llm panics inside build() on a base URL it cannot parse: check first.
    if let Some(url) = &pc.base_url {
        match reqwest::Url::parse(url) {
            Ok(u) if u.scheme() == "http" || u.scheme() == "https" => {}
            _ => {
                return Err(format!(
                    "[providers.{name}] base_url {url:?} is not an http(s) URL"
                ))
            }
        }
    }
    // llm's anthropic backend ignores base_url: refuse rather than call
    // the real API when the user meant another server.
    if kind == "anthropic" && pc.base_url.is_some() {
        return Err(format!(
            "[providers.{name}] kind anthropic cannot take a base_url (the llm crate ignores \
             it, see UPSTREAM.md); for an Anthropic-compatible server use kind \
             openai_compatible if it speaks /v1/chat/completions"
        ));
    }
    let key = match &pc.api_key_env {
        Some(var) => match std::env::var(var) {
            Ok(k) if !k.is_empty() => k,
            _ => {
                return Err(format!(
                    "[providers.{name}] needs an API key in the environment variable {var}, \
                     which is not set"
                ))
            }
        },
        None if matches!(kind.as_str(), "openai_compatible" | "ollama") => {
            // llm refuses an empty key; local servers ignore this one.
            "none".into()
        }
        None => {
            return Err(format!(
                "[providers.{name}] needs api_key_env, the environment variable with its key"
            ))
        }
    };
    let mut base = pc.base_url.clone();
    let mut chat_completions_url = None;
    let backend = match chat_completions_base(&kind) {
        Some(default) => {
            let mut url = base.clone().unwrap_or_else(|| default.to_owned());
            if url.is_empty() {
                return Err(format!(
                    "[providers.{name}] kind openai_compatible needs base_url (for example \
                     http://127.0.0.1:8088/v1)"
                ));
            }
            // Ollama's own API breaks streaming and tool messages in llm:
            // reach it through its OpenAI-compatible /v1 instead.
            if kind == "ollama" && !url.trim_end_matches('/').ends_with("/v1") {
                url = format!("{}/v1", url.trim_end_matches('/'));
            }
            let url = url.trim_end_matches('/').to_owned();
            chat_completions_url = Some(format!("{url}/chat/completions"));
            base = Some(url);
            // llm's openai backend speaks the Responses API, which breaks on
            // conversations with earlier assistant turns; its groq backend
            // is a plain chat-completions client that takes any base URL.
            LLMBackend::Groq
        }
        None => kind
            .replace('_', "-")
            .parse::<LLMBackend>()
            .map_err(|e| format!("[providers.{name}]: {e}"))?,
    };
    let chat_url = chat_completions_url
        .as_deref()
        .and_then(|u| reqwest::Url::parse(u).ok());
    let auth = bearer(&key);
    Ok(Provider {
        name: name.to_owned(),
        kind,
        backend,
        chat_completions_url,
        chat_url,
        base_url: base,
        key,
        auth,
        model: pc.model.clone(),
        timeout: pc
            .timeout_secs
            .filter(|s| *s > 0.0)
            .map_or(DEFAULT_TIMEOUT, Duration::from_secs_f64),
    })
}

/// `Bearer key` as a sensitive header, if the key can be one.
fn bearer(key: &str) -> Option<reqwest::header::HeaderValue> {
    let mut v = reqwest::header::HeaderValue::from_str(&format!("Bearer {key}")).ok()?;
    v.set_sensitive(true);
    Some(v)
}

fn embed_base(p: &Provider) -> Option<String> {
    p.base_url.clone().map(|u| format!("{u}/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn built(kind: &str, base_url: Option<&str>) -> Provider {
        let pc = ProviderConfig {
            kind: kind.into(),
            base_url: base_url.map(str::to_owned),
            api_key_env: Some("PATH".into()),
            ..ProviderConfig::default()
        };
        provider("p", &pc).unwrap_or_else(|e| panic!("{kind}: {e}"))
    }

    #[test]
    fn a_reply_is_scrubbed_of_keys_wherever_it_holds_text() {
        let p = built("openai", None);
        let key = p.key.clone();
        assert!(key.len() >= 8, "PATH is the test's key");
        let models = Models {
            providers: [("p".to_owned(), p)].into(),
            default_model: None,
            embed_model: None,
            aliases: BTreeMap::new(),
            problems: BTreeMap::new(),
        };
        let mut reply = ChatReply {
            text: format!("a {key} b"),
            tool_calls: vec![ToolCall {
                id: key.clone(),
                name: format!("n{key}"),
                arguments: serde_json::json!({ key.clone(): [key.clone()], "k": "v" }),
            }],
            chunks: vec![key.clone(), "x".into()],
            ..ChatReply::default()
        };
        models.scrub_reply(&mut reply);
        let all = serde_json::to_string(&reply).unwrap();
        assert!(!all.contains(&key), "{all}");
        assert_eq!(reply.text, "a [redacted] b");
        assert_eq!(reply.tool_calls[0].name, "n[redacted]");
        assert_eq!(reply.tool_calls[0].arguments["[redacted]"][0], "[redacted]");
        assert_eq!(reply.tool_calls[0].arguments["k"], "v");
        assert_eq!(reply.chunks, ["[redacted]", "x"]);
    }

    #[test]
    fn a_provider_parses_its_url_and_makes_its_auth_header_once() {
        let p = built("openai_compatible", Some("http://127.0.0.1:9/v1/"));
        let url = p.chat_completions_url.as_deref().unwrap();
        assert_eq!(p.chat_url.as_ref().map(reqwest::Url::as_str), Some(url));
        let auth = p.auth.as_ref().unwrap();
        assert!(auth.is_sensitive(), "kept out of reqwest's debug output");
        assert_eq!(auth.to_str().unwrap(), format!("Bearer {}", p.key));
        // The call uses them for its own URL only.
        let call = p.chat_call("m", Duration::from_secs(1), 1).unwrap();
        assert_eq!(call.url, url);
        assert!(call.parsed.is_some() && call.auth.is_some());
        let other = p.call(
            "http://127.0.0.1:9/v1/embeddings",
            "m",
            Duration::from_secs(1),
            1,
        );
        assert!(other.parsed.is_none());
        // A key no header can carry leaves the header to be made (and
        // refused, as a coded error) per call, as before.
        assert!(bearer("bad\nkey").is_none());
    }

    #[test]
    fn chat_completions_kinds_go_to_their_own_service_by_default() {
        for (kind, want) in [
            ("openai", "https://api.openai.com/v1/chat/completions"),
            ("groq", "https://api.groq.com/openai/v1/chat/completions"),
            (
                "openrouter",
                "https://openrouter.ai/api/v1/chat/completions",
            ),
            ("deepseek", "https://api.deepseek.com/v1/chat/completions"),
            ("xai", "https://api.x.ai/v1/chat/completions"),
            ("mistral", "https://api.mistral.ai/v1/chat/completions"),
            ("ollama", "http://127.0.0.1:11434/v1/chat/completions"),
        ] {
            let p = built(kind, None);
            assert_eq!(p.chat_completions_url.as_deref(), Some(want), "{kind}");
            // Non-streamed calls go through llm with the same base URL.
            assert_eq!(
                p.base_url.as_deref(),
                want.strip_suffix("/chat/completions"),
                "{kind}"
            );
        }
        let p = built("ollama", Some("http://gpu-box:11434/"));
        assert_eq!(p.base_url.as_deref(), Some("http://gpu-box:11434/v1"));
        assert!(built("anthropic", None).chat_completions_url.is_none());
    }
}
