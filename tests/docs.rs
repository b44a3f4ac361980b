//! Runs the examples in `docs/*.md`: each fenced block tagged
//! `lua example`, `js example` or `rhai example` runs in its engine, and its
//! result must equal the next fenced `json` block.

use std::path::Path;
use std::sync::Arc;

use llmspell::{Config, RunOptions, Runtime, Spell};

struct Example {
    file: String,
    line: usize,
    engine: String,
    source: String,
}

fn examples(doc: &Path) -> Vec<(Example, serde_json::Value)> {
    let text = std::fs::read_to_string(doc).unwrap();
    let mut out = Vec::new();
    let mut pending: Vec<Example> = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((n, line)) = lines.next() {
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
            }),
            ["json"] => {
                let want: serde_json::Value = serde_json::from_str(&body)
                    .unwrap_or_else(|e| panic!("{}:{}: {e}", doc.display(), n + 1));
                for ex in pending.drain(..) {
                    out.push((ex, want.clone()));
                }
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
            let mut opts = RunOptions::new(Config::for_dir(project.path()));
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
