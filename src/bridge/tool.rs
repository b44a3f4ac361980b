//! `tool`: functions a model may call. Tools the spell defines run its own
//! script functions; the built-ins reach the host only as far as the
//! project's `[capabilities]` allow, and fail with `sandbox.denied` beyond.

use std::sync::Arc;
use std::time::Instant;

use futures_util::future::LocalBoxFuture;

use super::files::{denied, failed};
use super::{Bridge, Registry, Task};
use crate::error::{Error, ErrorCode, Result};
use crate::provider::ToolSpec;
use crate::value::{Callback, Map, Value};

/// The most `http_get` returns.
const MAX_BYTES: usize = 4 << 20;

/// What runs when a tool is called.
#[derive(Clone)]
pub(crate) enum Run {
    Script(Callback),
    /// An agent as a tool (`bot:as_tool`): its index.
    Agent(usize),
}

#[derive(Clone)]
pub(crate) struct ToolDef {
    pub name: String,
    pub description: String,
    pub params: serde_json::Value,
    validator: Arc<jsonschema::Validator>,
    pub run: Run,
}

/// The tools one spell defined.
#[derive(Default)]
pub(crate) struct Tools {
    list: Vec<ToolDef>,
}

impl Tools {
    pub fn clear(&mut self) {
        self.list.clear();
    }
}

type BuiltinRun = fn(Task, serde_json::Value) -> LocalBoxFuture<'static, Result<Value>>;

struct Builtin {
    name: &'static str,
    description: &'static str,
    params: &'static str,
    run: BuiltinRun,
}

const BUILTINS: [Builtin; 6] = [
    Builtin {
        name: "calculator",
        description: "evaluates an arithmetic expression: numbers, + - * / % ^, parentheses",
        params: r#"{"type":"object","properties":{"expression":{"type":"string"}},"required":["expression"]}"#,
        run: |_, a| {
            Box::pin(async move { calculate(a["expression"].as_str().unwrap_or_default()) })
        },
    },
    Builtin {
        name: "datetime",
        description: "the current date and time in UTC, RFC 3339 or in a strftime format",
        params: r#"{"type":"object","properties":{"format":{"type":"string"}}}"#,
        run: |_, a| Box::pin(async move { datetime(a["format"].as_str()) }),
    },
    Builtin {
        name: "read_file",
        description: "reads a text file inside the project folder (capability fs)",
        params: r#"{"type":"object","properties":{"path":{"type":"string"}},"required":["path"]}"#,
        run: |t, a| {
            Box::pin(async move {
                super::files::read_file(t.session.config(), a["path"].as_str().unwrap_or_default())
            })
        },
    },
    Builtin {
        name: "write_file",
        description: "writes a text file inside the project folder (capability fs = true)",
        params: r#"{"type":"object","properties":{"path":{"type":"string"},"content":{"type":"string"}},"required":["path","content"]}"#,
        run: |t, a| {
            Box::pin(async move {
                super::files::write_file(
                    t.session.config(),
                    a["path"].as_str().unwrap_or_default(),
                    a["content"].as_str().unwrap_or_default(),
                )
            })
        },
    },
    Builtin {
        name: "list_files",
        description:
            "lists a folder inside the project folder, folders ending in / (capability fs)",
        params: r#"{"type":"object","properties":{"path":{"type":"string"}}}"#,
        run: |t, a| {
            Box::pin(async move {
                super::files::list_files(t.session.config(), a["path"].as_str().unwrap_or("."))
            })
        },
    },
    Builtin {
        name: "http_get",
        description: "fetches a URL from a host in the net allow-list: {status, body}",
        params: r#"{"type":"object","properties":{"url":{"type":"string"}},"required":["url"]}"#,
        run: |t, a| {
            Box::pin(http_get(
                t,
                a["url"].as_str().unwrap_or_default().to_owned(),
            ))
        },
    },
];

fn builtin(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}

fn builtin_params(b: &Builtin) -> serde_json::Value {
    serde_json::from_str(b.params).expect("built-in params are valid JSON")
}

