//! Kept runs as text, the same in the CLI and the IDE: the list, one run
//! whole, and two runs side by side.

use std::fmt::Write;

use super::{Run, Status, Summary};
use crate::provider::{Exchange, MODEL_OPS};

/// A local time, to the second.
pub fn when(ms: i64) -> String {
    use chrono::TimeZone;
    match chrono::Local.timestamp_millis_opt(ms).single() {
        Some(t) => t.format("%m-%d %H:%M:%S").to_string(),
        None => "?".into(),
    }
}

/// `1.2s`, `340ms`, `3m05s`; `-` while running.
pub fn duration(ms: Option<i64>) -> String {
    match ms {
        None => "-".into(),
        Some(ms) if ms < 1000 => format!("{ms}ms"),
        Some(ms) if ms < 60_000 => format!("{:.1}s", ms as f64 / 1000.0),
        Some(ms) => format!("{}m{:02}s", ms / 60_000, (ms / 1000) % 60),
    }
}

/// `ok`, `failed llm.timeout`, `running`, `lost`; a fork says its parent.
pub fn outcome(s: &Summary) -> String {
    let mut text = match (s.status, &s.error_code) {
        (Status::Failed, Some(code)) => code.clone(),
        (status, _) => status.as_str().into(),
    };
    if let Some(parent) = s.parent {
        write!(text, " (from {parent})").unwrap();
    }
    text
}

/// The list `llmspell runs` prints, newest first.
pub fn table(runs: &[Summary]) -> String {
    let rows: Vec<[String; 7]> = runs
        .iter()
        .map(|s| {
            [
                s.id.to_string(),
                when(s.started_ms),
                s.spell.clone(),
                outcome(s),
                duration(s.duration_ms),
                s.model_calls.to_string(),
                s.tokens.to_string(),
            ]
        })
        .collect();
    let head = [
        "id", "when", "spell", "outcome", "duration", "calls", "tokens",
    ];
    let mut widths = head.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cells: &[&str]| {
        for (i, cell) in cells.iter().enumerate() {
            // Numbers to the right, words to the left.
            let right = matches!(i, 0 | 4 | 5 | 6);
            let pad = widths[i].saturating_sub(cell.chars().count());
            if i > 0 {
                out.push_str("  ");
            }
            if right {
                out.push_str(&" ".repeat(pad));
                out.push_str(cell);
            } else {
                out.push_str(cell);
                if i + 1 < cells.len() {
                    out.push_str(&" ".repeat(pad));
                }
            }
        }
        out.push('\n');
    };
    line(&mut out, &head);
    for row in &rows {
        line(&mut out, &row.each_ref().map(String::as_str));
    }
    out
}

