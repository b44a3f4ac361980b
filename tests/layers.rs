//! The layering of docs/architecture.md, checked: no import circle between
//! files in `src/` or `tui/src/`, and every `crate::` path points down the
//! layers (or within its own module). A file's imports are read from its
//! text: `use crate::...`, `crate::a::b` paths and `super::` paths.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The library's top-level modules, lowest layer first. A module may name
/// modules of lower layers only; modules of one layer never name each other.
const LIBRARY: &[&[&str]] = &[
    &["error", "alloc"],
    &["value", "panic", "config", "bus"],
    &["spell", "stop"],
    &["store", "provider"],
    &["session"],
    &["engine", "bridge"],
    &["runtime"],
    &["history"],
];

/// The IDE's modules, lowest layer first.
const IDE: &[&[&str]] = &[
    &["edit", "highlight", "scroll", "settings", "theme"],
    &["editor", "inspector"],
    &["action", "runs"],
    &["keys", "layout", "repl"],
    &["state"],
    &["app", "ui", "effects", "watch"],
];

type Module = Vec<String>;

fn module_of(root: &Path, file: &Path) -> Module {
    let rel = file.strip_prefix(root).unwrap().with_extension("");
    let mut parts: Module = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The text without `//` comments (so that doc links are not imports).
fn code(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) if !l[..i].contains('"') => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every path a file names that starts at `crate`, `super` or `self`,
/// with `use` trees expanded (`use crate::{a, b::c}`).
fn paths(text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("use ") {
        let start = &rest[i + 4..];
        let end = start.find(';').unwrap_or(start.len());
        let tree: String = start[..end]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if tree.starts_with("crate") || tree.starts_with("super") || tree.starts_with("self") {
            expand(&tree, &mut out);
        }
        rest = &start[end.min(start.len())..];
    }
    let bytes = text.as_bytes();
    for (i, _) in text.match_indices("crate::") {
        if i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_') {
            continue;
        }
        let tail = &text[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(tail.len());
        out.push(segments(&tail[..end]));
    }
    out
}

fn segments(path: &str) -> Vec<String> {
    path.split("::")
        .filter(|s| !s.is_empty())
        .map(|s| s.split(" as ").next().unwrap().to_owned())
        .collect()
}

fn expand(tree: &str, out: &mut Vec<Vec<String>>) {
    let Some(open) = tree.find('{') else {
        out.push(segments(tree));
        return;
    };
    let head = tree[..open].trim_end_matches(':');
    let body = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let (mut depth, mut part) = (0, String::new());
    let mut parts = Vec::new();
    for c in body.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(std::mem::take(&mut part));
                continue;
            }
            _ => {}
        }
        part.push(c);
    }
    parts.push(part);
    for p in parts.into_iter().filter(|p| !p.is_empty()) {
        let joined = if p == "self" {
            head.to_owned()
        } else {
            format!("{head}::{p}")
        };
        expand(&joined, out);
    }
}

/// The file graph of one crate: each module's file, and the module files
/// it names.
fn graph(root: &Path) -> BTreeMap<Module, BTreeSet<Module>> {
    let mut all = Vec::new();
    files(root, &mut all);
    all.retain(|f| !f.starts_with(root.join("bin")));
    let modules: BTreeMap<Module, PathBuf> = all
        .iter()
        .map(|f| (module_of(root, f), f.clone()))
        .collect();
    let mut out = BTreeMap::new();
    for (me, file) in &modules {
        let text = code(&std::fs::read_to_string(file).unwrap());
        // A file's inline test module (at its end) is one level further
        // down: its `super` is the file.
        let (main, tests) = text.split_at(text.find("#[cfg(test)]").unwrap_or(text.len()));
        let mut in_tests = me.clone();
        in_tests.push("tests".into());
        let found = paths(main).into_iter().map(|p| (me, p));
        let found = found.chain(paths(tests).into_iter().map(|p| (&in_tests, p)));
        let mut targets = BTreeSet::new();
        for (at, path) in found {
            let (mut base, mut segs): (Module, &[String]) = match path.first().map(String::as_str) {
                Some("crate") => (Vec::new(), &path[1..]),
                Some("super") => (at[..at.len().saturating_sub(1)].to_vec(), &path[1..]),
                Some("self") => (at.clone(), &path[1..]),
                _ => continue,
            };
            while segs.first().is_some_and(|s| s == "super") {
                base.pop();
                segs = &segs[1..];
            }
            base.extend(segs.iter().cloned());
            // The longest prefix that is a module file.
            let found = (0..=base.len())
                .rev()
                .map(|k| base[..k].to_vec())
                .find(|m| modules.contains_key(m));
            if let Some(t) = found {
                // A parent naming its own child is the module tree.
                let child = t.len() == me.len() + 1 && t[..me.len()] == me[..];
                if t != *me && !child {
                    targets.insert(t);
                }
            }
        }
        out.insert(me.clone(), targets);
    }
    out
}

