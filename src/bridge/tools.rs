//! The built-in tools a model may call: each reaches the host only as far
//! as the project's `[capabilities]` allow, and fails with `sandbox.denied`
//! beyond. The `tool.*` bridges offer them beside the spell's own.

use futures_util::future::LocalBoxFuture;

use super::files::failed;
use crate::error::{Error, ErrorCode, Result};
use crate::session::{Session, Task};
use crate::value::Value;

type BuiltinRun = fn(Task, serde_json::Value) -> LocalBoxFuture<'static, Result<Value>>;

pub(super) struct Builtin {
    pub name: &'static str,
    pub description: &'static str,
    pub params: &'static str,
    /// Whether it brings in something from outside the spell (the clock,
    /// files, the network): then the run's journal keeps its result.
    pub outside: bool,
    pub run: BuiltinRun,
}

pub(super) const BUILTINS: [Builtin; 10] = [
    Builtin {
        name: "calculator",
        // Unchanged since the hand-written calculator: a model is offered
        // these words, and a cassette recorded with them must still match.
        description: "evaluates an arithmetic expression: numbers, + - * / % ^, parentheses",
        params: r#"{"type":"object","properties":{"expression":{"type":"string"}},"required":["expression"]}"#,
        outside: false,
        run: |t, a| {
            Box::pin(
                async move { calculate(&t.session, a["expression"].as_str().unwrap_or_default()) },
            )
        },
    },
    Builtin {
        name: "datetime",
        description: "the current date and time in UTC, RFC 3339 or in a strftime format",
        params: r#"{"type":"object","properties":{"format":{"type":"string"}}}"#,
        outside: true,
        run: |_, a| Box::pin(async move { datetime(a["format"].as_str()) }),
    },
    Builtin {
        name: "read_file",
        description: "reads a text file inside the project folder (capability fs)",
        params: r#"{"type":"object","properties":{"path":{"type":"string"}},"required":["path"]}"#,
        outside: true,
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
        outside: true,
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
        outside: true,
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
        outside: true,
        run: |t, a| {
            Box::pin(http_get(
                t,
                a["url"].as_str().unwrap_or_default().to_owned(),
            ))
        },
    },
    Builtin {
        name: "web_fetch",
        description: "fetches a web page from a host in the net allow-list as readable text \
                      (HTML as text with its links listed; other text as it is): \
                      {status, text, truncated}",
        params: r#"{"type":"object","properties":{"url":{"type":"string"},"max_chars":{"type":"integer","minimum":1}},"required":["url"]}"#,
        outside: true,
        run: |t, a| {
            Box::pin(web_fetch(
                t,
                a["url"].as_str().unwrap_or_default().to_owned(),
                a["max_chars"].as_u64(),
            ))
        },
    },
    Builtin {
        name: "file_search",
        description: "searches the text files inside the project folder (capability fs) for a \
                      regular expression, as ripgrep does (hidden files skipped): \
                      {matches: [{path, line, text}], truncated}",
        params: r#"{"type":"object","properties":{"pattern":{"type":"string"},"path":{"type":"string"},"ignore_case":{"type":"boolean"},"max_results":{"type":"integer","minimum":1}},"required":["pattern"]}"#,
        outside: true,
        run: |t, a| {
            Box::pin(async move {
                let pattern = a["pattern"].as_str().unwrap_or_default();
                let matcher = grep_regex::RegexMatcherBuilder::new()
                    .case_insensitive(a["ignore_case"].as_bool().unwrap_or(false))
                    .build(pattern)
                    .map_err(|e| {
                        failed(
                            "file_search",
                            format!("{pattern:?} is not a regular expression: {e}"),
                        )
                    })?;
                let max = a["max_results"].as_u64().unwrap_or(100).min(1000) as usize;
                super::files::search_files(
                    t.session.config(),
                    a["path"].as_str().unwrap_or("."),
                    &matcher,
                    max,
                )
            })
        },
    },
    Builtin {
        name: "json_query",
        description: "the values a JSONPath query (RFC 9535, \"$.items[*].name\") finds in JSON \
                      (a value, or JSON text), as a list",
        params: r#"{"type":"object","properties":{"json":{},"path":{"type":"string"}},"required":["json","path"]}"#,
        outside: false,
        run: |_, a| {
            Box::pin(async move { json_query(&a["json"], a["path"].as_str().unwrap_or_default()) })
        },
    },
    Builtin {
        name: "csv_read",
        description: "reads a CSV file inside the project folder (capability fs): its rows as \
                      objects keyed by the header row",
        params: r#"{"type":"object","properties":{"path":{"type":"string"},"delimiter":{"type":"string"}},"required":["path"]}"#,
        outside: true,
        run: |t, a| {
            Box::pin(async move {
                let text = super::files::read_file(
                    t.session.config(),
                    a["path"].as_str().unwrap_or_default(),
                )?;
                csv_rows(&text, a["delimiter"].as_str())
            })
        },
    },
];

