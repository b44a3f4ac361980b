//! Runs the examples in `docs/*.md`: each fenced block tagged
//! `lua example`, `js example` or `rhai example` runs in its engine, and its
//! result must equal the next fenced `json` block.
//!
//! Examples that call a model get their replies from the scripted provider:
//! an HTML comment `<!-- model replies: [...] -->` before them lists the
//! replies, in order, for each example up to the next `json` block. A reply
//! is a string (a text reply), `{"tool_calls": [[id, name, args_json]]}`,
//! `{"stream": [pieces]}` or `{"status": 503}`. The project's config is the
//! tutorial's: provider `local`, model `smollm2`.

mod support;

use std::path::Path;
use std::sync::Arc;

use llmspell::{Config, RunOptions, Runtime, Spell};
use serde_json::Value as Json;
use support::scripted::{Reply, Scripted};

#[global_allocator]
static ALLOC: llmspell::CountingAllocator = llmspell::CountingAllocator;

struct Example {
    file: String,
    line: usize,
    engine: String,
    source: String,
    /// The model's replies, when the example calls a model.
    replies: Option<Json>,
}

fn reply(r: &Json) -> Reply {
    let text = |v: &Json| v.as_str().unwrap().to_owned();
    match r {
        Json::String(t) => Reply::text(t),
        Json::Object(o) if o.contains_key("tool_calls") => Reply::Text(
            String::new(),
            o["tool_calls"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| (text(&c[0]), text(&c[1]), text(&c[2])))
                .collect(),
        ),
        Json::Object(o) if o.contains_key("stream") => {
            let pieces: Vec<String> = o["stream"].as_array().unwrap().iter().map(text).collect();
            let pieces: Vec<&str> = pieces.iter().map(String::as_str).collect();
            Reply::stream(&pieces, None, true)
        }
        Json::Object(o) if o.contains_key("status") => {
            Reply::Status(o["status"].as_u64().unwrap() as u16, "scripted".into())
        }
        other => panic!("not a model reply: {other}"),
    }
}

fn examples(doc: &Path) -> Vec<(Example, serde_json::Value)> {
    let text = std::fs::read_to_string(doc).unwrap();
    let mut out = Vec::new();
    let mut pending: Vec<Example> = Vec::new();
    let mut replies: Option<Json> = None;
    let mut lines = text.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        if let Some(r) = line
            .strip_prefix("<!-- model replies:")
            .and_then(|r| r.strip_suffix("-->"))
        {
            replies = Some(
                serde_json::from_str(r)
                    .unwrap_or_else(|e| panic!("{}:{}: {e}", doc.display(), n + 1)),
            );
            continue;
        }
        let Some(info) = line.strip_prefix("```") else {
            continue;
        };
        let mut body = String::new();
        for (_, l) in lines.by_ref() {
            if l.starts_with("```") {
                break;
            }
            body.push_str(l);
            body.push('\n');
        }
        match info.split_whitespace().collect::<Vec<_>>()[..] {
            [engine, "example"] => pending.push(Example {
                file: doc.display().to_string(),
                line: n + 1,
                engine: engine.to_owned(),
                source: body,
                replies: replies.clone(),
            }),
            ["json"] => {
                let want: serde_json::Value = serde_json::from_str(&body)
                    .unwrap_or_else(|e| panic!("{}:{}: {e}", doc.display(), n + 1));
                for ex in pending.drain(..) {
                    out.push((ex, want.clone()));
                }
                replies = None;
            }
            _ => {}
        }
    }
    assert!(
        pending.is_empty(),
        "{}: examples with no json result after them",
        doc.display()
    );
    out
}

#[test]
fn every_doc_example_gives_its_documented_result() {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
    let runtime = Runtime::new();
    let mut count = 0;
    let mut failures = Vec::new();
    for entry in std::fs::read_dir(docs).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "md") {
            continue;
        }
        for (ex, want) in examples(&path) {
            count += 1;
            let project = tempfile::tempdir().unwrap();
            let mut spell =
                Spell::from_source(&format!("example.{}", ex.engine), &ex.source).unwrap();
            spell.dir = project.path().to_path_buf();
            let server = ex
                .replies
                .as_ref()
                .map(|r| Scripted::start(r.as_array().unwrap().iter().map(reply).collect()));
            let config = match &server {
                Some(server) => {
                    let file = project.path().join("llmspell.toml");
                    let toml = format!(
                        "[providers.local]\nkind = \"openai_compatible\"\nbase_url = \"{}\"\nmodel = \"smollm2\"\n\n[defaults]\nmodel = \"local/smollm2\"\n",
                        server.url
                    );
                    std::fs::write(&file, toml).unwrap();
                    Config::load(&file).unwrap()
                }
                None => Config::for_dir(project.path()),
            };
            let mut opts = RunOptions::new(config);
            opts.output = Arc::new(|_| {});
            match runtime.run(&spell, &opts).result {
                Ok(got) if got == want => {}
                other => failures.push(format!(
                    "{}:{} ({}): got {other:?}, want {want}",
                    ex.file, ex.line, ex.engine
                )),
            }
        }
    }
    assert!(count >= 12, "only {count} examples found");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
