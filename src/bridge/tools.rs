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

pub(super) const BUILTINS: [Builtin; 8] = [
    Builtin {
        name: "calculator",
        description: "evaluates an arithmetic expression: numbers, + - * / % ^, parentheses",
        params: r#"{"type":"object","properties":{"expression":{"type":"string"}},"required":["expression"]}"#,
        outside: false,
        run: |_, a| {
            Box::pin(async move { calculate(a["expression"].as_str().unwrap_or_default()) })
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
