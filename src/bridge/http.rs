//! `http.request`: any HTTP call to a host on `[capabilities] net`, every
//! redirect hop checked against the list too. A URL's host is what the
//! `url` crate reads it as (IP spellings such as `0x7f.1` are the address
//! they spell), userinfo is refused, and an address that is loopback,
//! private, link-local or otherwise not public (whether a literal or what
//! a name resolves to) is reached only when the list names that host
//! exactly. `auth = "NAME"` attaches `[secrets.NAME]` on the host side:
//! the spell, its events, logs, journal and history only ever hold the
//! name, and the secret's value is cut out of what comes back.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::tools::host_allowed;
use crate::config::Config;
use crate::error::{Error, ErrorCode, Result};
use crate::session::{Args, Bridge, Registry, Shape, Task};
use crate::value::{Map, Value};

/// A body is at most this unless `max_bytes` says less; no call may ask
/// for more than `MAX_BODY`.
const DEFAULT_BODY: usize = 4 << 20;
const MAX_BODY: usize = 64 << 20;
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const MAX_REDIRECTS: usize = 10;

pub(super) fn register(r: &mut Registry) {
    r.add_shape(Shape {
        name: "HttpRequest",
        doc: "an HTTP request (one of body, json and form)",
        fields: "method?: string, url: string, headers?: map, query?: map, body?: string, json?: any, form?: map, timeout_ms?: integer, max_bytes?: integer, auth?: string",
    });
    r.add_shape(Shape {
        name: "HttpResponse",
        doc: "an HTTP response: json is there when the body is JSON",
        fields: "status: integer, headers: map, body: string, json?: any",
    });
    r.add(Bridge::waiting(
        "http.request",
        "req: HttpRequest",
        "HttpResponse",
        "an HTTP request to a host on [capabilities] net (every redirect hop checked; \
         loopback and private addresses only when named exactly); method (GET), headers, \
         query, one of body (text), json (sent as JSON) or form (sent as a form), timeout_ms \
         (30000), max_bytes (4 MiB; a bigger body is http.too_large), auth (the name of a \
         [secrets.NAME] the host attaches; the spell never sees it)",
        |task, args| async move { request(&task, &args).await },
    ));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Req {
    #[serde(default)]
    method: Option<String>,
    url: String,
    #[serde(default)]
    headers: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    query: std::collections::BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    json: Option<serde_json::Value>,
    #[serde(default)]
    form: Option<std::collections::BTreeMap<String, serde_json::Value>>,
    #[serde(default)]
    timeout_ms: Option<u64>,
    #[serde(default)]
    max_bytes: Option<u64>,
    #[serde(default)]
    auth: Option<String>,
}

fn denied(message: String) -> Error {
    Error::new(ErrorCode::SandboxDenied, format!("http.request: {message}"))
}

fn failed(message: String) -> Error {
    Error::new(ErrorCode::HttpFailed, format!("http.request: {message}"))
}

/// A query or form value as text.
fn text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Whether an address is one only a host named exactly may reach.
fn not_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                // Shared address space (carrier-grade NAT), 100.64.0.0/10.
                || (a == 100 && (64..128).contains(&b))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return not_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                // Unique local fc00::/7, link-local fe80::/10.
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
        }
    }
}

/// The host a URL reaches, checked against the allow-list: `Ok(host)`, or
/// why not. An IP literal that is not public passes only when the list
/// holds it exactly.
fn check_url(url: &reqwest::Url, allow: &[String]) -> std::result::Result<String, String> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("{:?} is not http or https", url.scheme()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("a URL with a user name or password is refused; use auth".into());
    }
    let host = match url.host() {
        Some(url::Host::Domain(d)) => d.trim_end_matches('.').to_ascii_lowercase(),
        Some(url::Host::Ipv4(ip)) => ip.to_string(),
        Some(url::Host::Ipv6(ip)) => ip.to_string(),
        None => return Err("the URL has no host".into()),
    };
    let named = allow.iter().any(|a| a.eq_ignore_ascii_case(&host));
    let address = host.parse::<IpAddr>().is_ok();
    if address && !named {
        return Err(format!(
            "{host} is an address; only addresses listed exactly in [capabilities] net are reached"
        ));
    }
    if !address && !host_allowed(&host, allow) {
        return Err(format!(
            "{host:?} is not in [capabilities] net (now: {allow:?})"
        ));
    }
    Ok(host)
}

/// Resolves names as the system does, and keeps only the addresses a name
/// may reach: a name not listed exactly reaches public addresses only (so
/// a listed domain that resolves to 127.0.0.1 is refused).
struct Resolver {
    allow: Arc<Vec<String>>,
}