pub(super) fn register(r: &mut Registry) {
    r.add(Bridge::new(
        "tool.define",
        "spec",
        "the tool's handle (its name)",
        "defines a tool from {name, description, params (a JSON schema), run}; run(args) is \
         called with arguments already checked against params",
        |call, args| {
            let spec = args.opt_map(0, "spec")?;
            let name = match spec.get("name") {
                Some(Value::Str(s)) if valid_name(s) => s.clone(),
                _ => return Err(args.error("spec.name must be a name of letters, digits, _ or -")),
            };
            let Some(Value::Func(run)) = spec.get("run") else {
                return Err(args.error("spec.run must be a function"));
            };
            let description = match spec.get("description") {
                Some(Value::Str(s)) => s.clone(),
                None | Some(Value::Null) => String::new(),
                Some(_) => return Err(args.error("spec.description must be a string")),
            };
            let params = match spec.get("params") {
                None | Some(Value::Null) => serde_json::json!({"type": "object", "properties": {}}),
                Some(v @ Value::Map(_)) => v.to_json()?,
                Some(_) => return Err(args.error("spec.params must be a JSON schema map")),
            };
            define(
                call.session,
                name.clone(),
                description,
                params,
                Run::Script(run.clone()),
            )
            .map_err(|e| args.error(e))?;
            Ok(Value::Str(name))
        },
    ));
    r.add(Bridge::waiting(
        "tool.call",
        "name, args?",
        "the tool's result",
        "calls a tool by name with a map of arguments, checked against its params first \
         (args.invalid); emits tool.call and tool.result",
        |task, args| async move {
            let name = args.str(0, "name")?.to_owned();
            let input = match args.get(1) {
                Value::Null => serde_json::json!({}),
                _ => args.json(1)?,
            };
            call_tool(&task, &name, input).await
        },
    ));
    r.add(Bridge::new(
        "tool.list",
        "",
        "[{name, description, params, builtin}]",
        "the built-in tools, then the spell's own, in order of definition",
        |call, _| {
            let mut out: Vec<Value> = BUILTINS
                .iter()
                .map(|b| listing(b.name, b.description, &builtin_params(b), true))
                .collect();
            let tools = call.session.dispatch.tools.borrow();
            out.extend(
                tools
                    .list
                    .iter()
                    .map(|t| listing(&t.name, &t.description, &t.params, false)),
            );
            Ok(Value::Array(out))
        },
    ));
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn listing(name: &str, description: &str, params: &serde_json::Value, builtin: bool) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), Value::str(name));
    m.insert("description".into(), Value::str(description));
    m.insert("params".into(), Value::from_json(params));
    m.insert("builtin".into(), Value::Bool(builtin));
    Value::Map(m)
}

/// Adds or replaces one of the spell's tools.
pub(crate) fn define(
    session: &crate::runtime::Session,
    name: String,
    description: String,
    params: serde_json::Value,
    run: Run,
) -> std::result::Result<(), String> {
    if builtin(&name).is_some() {
        return Err(format!("{name} is a built-in tool; pick another name"));
    }
    let validator = jsonschema::validator_for(&params)
        .map_err(|e| format!("params is not a valid JSON schema: {e}"))?;
    let def = ToolDef {
        name: name.clone(),
        description,
        params,
        validator: Arc::new(validator),
        run,
    };
    let mut tools = session.dispatch.tools.borrow_mut();
    match tools.list.iter_mut().find(|t| t.name == name) {
        Some(slot) => *slot = def,
        None => tools.list.push(def),
    }
    Ok(())
}

/// A tool as a model is offered it.
pub(crate) fn spec(session: &crate::runtime::Session, name: &str) -> Result<ToolSpec> {
    if let Some(b) = builtin(name) {
        return Ok(ToolSpec {
            name: b.name.into(),
            description: b.description.into(),
            params: builtin_params(b),
        });
    }
    let tools = session.dispatch.tools.borrow();
    let t = tools
        .list
        .iter()
        .find(|t| t.name == name)
        .ok_or_else(|| not_found(session, name))?;
    Ok(ToolSpec {
        name: t.name.clone(),
        description: t.description.clone(),
        params: t.params.clone(),
    })
}

fn not_found(session: &crate::runtime::Session, name: &str) -> Error {
    let tools = session.dispatch.tools.borrow();
    let mut names: Vec<&str> = BUILTINS.iter().map(|b| b.name).collect();
    names.extend(tools.list.iter().map(|t| t.name.as_str()));
    Error::new(
        ErrorCode::ToolNotFound,
        format!(
            "no tool named {name:?}; tools: {} (tool.define adds one)",
            names.join(", ")
        ),
    )
}