/// Files that are part of an import circle (Tarjan's strongly connected
/// components of more than one file).
fn circles(graph: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<Module>> {
    struct Walk<'a> {
        graph: &'a BTreeMap<Module, BTreeSet<Module>>,
        index: BTreeMap<&'a Module, usize>,
        low: BTreeMap<&'a Module, usize>,
        stack: Vec<&'a Module>,
        on: BTreeSet<&'a Module>,
        found: Vec<Vec<Module>>,
    }
    fn visit<'a>(w: &mut Walk<'a>, v: &'a Module) {
        let n = w.index.len();
        w.index.insert(v, n);
        w.low.insert(v, n);
        w.stack.push(v);
        w.on.insert(v);
        for t in &w.graph[v] {
            if !w.index.contains_key(t) {
                visit(w, t);
                let low = w.low[t].min(w.low[v]);
                w.low.insert(v, low);
            } else if w.on.contains(t) {
                let low = w.index[t].min(w.low[v]);
                w.low.insert(v, low);
            }
        }
        if w.low[v] == w.index[v] {
            let mut part = Vec::new();
            while let Some(t) = w.stack.pop() {
                w.on.remove(t);
                part.push(t.clone());
                if t == v {
                    break;
                }
            }
            if part.len() > 1 {
                w.found.push(part);
            }
        }
    }
    let mut w = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !w.index.contains_key(v) {
            visit(&mut w, v);
        }
    }
    w.found
}

fn layer(layers: &[&[&str]], top: &str) -> Option<usize> {
    layers.iter().position(|l| l.contains(&top))
}

/// What breaks the rules in one crate, as lines to show.
fn broken(root: &Path, layers: &[&[&str]]) -> Vec<String> {
    let graph = graph(root);
    let mut out = Vec::new();
    for part in circles(&graph) {
        let names: Vec<String> = part.iter().map(|m| m.join("::")).collect();
        out.push(format!("import circle: {}", names.join(" <-> ")));
    }
    for (me, targets) in &graph {
        let Some(top) = me.first() else { continue };
        let Some(mine) = layer(layers, top) else {
            out.push(format!("{top} is in no layer: add it to the list in tests/layers.rs and docs/architecture.md"));
            continue;
        };
        for t in targets {
            let Some(theirs) = t.first() else {
                out.push(format!("{} names the crate root", me.join("::")));
                continue;
            };
            if theirs == top {
                continue;
            }
            if layer(layers, theirs).is_none_or(|l| l >= mine) {
                out.push(format!(
                    "{} names {}: not a lower layer",
                    me.join("::"),
                    t.join("::")
                ));
            }
        }
    }
    out
}

#[test]
fn the_library_has_no_import_circle_and_its_layers_only_point_down() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let broken = broken(&root, LIBRARY);
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

#[test]
fn the_ide_has_no_import_circle_and_its_layers_only_point_down() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tui/src");
    let broken = broken(&root, IDE);
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

#[test]
fn the_checker_sees_a_circle_and_an_arrow_up() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::create_dir_all(src.join("session")).unwrap();
    std::fs::write(src.join("lib.rs"), "pub mod error;\npub mod session;\n").unwrap();
    std::fs::write(src.join("error.rs"), "use crate::session::Session; // up\n").unwrap();
    std::fs::write(
        src.join("session/mod.rs"),
        "mod a;\nuse crate::error::Error;\n",
    )
    .unwrap();
    std::fs::write(src.join("session/a.rs"), "use super::b::X;\n").unwrap();
    std::fs::write(
        src.join("session/b.rs"),
        "use crate::session::{a::Y, self};\n",
    )
    .unwrap();
    let found = broken(src, LIBRARY);
    assert!(
        found
            .iter()
            .any(|l| l == "error names session: not a lower layer"),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|l| l.starts_with("import circle:") && l.contains("session::a")),
        "{found:?}"
    );
    // A comment that names a module is not an import.
    std::fs::write(src.join("error.rs"), "// see crate::session\n").unwrap();
    let found = broken(src, LIBRARY);
    assert!(!found.iter().any(|l| l.starts_with("error")), "{found:?}");
}