/// `json_query`: JSONPath over a value, or over JSON text.
fn json_query(json: &serde_json::Value, path: &str) -> Result<Value> {
    let parsed;
    let json = match json {
        serde_json::Value::String(text) => match serde_json::from_str(text) {
            Ok(v) => {
                parsed = v;
                &parsed
            }
            Err(_) => json,
        },
        other => other,
    };
    let query = serde_json_path::JsonPath::parse(path).map_err(|e| {
        failed(
            "json_query",
            format!("{path:?} is not a JSONPath query: {e}"),
        )
    })?;
    let found: Vec<Value> = query
        .query(json)
        .all()
        .into_iter()
        .map(Value::from_json)
        .collect();
    Ok(Value::Array(found))
}

/// `csv_read`: the rows of CSV text as objects keyed by its header row.
fn csv_rows(text: &Value, delimiter: Option<&str>) -> Result<Value> {
    let Value::Str(text) = text else {
        return Err(failed("csv_read", "the file is not text"));
    };
    let delimiter = match delimiter.map(str::as_bytes) {
        None => b',',
        Some([d]) => *d,
        Some(_) => return Err(failed("csv_read", "the delimiter is one ASCII character")),
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| failed("csv_read", e.to_string()))?
        .clone();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| failed("csv_read", e.to_string()))?;
        let mut row = crate::value::Map::new();
        for (i, field) in record.iter().enumerate() {
            let key = headers
                .get(i)
                .map_or_else(|| format!("column{}", i + 1), str::to_owned);
            row.insert(key, Value::Str(field.to_owned()));
        }
        rows.push(Value::Map(row));
    }
    Ok(Value::Array(rows))
}

/// Runs built-in tool `b`. One that brings in something from outside the
/// spell asks the run's journal first: a replayed run is answered with
/// what it brought in then (the file as it was, the time it was), and the
/// result of a live call is kept.
pub(super) async fn run_builtin(
    task: &Task,
    b: &Builtin,
    input: serde_json::Value,
) -> Result<Value> {
    if !b.outside {
        return (b.run)(task.clone(), input).await;
    }
    let key = serde_json::json!({"tool": b.name, "arguments": input});
    journaled(&task.session, "tool", key, (b.run)(task.clone(), input)).await
}

/// What `work` brings in from outside the spell, through the run's
/// journal: a replay is answered with what it brought in then (kept under
/// `op` and `key`), and a live result is kept. With no journal, `work`.
pub(super) async fn journaled(
    session: &Session,
    op: &str,
    key: serde_json::Value,
    work: impl std::future::Future<Output = Result<Value>>,
) -> Result<Value> {
    let Some(journal) = session.journal() else {
        return work.await;
    };
    if let Some(kept) = journal.answer(op, &key)? {
        return kept.map(|v| Value::from_json(&v));
    }
    let out = work.await;
    let kept = out.as_ref().map_err(Clone::clone).and_then(Value::to_json);
    journal.record(op, &key, &kept)?;
    out
}

pub(super) fn builtin(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}

pub(super) fn builtin_params(b: &Builtin) -> serde_json::Value {
    serde_json::from_str(b.params).expect("built-in params are valid JSON")
}

pub(super) fn host_allowed(host: &str, allow: &[String]) -> bool {
    allow.iter().any(|a| match a.strip_prefix("*.") {
        Some(domain) => host == domain || host.ends_with(&format!(".{domain}")),
        None => host.eq_ignore_ascii_case(a),
    })
}