/// Calls a tool: checks the arguments, emits `tool.call` and
/// `tool.result`, runs it. Agents call tools through here too.
pub(crate) async fn call_tool(task: &Task, name: &str, input: serde_json::Value) -> Result<Value> {
    let session = &task.session;
    // Agents run every tool call a reply holds: each one checks the limits.
    crate::value::Limiter::check(&**session)?;
    let def = session
        .dispatch
        .tools
        .borrow()
        .list
        .iter()
        .find(|t| t.name == name)
        .cloned();
    let builtin = builtin(name);
    let (params, validator) = match (&def, builtin) {
        (Some(d), _) => (d.params.clone(), d.validator.clone()),
        (None, Some(b)) => {
            let p = builtin_params(b);
            let v = jsonschema::validator_for(&p).expect("built-in params are valid schemas");
            (p, Arc::new(v))
        }
        (None, None) => return Err(not_found(session, name)),
    };
    if let Some(e) = validator.iter_errors(&input).next() {
        let at = e.instance_path().as_str().to_owned();
        return Err(Error::new(
            ErrorCode::ArgsInvalid,
            format!(
                "tool {name}: the arguments do not match its params at {}: {e} (params: {params})",
                if at.is_empty() { "$" } else { &at }
            ),
        ));
    }
    let arguments = Value::from_json(&input);
    task.emit("tool.call", || {
        let mut m = Map::new();
        m.insert("name".into(), Value::str(name));
        m.insert("arguments".into(), arguments.clone());
        Value::Map(m)
    })?;
    let started = Instant::now();
    let out = match (&def, builtin) {
        (Some(d), _) => match &d.run {
            Run::Script(f) => task.call_script(f, vec![arguments.clone()]).await,
            Run::Agent(id) => {
                let text = input["task"].as_str().unwrap_or_default().to_owned();
                super::agent::run_agent(task, *id, text)
                    .await
                    .map(|r| r.get("text").cloned().unwrap_or(Value::Null))
            }
        },
        (None, Some(b)) => (b.run)(task.clone(), input).await,
        (None, None) => unreachable!("checked above"),
    };
    let out = out.map_err(|e| match e.code {
        ErrorCode::SpellError => Error::new(
            ErrorCode::ToolFailed,
            format!("tool {name} failed: {}", e.message),
        )
        .wrapping(&e)
        .at(e.location),
        _ => e,
    });
    let latency = started.elapsed().as_millis() as i64;
    task.emit("tool.result", || {
        let mut m = Map::new();
        m.insert("name".into(), Value::str(name));
        match &out {
            Ok(v) => m.insert("result".into(), v.clone()),
            Err(e) => m.insert("error".into(), super::workflow::error_value(e)),
        };
        m.insert("latency_ms".into(), Value::Int(latency));
        Value::Map(m)
    })?;
    out
}

fn host_allowed(host: &str, allow: &[String]) -> bool {
    allow.iter().any(|a| match a.strip_prefix("*.") {
        Some(domain) => host == domain || host.ends_with(&format!(".{domain}")),
        None => host.eq_ignore_ascii_case(a),
    })
}

async fn http_get(task: Task, url: String) -> Result<Value> {
    let parsed =
        reqwest::Url::parse(&url).map_err(|e| failed("http_get", format!("{url:?}: {e}")))?;
    let host = parsed.host_str().unwrap_or_default().to_owned();
    let allow = &task.session.config().capabilities.net;
    if !matches!(parsed.scheme(), "http" | "https") || !host_allowed(&host, allow) {
        return Err(denied(format!(
            "http_get may fetch only from hosts in [capabilities] net (now: {allow:?}); {host:?} is not one"
        )));
    }
    let fetch = async move {
        // No redirects: each hop would need its own allow-list check.
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|e| e.to_string())?;
        let mut resp = client.get(parsed).send().await.map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| e.to_string())? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_BYTES {
                body.truncate(MAX_BYTES);
                break;
            }
        }
        Ok::<_, String>((status, String::from_utf8_lossy(&body).into_owned()))
    };
    let (status, body) = crate::wait::spawn_io(fetch)
        .await?
        .map_err(|e| failed("http_get", e))?;
    let mut m = Map::new();
    m.insert("status".into(), Value::Int(i64::from(status)));
    m.insert("body".into(), Value::Str(body));
    Ok(Value::Map(m))
}

fn datetime(format: Option<&str>) -> Result<Value> {
    use chrono::format::{Item, StrftimeItems};
    let now = chrono::Utc::now();
    let Some(f) = format else {
        return Ok(Value::Str(now.to_rfc3339()));
    };
    if StrftimeItems::new(f).any(|i| matches!(i, Item::Error)) {
        return Err(Error::new(
            ErrorCode::ArgsInvalid,
            format!("datetime: {f:?} is not a strftime format"),
        ));
    }
    Ok(Value::Str(now.format(f).to_string()))
}

