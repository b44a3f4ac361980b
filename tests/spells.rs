//! Every example spell in `spells/` runs, in all three languages, through
//! the real `llmspell` binary, and its output and result are checked
//! against `spells/NAME.expect` (`{engine}` there stands for the engine).
//! Spells that call models replay the cassette the expect file names, so
//! they run with no server; `args` there are the spell's args; `tests/local_model.rs` covers the live model.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value as Json;

fn run(project: &Path, file: &str, cassette: Option<&Path>, args: &Json) -> (Vec<String>, Json) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_llmspell"));
    cmd.args(["run", file]);
    if !args.is_null() {
        cmd.arg("--args-json").arg(args.to_string());
    }
    if let Some(cassette) = cassette {
        cmd.arg("--replay").arg(cassette);
    }
    let out = cmd.current_dir(project).output().expect("run llmspell");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{file}: {stderr}");
    parse(&out.stdout)
}

/// A run's printed lines and its result (the last line, JSON, unless the
/// result was null).
fn parse(stdout: &[u8]) -> (Vec<String>, Json) {
    let stdout = String::from_utf8(stdout.to_vec()).expect("UTF-8 output");
    let mut lines: Vec<String> = stdout.lines().map(str::to_owned).collect();
    // The result is the last line (JSON), unless the result was null.
    let result = lines
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .inspect(|_| {
            lines.pop();
        })
        .unwrap_or(Json::Null);
    (lines, result)
}

#[test]
fn every_example_spell_runs_alike_in_every_engine() {
    let spells = Path::new(env!("CARGO_MANIFEST_DIR")).join("spells");
    let mut expects: Vec<PathBuf> = std::fs::read_dir(&spells)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "expect"))
        .collect();
    expects.sort();
    assert!(!expects.is_empty());
    let mut failures = Vec::new();
    for expect_file in expects {
        let expect: Json = serde_json::from_str(&std::fs::read_to_string(&expect_file).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", expect_file.display()));
        let name = expect_file
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        for engine in ["lua", "js", "rhai"] {
            // A fresh project each time: state from one run must not leak.
            let project = tempfile::tempdir().unwrap();
            let file = format!("{name}.{engine}");
            for f in [file.as_str(), "llmspell.toml"] {
                std::fs::copy(spells.join(f), project.path().join(f))
                    .unwrap_or_else(|e| panic!("{f}: {e}"));
            }
            let cassette = expect
                .get("cassette")
                .and_then(Json::as_str)
                .map(|c| spells.join(c));
            let runs = expect.get("runs").and_then(Json::as_u64).unwrap_or(1);
            let mut output = Vec::new();
            let mut result = Json::Null;
            for _ in 0..runs {
                let (lines, r) = run(project.path(), &file, cassette.as_deref(), &expect["args"]);
                output.extend(lines);
                result = r;
            }
            let want_output: Vec<String> = expect["output"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l.as_str().unwrap().replace("{engine}", engine))
                .collect();
            if output != want_output {
                failures.push(format!("{file}: output {output:?} != {want_output:?}"));
            }
            if result != expect["result"] {
                failures.push(format!("{file}: result {result} != {}", expect["result"]));
            }
            // Every run is kept: replayed from the history alone, with no
            // cassette and no network, it comes out the same. (A spell
            // that counts its runs in the project's state counts on:
            // state is the project's, not the run's.)
            let replay = Command::new(env!("CARGO_BIN_EXE_llmspell"))
                .args(["replay", "last"])
                .current_dir(project.path())
                .output()
                .expect("run llmspell");
            let said = String::from_utf8_lossy(&replay.stderr);
            let counts_runs = runs > 1;
            if !replay.status.success()
                || (!counts_runs && !said.contains("from its journal: the same result and output"))
            {
                failures.push(format!("{file}: replay: {said}"));
            }
            let (lines, r) = parse(&replay.stdout);
            if !counts_runs && (lines != output || r != result) {
                failures.push(format!("{file}: replay printed {lines:?} => {r}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_spell_has_all_three_languages() {
    let spells = Path::new(env!("CARGO_MANIFEST_DIR")).join("spells");
    for entry in std::fs::read_dir(&spells).unwrap() {
        let path = entry.unwrap().path();
        let Some(ext) = path.extension().and_then(|e| e.to_str()) else {
            continue;
        };
        if !["lua", "js", "rhai"].contains(&ext) {
            continue;
        }
        for twin in ["lua", "js", "rhai", "expect"] {
            assert!(
                path.with_extension(twin).exists(),
                "{} has no .{twin}",
                path.display()
            );
        }
    }
}