fn pretty(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// One run whole, as `llmspell runs show` prints it.
pub fn show(run: &Run) -> String {
    let s = &run.summary;
    let mut out = String::new();
    let _ = writeln!(out, "run {}  {}  {}", s.id, s.spell, outcome(s));
    let _ = writeln!(out, "  file      {}", s.path);
    let _ = writeln!(out, "  engine    {}", s.engine);
    let _ = writeln!(out, "  started   {}", when(s.started_ms));
    let _ = writeln!(out, "  duration  {}", duration(s.duration_ms));
    if !s.args.is_empty() {
        let _ = writeln!(
            out,
            "  args      {}",
            serde_json::Value::Object(s.args.clone())
        );
    }
    let _ = writeln!(
        out,
        "  models    {} call(s), {} tokens{}",
        s.model_calls,
        s.tokens,
        if s.models.is_empty() {
            String::new()
        } else {
            format!(", {}", s.models.join(", "))
        }
    );
    if let Some(parent) = s.parent {
        let _ = writeln!(out, "  parent    run {parent}");
    }
    if let Some(note) = &s.note {
        let _ = writeln!(out, "  note      {note}");
    }
    match run.outcome() {
        Ok(v) => {
            let _ = writeln!(out, "\nresult\n  {v}");
        }
        Err((code, message)) => {
            let _ = writeln!(out, "\nerror\n  {code}: {message}");
        }
    }
    let _ = writeln!(out, "\noutput ({} lines)", run.output.len());
    for line in &run.output {
        let _ = writeln!(out, "  {line}");
    }
    let _ = writeln!(out, "\nevents ({})", run.events.len());
    let start = run.events.first().map_or(0, |e| e.time_ms);
    for e in &run.events {
        let _ = writeln!(
            out,
            "  +{:>6}ms  {:<16} {}",
            e.time_ms.saturating_sub(start),
            e.topic,
            brief(&e.data, 90)
        );
    }
    let latencies = latencies(run);
    let _ = writeln!(out, "\nexchanges ({})", run.exchanges.len());
    for (i, ex) in run.exchanges.iter().enumerate() {
        out.push_str(&exchange(ex, latencies.get(i).copied().flatten()));
    }
    out
}

/// How long each model exchange took, by position in the journal, from
/// the `llm.response` and `llm.error` events in order.
fn latencies(run: &Run) -> Vec<Option<i64>> {
    let mut times = run
        .events
        .iter()
        .filter(|e| matches!(e.topic.as_str(), "llm.response" | "llm.error"))
        .filter_map(|e| e.data["latency_ms"].as_i64());
    run.exchanges
        .iter()
        .map(|ex| if ex.is_chat() { times.next() } else { None })
        .collect()
}

/// A value on one line, cut at `max` characters.
fn brief(v: &serde_json::Value, max: usize) -> String {
    let text = v.to_string();
    if text.chars().count() <= max {
        return text;
    }
    let cut: String = text.chars().take(max).collect();
    format!("{cut}…")
}

/// One exchange whole: what went in, what came out.
pub fn exchange(ex: &Exchange, latency_ms: Option<i64>) -> String {
    let mut out = String::new();
    let req = &ex.request;
    let mut head = format!("\n#{} {}", ex.n, ex.op);
    match ex.op.as_str() {
        op if MODEL_OPS.contains(&op) => {
            if let Some(m) = req["model"].as_str() {
                let _ = write!(head, " {m}");
            }
        }
        "tool" => {
            if let Some(t) = req["tool"].as_str() {
                let _ = write!(head, " {t}");
            }
        }
        _ => {}
    }
    if let Some(ms) = latency_ms {
        let _ = write!(head, "  {ms} ms");
    }
    if let Some(r) = &ex.reply {
        if r.get("input_tokens").is_some() {
            let _ = write!(
                head,
                "  {} in / {} out",
                r["input_tokens"], r["output_tokens"]
            );
        }
    }
    out.push_str(&head);
    out.push('\n');
    match ex.op.as_str() {
        _ if ex.is_chat() => {
            out.push_str("  in:\n");
            if let Some(system) = req["system"].as_str() {
                let _ = writeln!(out, "    [system] {}", indent(system));
            }
            for m in req["messages"].as_array().into_iter().flatten() {
                let role = m["role"].as_str().unwrap_or("?");
                let content = match &m["content"] {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let _ = writeln!(out, "    [{role}] {}", indent(&content));
                for call in m["tool_calls"].as_array().into_iter().flatten() {
                    let _ = writeln!(out, "      calls {} {}", call["name"], call["arguments"]);
                }
            }
            let rest: serde_json::Map<_, _> = req
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(k, _)| !matches!(k.as_str(), "messages" | "system" | "model"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            if !rest.is_empty() {
                let _ = writeln!(out, "    options {}", serde_json::Value::Object(rest));
            }
        }
        _ => {
            let _ = writeln!(out, "  in:\n    {}", indent(&pretty(req)));
        }
    }
    match (&ex.reply, &ex.error) {
        (_, Some(e)) => {
            let _ = writeln!(out, "  error: {}: {}", e.code, indent(&e.message));
        }
        (Some(r), None) if ex.is_chat() => {
            let _ = writeln!(
                out,
                "  out:\n    {}",
                indent(r["text"].as_str().unwrap_or_default())
            );
            for call in r["tool_calls"].as_array().into_iter().flatten() {
                let _ = writeln!(out, "    calls {} {}", call["name"], call["arguments"]);
            }
        }
        (Some(r), None) => {
            let _ = writeln!(out, "  out:\n    {}", indent(&brief(r, 2000)));
        }
        (None, None) => out.push_str("  out: nothing\n"),
    }
    out
}

/// Text whose later lines line up under its first.
fn indent(text: &str) -> String {
    text.replace('\n', "\n    ")
}

/// What differs between two runs, as `llmspell runs diff` prints it.
pub fn diff(a: &Run, b: &Run) -> String {
    let mut out = String::new();
    let (x, y) = (a.summary.id, b.summary.id);
    let _ = writeln!(
        out,
        "run {x} ({}, {}) and run {y} ({}, {})",
        a.summary.spell,
        outcome(&a.summary),
        b.summary.spell,
        outcome(&b.summary)
    );
    let section = |out: &mut String, name: &str, left: &str, right: &str| {
        if left == right {
            let _ = writeln!(out, "\n{name}: the same");
        } else {
            let _ = writeln!(out, "\n{name}:");
            out.push_str(&text_diff(left, right, x, y));
        }
    };
    section(&mut out, "source", &a.source_text(), &b.source_text());
    let args = |r: &Run| pretty(&serde_json::Value::Object(r.summary.args.clone()));
    section(&mut out, "args", &args(a), &args(b));
    let result = |r: &Run| match r.outcome() {
        Ok(v) => pretty(&v),
        Err((code, message)) => format!("error {code}: {message}"),
    };
    section(&mut out, "result", &result(a), &result(b));
    section(&mut out, "output", &lines(&a.output), &lines(&b.output));
    let parted = a.exchanges.iter().zip(&b.exchanges).position(|(p, q)| {
        p.op != q.op || p.request != q.request || p.reply != q.reply || p.error != q.error
    });
    match parted {
        None if a.exchanges.len() == b.exchanges.len() => {
            let _ = writeln!(out, "\nexchanges: the same {}", a.exchanges.len());
        }
        None => {
            let n = a.exchanges.len().min(b.exchanges.len());
            let _ = writeln!(
                out,
                "\nexchanges: the first {n} the same; run {x} received {}, run {y} {}",
                a.exchanges.len(),
                b.exchanges.len()
            );
        }
        Some(i) => {
            let (p, q) = (&a.exchanges[i], &b.exchanges[i]);
            let _ = writeln!(out, "\nexchanges: they part at #{}", i + 1);
            let request = |ex: &Exchange| exchange(ex, None);
            if p.op != q.op || p.request != q.request {
                let _ = writeln!(out, "  the request differs:");
            } else {
                let _ = writeln!(out, "  the same request, another reply:");
            }
            out.push_str(&text_diff(&request(p), &request(q), x, y));
        }
    }
    out
}

fn lines(lines: &[String]) -> String {
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

/// A unified line diff: `-` the first run's, `+` the second's.
fn text_diff(left: &str, right: &str, x: i64, y: i64) -> String {
    let (left, right) = (ended(left), ended(right));
    let diff = similar::TextDiff::from_lines(&left, &right);
    diff.unified_diff()
        .context_radius(3)
        .header(&format!("run {x}"), &format!("run {y}"))
        .to_string()
}

/// Text ending in a newline, so that a diff's last line stays its own.
fn ended(text: &str) -> String {
    let mut text = text.to_owned();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}
