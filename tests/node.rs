//! JavaScript as node runs it. Each program in `tests/node/` must print
//! under llmspell exactly the lines its `.out` file holds, and those lines
//! are node's own: where `node` is on the PATH (CI installs it, and sets
//! `LLMSPELL_NEED_NODE` so that it must be), the test runs node on the
//! program too (with `shim.mjs` standing in for the bridges the programs
//! use) and checks the `.out` file is still exactly what node prints.
//! Write a new case's `.out` with
//! `node --import ./tests/node/shim.mjs tests/node/NAME.mjs` (node wants a
//! `.mjs` name for a module).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use llmspell::{Config, RunOptions, Runtime, Spell};

fn cases() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/node");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/node")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "js"))
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 8,
        "tests/node holds {} programs",
        cases.len()
    );
    cases
}

/// The lines `program` prints under llmspell.
fn llmspell_lines(program: &Path) -> Result<Vec<String>, String> {
    let dir = tempfile::tempdir().unwrap();
    let source = std::fs::read_to_string(program).unwrap();
    let name = program.file_name().unwrap().to_string_lossy().into_owned();
    let mut spell = Spell::from_source(&name, &source).unwrap();
    spell.dir = dir.path().to_path_buf();
    let mut opts = RunOptions::new(Config::for_dir(dir.path()));
    let lines = Arc::new(Mutex::new(Vec::new()));
    let printed = lines.clone();
    opts.output = Arc::new(move |l| {
        let text = String::from_utf8_lossy(l).into_owned();
        printed
            .lock()
            .unwrap()
            .extend(text.lines().map(str::to_owned));
    });
    opts.log = Arc::new(|_, _, _| {});
    let outcome = Runtime::new().run(&spell, &opts);
    outcome.result.map_err(|e| e.report())?;
    let out = lines.lock().unwrap().clone();
    Ok(out)
}

/// The lines node prints for `program`, or `None` without node.
fn node_lines(program: &Path) -> Option<Vec<String>> {
    let dir = tempfile::tempdir().unwrap();
    let name = program.file_stem().unwrap().to_string_lossy().into_owned();
    let module = dir.path().join(format!("{name}.mjs"));
    std::fs::copy(program, &module).unwrap();
    let shim = program.with_file_name("shim.mjs");
    let out = match std::process::Command::new("node")
        .arg("--import")
        .arg(&shim)
        .arg(&module)
        .output()
    {
        Ok(out) => out,
        Err(e) if std::env::var_os("LLMSPELL_NEED_NODE").is_some() => {
            panic!("LLMSPELL_NEED_NODE is set but node cannot run: {e}")
        }
        Err(_) => return None,
    };
    assert!(
        out.status.success(),
        "node failed on {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect(),
    )
}

#[test]
fn every_program_prints_what_node_prints() {
    let mut failed = Vec::new();
    let mut checked_by_node = 0;
    for program in cases() {
        let name = program.file_stem().unwrap().to_string_lossy().into_owned();
        let expected: Vec<String> = std::fs::read_to_string(program.with_extension("out"))
            .unwrap_or_else(|_| panic!("{name}.out is missing"))
            .lines()
            .map(str::to_owned)
            .collect();
        if let Some(node) = node_lines(&program) {
            checked_by_node += 1;
            if node != expected {
                failed.push(format!(
                    "{name}.out is no longer what node prints:\n  node: {node:?}\n  .out: {expected:?}"
                ));
            }
        }
        match llmspell_lines(&program) {
            Ok(ours) if ours == expected => {}
            Ok(ours) => failed.push(format!(
                "{name} prints otherwise under llmspell:\n  ours: {ours:?}\n  node: {expected:?}"
            )),
            Err(e) => failed.push(format!("{name} failed under llmspell: {e}")),
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
    eprintln!("node itself checked {checked_by_node} of the expected outputs");
}