impl reqwest::dns::Resolve for Resolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow = self.allow.clone();
        Box::pin(async move {
            let host = name.as_str().trim_end_matches('.').to_ascii_lowercase();
            let lookup = host.clone();
            let found: Vec<SocketAddr> = tokio::task::spawn_blocking(move || {
                use std::net::ToSocketAddrs;
                (lookup.as_str(), 0)
                    .to_socket_addrs()
                    .map(Iterator::collect)
            })
            .await
            .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)??;
            let named = allow.iter().any(|a| a.eq_ignore_ascii_case(&host));
            let kept: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| named || !not_public(a.ip()))
                .collect();
            if kept.is_empty() {
                let e = std::io::Error::other(format!(
                    "{host} resolves only to addresses that are not public; \
                     list it exactly in [capabilities] net to reach them"
                ));
                return Err(Box::new(e) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(kept.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// A secret `auth` named, as this request sends it.
pub(super) struct Secret {
    name: String,
    /// The header it goes in, and that header's value (prefix and all).
    header: String,
    sent: String,
    /// The value alone, as the environment holds it.
    value: String,
    /// The hosts it may go to.
    hosts: Vec<String>,
}

impl Secret {
    /// The header it goes in, with its value.
    pub(super) fn header_pair(
        &self,
    ) -> Option<(reqwest::header::HeaderName, reqwest::header::HeaderValue)> {
        let name = reqwest::header::HeaderName::from_bytes(self.header.as_bytes()).ok()?;
        let mut value = reqwest::header::HeaderValue::from_str(&self.sent).ok()?;
        value.set_sensitive(true);
        Some((name, value))
    }
}

/// The secret `auth` names, for `host`.
pub(super) fn secret(config: &Config, name: &str, host: &str) -> Result<Secret> {
    let s = config.secrets.get(name).ok_or_else(|| {
        Error::new(
            ErrorCode::ConfigInvalid,
            format!("auth {name:?}: no [secrets.{name}] in llmspell.toml"),
        )
    })?;
    if !host_allowed(host, &s.hosts) {
        return Err(denied(format!(
            "secret {name:?} may go only to {:?}, not {host:?}",
            s.hosts
        )));
    }
    let value = std::env::var(&s.env).map_err(|_| {
        Error::new(
            ErrorCode::ConfigInvalid,
            format!("secret {name:?} is in ${}, which is not set", s.env),
        )
    })?;
    let sent = match s.prefix.as_str() {
        "" => value.clone(),
        p => format!("{p} {value}"),
    };
    Ok(Secret {
        name: name.to_owned(),
        header: s.header.clone(),
        sent,
        value,
        hosts: s.hosts.clone(),
    })
}

async fn request(task: &Task, args: &Args) -> Result<Value> {
    let req: Req = serde_json::from_value(args.json(0)?)
        .map_err(|e| args.error(format!("the request: {e}")))?;
    super::tools::journaled(&task.session, "http", args.json(0)?, send(task, req)).await
}

/// The built-in tool `http_get`: a GET through the same checks,
/// `{status, body}` (the tool's own journal keeps it).
pub(super) async fn get(task: &Task, url: String) -> Result<Value> {
    let Value::Map(mut r) = fetch(task, url).await? else {
        return Err(failed("no response".into()));
    };
    let mut out = Map::new();
    for k in ["status", "body"] {
        out.insert(k.into(), r.remove(k).unwrap_or(Value::Null));
    }
    Ok(Value::Map(out))
}

/// A GET with `http.request`'s checks: `{status, headers, body}`.
pub(super) async fn fetch(task: &Task, url: String) -> Result<Value> {
    let req = Req {
        method: None,
        url,
        headers: Default::default(),
        query: Default::default(),
        body: None,
        json: None,
        form: None,
        timeout_ms: None,
        max_bytes: None,
        auth: None,
    };
    send(task, req).await
}

fn bad(message: String) -> Error {
    Error::new(ErrorCode::ArgsInvalid, format!("http.request: {message}"))
}

async fn send(task: &Task, req: Req) -> Result<Value> {
    let allow = Arc::new(task.session.config().capabilities.net.clone());
    let mut url =
        reqwest::Url::parse(&req.url).map_err(|e| bad(format!("url {:?}: {e}", req.url)))?;
    if !req.query.is_empty() {
        let mut pairs = url.query_pairs_mut();
        for (k, v) in &req.query {
            pairs.append_pair(k, &text(v));
        }
    }
    let host = check_url(&url, &allow).map_err(denied)?;
    let method = req.method.as_deref().unwrap_or("GET").to_ascii_uppercase();
    let method = reqwest::Method::from_bytes(method.as_bytes())
        .map_err(|_| bad(format!("method {method:?} is not an HTTP method")))?;
    let bodies = [req.body.is_some(), req.json.is_some(), req.form.is_some()];
    if bodies.iter().filter(|b| **b).count() > 1 {
        return Err(bad("give one of body, json and form".into()));
    }
    let max = match req.max_bytes {
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX).min(MAX_BODY),
        None => DEFAULT_BODY,
    };
    let timeout = req
        .timeout_ms
        .map_or(DEFAULT_TIMEOUT, Duration::from_millis);
    let secret = match &req.auth {
        Some(name) => Some(secret(task.session.config(), name, &host)?),
        None => None,
    };
    let hops = allow.clone();
    // A secret's header goes only to its hosts: a redirect elsewhere would
    // carry it (an Authorization header reqwest drops; any other it keeps).
    let secret_hosts = secret.as_ref().map(|s| (s.name.clone(), s.hosts.clone()));
    let policy = reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() >= MAX_REDIRECTS {
            return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
        }
        match (check_url(attempt.url(), &hops), &secret_hosts) {
            (Ok(host), Some((name, hosts))) if !host_allowed(&host, hosts) => attempt.error(
                format!("a redirect to {host} would carry secret {name:?} off its hosts"),
            ),
            (Ok(_), _) => attempt.follow(),
            (Err(why), _) => {
                let to = attempt.url().to_string();
                attempt.error(format!("a redirect to {to}: {why}"))
            }
        }
    });
    let client = reqwest::Client::builder()
        .redirect(policy)
        .dns_resolver(Arc::new(Resolver {
            allow: allow.clone(),
        }))
        .timeout(timeout)
        .build()
        .map_err(|e| failed(e.to_string()))?;
    let mut builder = client.request(method, url);
    for (k, v) in &req.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    if let Some(s) = &secret {
        let (name, value) = s.header_pair().ok_or_else(|| {
            Error::new(
                ErrorCode::ConfigInvalid,
                format!(
                    "http.request: secret {:?} is not a valid HTTP header",
                    s.name
                ),
            )
        })?;
        builder = builder.header(name, value);
    }
    builder = match (&req.body, &req.json, &req.form) {
        (Some(b), _, _) => builder.body(b.clone()),
        (_, Some(j), _) => builder
            .header("content-type", "application/json")
            .body(j.to_string()),
        (_, _, Some(f)) => {
            let pairs: Vec<(String, String)> =
                f.iter().map(|(k, v)| (k.clone(), text(v))).collect();
            let encoded = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs)
                .finish();
            builder
                .header("content-type", "application/x-www-form-urlencoded")
                .body(encoded)
        }
        _ => builder,
    };
    let fetch = async move {
        let mut resp = builder.send().await.map_err(|e| Ok(describe(&e)))?;
        let status = resp.status().as_u16();
        let mut headers = std::collections::BTreeMap::<String, String>::new();
        for (k, v) in resp.headers() {
            let v = String::from_utf8_lossy(v.as_bytes()).into_owned();
            headers
                .entry(k.as_str().to_owned())
                .and_modify(|old| {
                    old.push_str(", ");
                    old.push_str(&v);
                })
                .or_insert(v);
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| Ok(describe(&e)))? {
            if body.len() + chunk.len() > max {
                return Err(Err(max));
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status, headers, body))
    };
    let (status, headers, body) = match crate::session::wait::on_io(fetch).await? {
        Ok(got) => got,
        Err(Ok(why)) => return Err(failed(why)),
        Err(Err(max)) => {
            return Err(Error::new(
                ErrorCode::HttpTooLarge,
                format!("http.request: the body is bigger than max_bytes ({max})"),
            ))
        }
    };
    // What comes back never holds the secret, even when a server echoes it.
    let hide = |text: String| match &secret {
        Some(s) if !s.sent.is_empty() => {
            let mark = format!("[secret {}]", s.name);
            let text = text.replace(s.sent.as_str(), &mark);
            // The value alone too, unless too short to tell from text.
            match s.value.len() >= 8 {
                true => text.replace(s.value.as_str(), &mark),
                false => text,
            }
        }
        _ => text,
    };
    let body = hide(String::from_utf8_lossy(&body).into_owned());
    let mut m = Map::new();
    m.insert("status".into(), Value::Int(i64::from(status)));
    let mut h = Map::new();
    for (k, v) in headers {
        h.insert(k, Value::Str(hide(v)));
    }
    let json = headers_json(&h).then(|| serde_json::from_str::<serde_json::Value>(&body).ok());
    m.insert("headers".into(), Value::Map(h));
    if let Some(Some(j)) = json {
        m.insert("json".into(), Value::from_json(&j));
    }
    m.insert("body".into(), Value::Str(body));
    Ok(Value::Map(m))
}

/// Whether the response says its body is JSON.
fn headers_json(h: &Map) -> bool {
    matches!(h.get("content-type"), Some(Value::Str(t)) if t.contains("json"))
}

/// A request error in words: what failed, and the cause underneath.
fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    if e.is_timeout() {
        text.push_str(" (timeout_ms)");
    }
    text
}