/// `http_get` goes through `http.request`'s checks: the allow-list, every
/// redirect hop, addresses only when listed exactly.
async fn http_get(task: Task, url: String) -> Result<Value> {
    super::http::get(&task, url).await
}

/// The most text `web_fetch` gives unless `max_chars` says otherwise.
const FETCH_CHARS: u64 = 20_000;

/// `web_fetch`: `http_get`'s checks, then the page as text.
async fn web_fetch(task: Task, url: String, max_chars: Option<u64>) -> Result<Value> {
    let Value::Map(mut r) = super::http::fetch(&task, url).await? else {
        return Err(failed("web_fetch", "no response"));
    };
    let body = match r.remove("body") {
        Some(Value::Str(s)) => s,
        _ => String::new(),
    };
    let html = match r.get("headers") {
        Some(Value::Map(h)) => h.get("content-type").is_some_and(|t| match t {
            Value::Str(t) => t.contains("html"),
            _ => false,
        }),
        _ => false,
    } || body
        .trim_start()
        .get(..15)
        .is_some_and(|s| s.eq_ignore_ascii_case("<!doctype html>"));
    let text = if html {
        html2text::from_read(body.as_bytes(), 100)
            .map_err(|e| failed("web_fetch", format!("the page's HTML: {e}")))?
    } else {
        body
    };
    let max = usize::try_from(max_chars.unwrap_or(FETCH_CHARS)).unwrap_or(usize::MAX);
    let (text, truncated) = match text.char_indices().nth(max) {
        Some((i, _)) => (text[..i].to_owned(), true),
        None => (text, false),
    };
    let mut out = crate::value::Map::new();
    out.insert("status".into(), r.remove("status").unwrap_or(Value::Null));
    out.insert("text".into(), Value::Str(text));
    out.insert("truncated".into(), Value::Bool(truncated));
    Ok(Value::Map(out))
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

/// The most a calculation may take, whatever the spell's limits allow:
/// `9^9^9` asks fend for a number of 370 million digits.
const CALC_TIME: std::time::Duration = std::time::Duration::from_secs(2);

/// The longest expression the calculator takes.
const CALC_CHARS: usize = 2000;

/// `calculator`, on fend (`fend-core`): exact arithmetic (`0.1 + 0.2` is
/// 0.3), `^` to the right, functions, constants and units (`5 m + 3 cm`).
/// A number comes back as a number (an approximation as its decimals); a
/// value with a unit, or a whole number past 2^53, as fend writes it.
fn calculate(session: &Session, expr: &str) -> Result<Value> {
    struct Stop(
        crate::stop::StopHandle,
        crate::stop::Deadline,
        std::time::Instant,
    );
    impl fend_core::Interrupt for Stop {
        fn should_interrupt(&self) -> bool {
            std::time::Instant::now() > self.2 || self.0.is_stopped() || self.1.passed()
        }
    }
    if expr.chars().count() > CALC_CHARS {
        return Err(failed(
            "calculator",
            format!("an expression is at most {CALC_CHARS} characters"),
        ));
    }
    let mut context = fend_core::Context::new();
    context.disable_rng();
    let stop = Stop(
        session.stop_handle().clone(),
        session.deadline().clone(),
        std::time::Instant::now() + CALC_TIME,
    );
    let out = fend_core::evaluate_with_interrupt(expr, &mut context, &stop).map_err(|e| {
        if e == "interrupted" {
            crate::value::Limiter::check(session)
                .err()
                .unwrap_or_else(|| {
                    failed(
                        "calculator",
                        format!("{expr:?} took more than {}s", CALC_TIME.as_secs()),
                    )
                })
        } else {
            failed("calculator", format!("{expr:?}: {e}"))
        }
    })?;
    let text = out.get_main_result();
    let number = text.strip_prefix("approx. ").unwrap_or(text);
    let exact = number.len() == text.len();
    match number.parse::<f64>() {
        Ok(v) if v.is_finite() && v.fract() == 0.0 && v.abs() < 9.0e15 => Ok(Value::Int(v as i64)),
        // An exact whole number past what a float holds keeps its digits.
        Ok(v) if v.is_finite() && !(exact && v.fract() == 0.0) => Ok(Value::Float(v)),
        _ if text.is_empty() => Err(failed("calculator", format!("{expr:?} has no value"))),
        _ => Ok(Value::Str(text.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
