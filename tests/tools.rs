//! The built-in tools against the project's `[capabilities]`: file tools
//! stay inside the project folder, whatever path or link they are given;
//! `http_get` reaches only allowed hosts.

mod support;

use std::sync::Arc;

use llmspell::{Config, ErrorCode, RunOptions, Runtime, Spell};
use support::scripted::{Reply, Scripted};

#[global_allocator]
static ALLOC: llmspell::CountingAllocator = llmspell::CountingAllocator;

fn run(dir: &std::path::Path, toml: &str, src: &str) -> llmspell::Result<serde_json::Value> {
    let file = dir.join("llmspell.toml");
    std::fs::write(&file, toml).unwrap();
    let mut opts = RunOptions::new(Config::load(&file).unwrap());
    opts.output = Arc::new(|_| {});
    let mut spell = Spell::from_source("t.lua", src).unwrap();
    spell.dir = dir.to_path_buf();
    Runtime::new().run(&spell, &opts).result
}

fn code_of(dir: &std::path::Path, toml: &str, src: &str) -> ErrorCode {
    run(dir, toml, src).expect_err(src).code
}

#[test]
fn file_tools_read_write_and_list_inside_the_project() {
    let d = tempfile::tempdir().unwrap();
    let toml = "[capabilities]\nfs = true\n";
    let src = r#"
tool.call("write_file", {path = "notes/a.txt", content = "héllo"})
return {tool.call("read_file", {path = "notes/a.txt"}), tool.call("list_files", {path = "notes"}), tool.call("list_files", {})}"#;
    let out = run(d.path(), toml, src).unwrap();
    assert_eq!(out[0], "héllo");
    assert_eq!(out[1], serde_json::json!(["a.txt"]));
    assert_eq!(out[2], serde_json::json!(["llmspell.toml", "notes/"]));
    assert_eq!(
        std::fs::read_to_string(d.path().join("notes/a.txt")).unwrap(),
        "héllo"
    );
}

#[test]
fn file_tools_never_leave_the_project() {
    let d = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "s").unwrap();
    std::os::unix::fs::symlink(outside.path(), d.path().join("link")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("new.txt"), d.path().join("dangling")).unwrap();
    let rw = "[capabilities]\nfs = true\n";
    for src in [
        r#"return tool.call("read_file", {path = "../x"})"#,
        r#"return tool.call("read_file", {path = "/etc/passwd"})"#,
        r#"return tool.call("read_file", {path = "link/secret.txt"})"#,
        r#"return tool.call("list_files", {path = "link"})"#,
        r#"return tool.call("write_file", {path = "link/new.txt", content = "x"})"#,
        r#"return tool.call("write_file", {path = "dangling", content = "x"})"#,
        r#"return tool.call("write_file", {path = ".llmspell/state.db", content = "x"})"#,
        r#"return tool.call("read_file", {path = "a/../../x"})"#,
    ] {
        assert_eq!(
            code_of(d.path(), rw, src),
            ErrorCode::SandboxDenied,
            "{src}"
        );
    }
    assert!(!outside.path().join("new.txt").exists());
    let ro = "[capabilities]\nfs = \"read\"\n";
    assert_eq!(
        code_of(
            d.path(),
            ro,
            r#"return tool.call("write_file", {path = "a.txt", content = "x"})"#
        ),
        ErrorCode::SandboxDenied
    );
    assert!(run(d.path(), ro, r#"return tool.call("list_files", {})"#).is_ok());
    assert_eq!(
        code_of(d.path(), "", r#"return tool.call("list_files", {})"#),
        ErrorCode::SandboxDenied
    );
}

#[test]
fn http_get_reaches_only_allowed_hosts() {
    let d = tempfile::tempdir().unwrap();
    let server = Scripted::start(vec![Reply::Raw("{\"ok\":true}".into())]);
    let url = format!("{}/anything", server.url);
    let src = format!("return tool.call('http_get', {{url = '{url}'}})");
    assert_eq!(code_of(d.path(), "", &src), ErrorCode::SandboxDenied);
    assert_eq!(
        code_of(d.path(), "[capabilities]\nnet = [\"example.com\"]\n", &src),
        ErrorCode::SandboxDenied
    );
    let out = run(d.path(), "[capabilities]\nnet = [\"127.0.0.1\"]\n", &src).unwrap();
    assert_eq!(
        out,
        serde_json::json!({"status": 200, "body": "{\"ok\":true}"})
    );
    let file = "return tool.call('http_get', {url = 'file:///etc/passwd'})";
    assert_eq!(
        code_of(d.path(), "[capabilities]\nnet = [\"127.0.0.1\"]\n", file),
        ErrorCode::SandboxDenied
    );
}

#[test]
fn datetime_formats_and_refuses_bad_formats() {
    let d = tempfile::tempdir().unwrap();
    let out = run(
        d.path(),
        "",
        r#"return {tool.call("datetime", {}), tool.call("datetime", {format = "%Y"})}"#,
    )
    .unwrap();
    assert!(out[0].as_str().unwrap().contains('T'), "{out}");
    assert_eq!(out[1].as_str().unwrap().len(), 4);
    assert_eq!(
        code_of(
            d.path(),
            "",
            r#"return tool.call("datetime", {format = "%Q"})"#
        ),
        ErrorCode::ArgsInvalid
    );
}