/// Arithmetic by recursive descent: `+ -` < `* / %` < `^` (right) < unary.
fn calculate(expr: &str) -> Result<Value> {
    struct P<'a> {
        s: &'a [u8],
        i: usize,
        depth: usize,
    }
    type R = std::result::Result<f64, String>;
    impl P<'_> {
        fn ws(&mut self) {
            while self.s.get(self.i).is_some_and(u8::is_ascii_whitespace) {
                self.i += 1;
            }
        }
        fn eat(&mut self, c: u8) -> bool {
            self.ws();
            if self.s.get(self.i) == Some(&c) {
                self.i += 1;
                true
            } else {
                false
            }
        }
        fn sum(&mut self) -> R {
            let mut v = self.product()?;
            loop {
                if self.eat(b'+') {
                    v += self.product()?;
                } else if self.eat(b'-') {
                    v -= self.product()?;
                } else {
                    return Ok(v);
                }
            }
        }
        fn product(&mut self) -> R {
            let mut v = self.power()?;
            loop {
                if self.eat(b'*') {
                    v *= self.power()?;
                } else if self.eat(b'/') {
                    let d = self.power()?;
                    if d == 0.0 {
                        return Err("division by zero".into());
                    }
                    v /= d;
                } else if self.eat(b'%') {
                    let d = self.power()?;
                    if d == 0.0 {
                        return Err("division by zero".into());
                    }
                    v %= d;
                } else {
                    return Ok(v);
                }
            }
        }
        fn power(&mut self) -> R {
            let base = self.unary()?;
            if self.eat(b'^') {
                return Ok(base.powf(self.power()?));
            }
            Ok(base)
        }
        fn unary(&mut self) -> R {
            self.depth += 1;
            if self.depth > 200 {
                return Err("nested too deep".into());
            }
            let v = if self.eat(b'-') {
                -self.unary()?
            } else if self.eat(b'+') {
                self.unary()?
            } else if self.eat(b'(') {
                let v = self.sum()?;
                if !self.eat(b')') {
                    return Err(format!("expected ) at {}", self.i + 1));
                }
                v
            } else {
                self.number()?
            };
            self.depth -= 1;
            Ok(v)
        }
        fn number(&mut self) -> R {
            self.ws();
            let start = self.i;
            while self
                .s
                .get(self.i)
                .is_some_and(|c| c.is_ascii_digit() || *c == b'.' || *c == b'e' || *c == b'E')
            {
                self.i += 1;
            }
            let text = std::str::from_utf8(&self.s[start..self.i]).unwrap_or_default();
            text.parse()
                .map_err(|_| format!("expected a number at {}", start + 1))
        }
    }
    let mut p = P {
        s: expr.as_bytes(),
        i: 0,
        depth: 0,
    };
    let v = p.sum().and_then(|v| {
        p.ws();
        if p.i == p.s.len() {
            Ok(v)
        } else {
            Err(format!(
                "unexpected {:?} at {}",
                expr[p.i..].chars().next().unwrap_or(' '),
                p.i + 1
            ))
        }
    });
    match v {
        Ok(v) if v.fract() == 0.0 && v.abs() < 9.0e15 => Ok(Value::Int(v as i64)),
        Ok(v) if v.is_finite() => Ok(Value::Float(v)),
        Ok(_) => Err(failed(
            "calculator",
            format!("{expr:?} has no finite value"),
        )),
        Err(e) => Err(failed("calculator", format!("{expr:?}: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_calculator_follows_precedence_and_refuses_nonsense() {
        let ok = |e: &str| calculate(e).unwrap();
        assert_eq!(ok("1 + 2 * 3"), Value::Int(7));
        assert_eq!(ok("(1 + 2) * 3"), Value::Int(9));
        assert_eq!(ok("2 ^ 3 ^ 2"), Value::Int(512));
        assert_eq!(ok("-4 / 8"), Value::Float(-0.5));
        assert_eq!(ok("7 % 4"), Value::Int(3));
        for bad in ["1 +", "1 / 0", "2 ** 3", "abc", "((1)", &"(".repeat(500)] {
            assert_eq!(
                calculate(bad).unwrap_err().code,
                ErrorCode::ToolFailed,
                "{bad}"
            );
        }
    }

    #[test]
    fn hosts_match_exactly_or_by_wildcard() {
        let allow = vec!["example.com".to_owned(), "*.docs.rs".to_owned()];
        assert!(host_allowed("example.com", &allow));
        assert!(host_allowed("a.docs.rs", &allow));
        assert!(!host_allowed("evil-example.com", &allow));
        assert!(!host_allowed("example.com.evil", &allow));
        assert!(!host_allowed("xdocs.rs", &allow));
    }
}
