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
fn the_project_config_and_llmspell_own_files_are_never_written() {
    let d = tempfile::tempdir().unwrap();
    let toml = "[capabilities]\nfs = true\n";
    // The store exists, so .llmspell/ holds state.db.
    run(d.path(), toml, "state.set('k', 1)").unwrap();
    let p = d.path();
    std::os::unix::fs::symlink(p, p.join("here")).unwrap();
    std::os::unix::fs::symlink(p.join(".llmspell"), p.join("st")).unwrap();
    std::os::unix::fs::symlink(p.join("llmspell.toml"), p.join("cfg")).unwrap();
    std::os::unix::fs::symlink(p.join(".llmspell/state.db"), p.join("db")).unwrap();
    std::os::unix::fs::symlink(".llmspell/state.db", p.join("rdb")).unwrap();
    std::os::unix::fs::symlink(".llmspell", p.join("rst")).unwrap();
    std::fs::create_dir(p.join("sub")).unwrap();
    std::os::unix::fs::symlink("..", p.join("sub/up")).unwrap();
    let write = |path: &str| {
        format!("return tool.call('write_file', {{path = '{path}', content = '[capabilities]\\nnet = [\\\"*\\\"]'}})")
    };
    for path in [
        "llmspell.toml",
        "./llmspell.toml",
        "here/llmspell.toml",
        "sub/up/llmspell.toml",
        "cfg",
        ".llmspell/state.db",
        ".llmspell/new.txt",
        "st/state.db",
        "st/x/y.txt",
        "here/st/state.db",
        "db",
        "rdb",
        "rst/state.db",
        "here/.llmspell/history-lua",
    ] {
        assert_eq!(
            code_of(p, toml, &write(path)),
            ErrorCode::SandboxDenied,
            "{path}"
        );
    }
    for src in [
        "return tool.call('read_file', {path = 'st/state.db'})",
        "return tool.call('read_file', {path = 'db'})",
        "return tool.call('read_file', {path = 'rdb'})",
        "return tool.call('read_file', {path = 'rst/state.db'})",
        "return tool.call('list_files', {path = 'st'})",
        "return tool.call('list_files', {path = 'here/.llmspell'})",
    ] {
        assert_eq!(code_of(p, toml, src), ErrorCode::SandboxDenied, "{src}");
    }
    assert_eq!(
        std::fs::read_to_string(p.join("llmspell.toml")).unwrap(),
        toml,
        "the config was rewritten"
    );
    assert!(!p.join(".llmspell/x").exists() && !p.join(".llmspell/new.txt").exists());
    // The state is intact and the store still works.
    assert_eq!(run(p, toml, "return state.get('k')").unwrap(), 1);
    // A link inside the project is written through, as a shell's > does.
    std::fs::write(p.join("real.txt"), "old").unwrap();
    std::os::unix::fs::symlink(p.join("real.txt"), p.join("alias.txt")).unwrap();
    run(p, toml, &write("alias.txt")).unwrap();
    assert!(std::fs::read_to_string(p.join("real.txt"))
        .unwrap()
        .contains("net"));
    assert!(std::fs::symlink_metadata(p.join("alias.txt"))
        .unwrap()
        .file_type()
        .is_symlink());
}

#[test]
fn a_planted_link_at_the_temporary_name_is_never_followed() {
    let d = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let toml = "[capabilities]\nfs = true\n";
    let p = d.path();
    // Every temporary name an old or a guessing attacker would use.
    for name in ["notes.llmspell-tmp", ".notes.txt.llmspell-tmp"] {
        std::os::unix::fs::symlink(outside.path().join("pwned"), p.join(name)).unwrap();
    }
    for i in 0..4 {
        let name = format!(".notes.txt.llmspell-{}-{i}.tmp", std::process::id());
        std::os::unix::fs::symlink(outside.path().join("pwned"), p.join(name)).unwrap();
    }
    for _ in 0..8 {
        run(
            p,
            toml,
            "return tool.call('write_file', {path = 'notes.txt', content = 'x'})",
        )
        .ok();
    }
    assert!(
        !outside.path().join("pwned").exists(),
        "wrote outside the project"
    );
    assert_eq!(std::fs::read_to_string(p.join("notes.txt")).unwrap(), "x");
}

#[test]
fn a_link_swapped_in_while_writing_never_redirects_a_write() {
    let d = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let toml = "[capabilities]\nfs = true\n";
    let p = d.path().to_path_buf();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let swapper = {
        let (p, out, stop) = (p.clone(), outside.path().to_path_buf(), stop.clone());
        std::thread::spawn(move || {
            let sw = p.join("sw");
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = std::fs::create_dir(&sw);
                let _ = std::fs::remove_dir_all(&sw);
                let _ = std::os::unix::fs::symlink(&out, &sw);
                let _ = std::fs::remove_file(&sw);
            }
        })
    };
    let src = "for i = 1, 300 do pcall(tool.call, 'write_file', {path = 'sw/f' .. i .. '.txt', content = 'x'}) end";
    run(&p, toml, src).unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    swapper.join().unwrap();
    let leaked: Vec<_> = std::fs::read_dir(outside.path()).unwrap().collect();
    assert!(leaked.is_empty(), "wrote outside the project: {leaked:?}");
}

#[test]
fn only_regular_files_are_read_and_never_a_blocking_one() {
    let d = tempfile::tempdir().unwrap();
    let toml = "[capabilities]\nfs = true\n";
    let p = d.path();
    let fifo = p.join("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    std::os::unix::fs::symlink("/dev/zero", p.join("zero")).unwrap();
    std::fs::write(p.join("big.txt"), vec![b'a'; (4 << 20) + 1]).unwrap();
    let started = std::time::Instant::now();
    let read = |path: &str| {
        code_of(
            p,
            toml,
            &format!("return tool.call('read_file', {{path = '{path}'}})"),
        )
    };
    assert_eq!(read("pipe"), ErrorCode::ToolFailed);
    assert_eq!(read("zero"), ErrorCode::SandboxDenied);
    assert_eq!(read("big.txt"), ErrorCode::ToolFailed);
    assert_eq!(read("."), ErrorCode::ToolFailed);
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
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

#[test]
fn json_query_finds_values_by_jsonpath_in_values_and_in_text() {
    let d = tempfile::tempdir().unwrap();
    let src = r#"
local data = {items = {{name = "a", n = 1}, {name = "b", n = 5}}}
return {
  names = tool.call("json_query", {json = data, path = "$.items[*].name"}),
  big = tool.call("json_query", {json = json.encode(data), path = "$.items[?@.n > 2].name"}),
  none = tool.call("json_query", {json = data, path = "$.nope"}),
}"#;
    let out = run(d.path(), "", src).unwrap();
    assert_eq!(out["names"], serde_json::json!(["a", "b"]));
    assert_eq!(out["big"], serde_json::json!(["b"]));
    assert_eq!(out["none"], serde_json::json!([]));
    let bad = r#"return tool.call("json_query", {json = {}, path = "items["})"#;
    let e = run(d.path(), "", bad).unwrap_err();
    assert_eq!(e.code, ErrorCode::ToolFailed);
    assert!(e.message.contains("JSONPath"), "{}", e.report());
}

#[test]
fn csv_read_gives_rows_keyed_by_the_header_inside_the_project_only() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("a.csv"),
        "name,city\nAda,\"London, UK\"\nAlan,Wilmslow\n",
    )
    .unwrap();
    std::fs::write(d.path().join("b.tsv"), "k\tv\nx\t1\n").unwrap();
    let src = r#"return {tool.call("csv_read", {path = "a.csv"}), tool.call("csv_read", {path = "b.tsv", delimiter = "\t"})}"#;
    assert_eq!(code_of(d.path(), "", src), ErrorCode::SandboxDenied);
    let out = run(d.path(), "[capabilities]\nfs = \"read\"\n", src).unwrap();
    assert_eq!(
        out[0],
        serde_json::json!([{"name": "Ada", "city": "London, UK"}, {"name": "Alan", "city": "Wilmslow"}])
    );
    assert_eq!(out[1], serde_json::json!([{"k": "x", "v": "1"}]));
    let outside = r#"return tool.call("csv_read", {path = "../x.csv"})"#;
    assert_eq!(
        code_of(d.path(), "[capabilities]\nfs = \"read\"\n", outside),
        ErrorCode::SandboxDenied
    );
}

#[test]
fn the_calculator_is_exact_knows_units_and_never_runs_away() {
    let d = tempfile::tempdir().unwrap();
    let calc = |e: &str| {
        run(
            d.path(),
            "",
            &format!("return tool.call('calculator', {{expression = {e:?}}})"),
        )
    };
    for (expr, want) in [
        ("(3 + 4) * 6", serde_json::json!(42)),
        ("2 ^ 3 ^ 2", serde_json::json!(512)),
        ("7 / 2", serde_json::json!(3.5)),
        ("7 % 4", serde_json::json!(3)),
        ("0.1 + 0.2", serde_json::json!(0.3)),
        ("-4 / 8", serde_json::json!(-0.5)),
        ("sqrt(16) + 2^-1", serde_json::json!(4.5)),
        ("1e3 + 1", serde_json::json!(1001)),
        ("5 m + 3 cm", serde_json::json!("5.03 m")),
        (
            "2^100",
            serde_json::json!("1267650600228229401496703205376"),
        ),
    ] {
        assert_eq!(calc(expr).unwrap(), want, "{expr}");
    }
    let third = calc("1/3").unwrap().as_f64().unwrap();
    assert!((third - 1.0 / 3.0).abs() < 1e-9, "{third}");
    for bad in [
        "1 +",
        "1 / 0",
        "abc",
        "today",
        "random()",
        &"1+".repeat(1500),
    ] {
        let e = calc(bad).unwrap_err();
        assert_eq!(e.code, ErrorCode::ToolFailed, "{bad}: {e}");
    }
    // A number of 370 million digits is cut short, by the tool's own time
    // or the spell's limit, whichever comes first.
    let started = std::time::Instant::now();
    let e = calc("9^9^9").unwrap_err();
    assert_eq!(e.code, ErrorCode::ToolFailed, "{e}");
    assert!(e.message.contains("took more than"), "{e}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    let e = run(
        d.path(),
        "[limits]\ntimeout_secs = 0.3\n",
        "return tool.call('calculator', {expression = '9^9^9'})",
    )
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::LimitTime, "{e}");
}

#[test]
fn file_search_finds_lines_like_ripgrep_inside_the_project_only() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("far.txt"), "hello from outside").unwrap();
    std::fs::create_dir_all(p.join("sub/deeper")).unwrap();
    std::fs::create_dir_all(p.join(".hidden")).unwrap();
    std::fs::create_dir_all(p.join(".llmspell")).unwrap();
    std::fs::write(p.join("a.txt"), "hello world\nbye\nHELLO again\n").unwrap();
    std::fs::write(p.join("sub/b.md"), "say hello\n").unwrap();
    std::fs::write(p.join("sub/deeper/c.txt"), "nothing\n").unwrap();
    std::fs::write(p.join(".hidden/h.txt"), "hello hidden\n").unwrap();
    std::fs::write(p.join(".llmspell/own.txt"), "hello own\n").unwrap();
    std::fs::write(p.join("blob.bin"), b"hello\0binary").unwrap();
    std::os::unix::fs::symlink(outside.path().join("far.txt"), p.join("link.txt")).unwrap();
    std::os::unix::fs::symlink(outside.path(), p.join("linkdir")).unwrap();
    let toml = "[capabilities]\nfs = \"read\"\n";
    let search = |args: &str| run(p, toml, &format!("return tool.call('file_search', {args})"));
    let found = search("{pattern = 'hello'}").unwrap();
    let hits: Vec<(String, i64)> = found["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["path"].as_str().unwrap().to_owned(),
                m["line"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        hits,
        [("a.txt".to_owned(), 1), ("sub/b.md".to_owned(), 1)],
        "{found}"
    );
    assert_eq!(found["matches"][0]["text"], "hello world");
    assert_eq!(found["truncated"], false);
    let found = search("{pattern = 'hel+o', ignore_case = true, path = 'a.txt'}").unwrap();
    assert_eq!(found["matches"].as_array().unwrap().len(), 2, "{found}");
    let found = search("{pattern = '.', max_results = 2}").unwrap();
    assert_eq!(found["matches"].as_array().unwrap().len(), 2);
    assert_eq!(found["truncated"], true);
    let found = search("{pattern = 'say', path = 'sub'}").unwrap();
    assert_eq!(found["matches"][0]["path"], "sub/b.md");
    for (args, code) in [
        ("{pattern = 'x', path = '..'}", ErrorCode::SandboxDenied),
        (
            "{pattern = 'x', path = '.llmspell'}",
            ErrorCode::SandboxDenied,
        ),
        (
            "{pattern = 'x', path = 'linkdir'}",
            ErrorCode::SandboxDenied,
        ),
        ("{pattern = '(unclosed'}", ErrorCode::ToolFailed),
    ] {
        assert_eq!(search(args).unwrap_err().code, code, "{args}");
    }
    assert_eq!(
        code_of(p, "", "return tool.call('file_search', {pattern = 'x'})"),
        ErrorCode::SandboxDenied
    );
}

/// Answers every request with `body` as `kind`.
fn page_server(kind: &'static str, body: &'static str) -> u16 {
    use std::io::{BufRead, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                line.clear();
            }
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: {kind}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

#[test]
fn web_fetch_gives_a_page_as_readable_text_from_allowed_hosts_only() {
    let d = tempfile::tempdir().unwrap();
    let html = page_server(
        "text/html; charset=utf-8",
        "<html><head><title>T</title><style>p {color: red}</style><script>var secret = 1;</script></head>\
         <body><h1>Hello</h1><p>A <a href=\"/docs\">link</a> and <b>bold</b> text.</p><ul><li>one</li><li>two</li></ul></body></html>",
    );
    let plain = page_server("text/plain", "just text, <b>not</b> HTML");
    let toml = "[capabilities]\nnet = [\"127.0.0.1\"]\n";
    let fetch = |port: u16, extra: &str| {
        run(
            d.path(),
            toml,
            &format!("return tool.call('web_fetch', {{url = 'http://127.0.0.1:{port}/'{extra}}})"),
        )
    };
    let page = fetch(html, "").unwrap();
    assert_eq!(page["status"], 200);
    let text = page["text"].as_str().unwrap();
    for want in [
        "# Hello",
        "A [link][1] and **bold** text.",
        "* one",
        "[1]: /docs",
    ] {
        assert!(text.contains(want), "{want:?} in {text:?}");
    }
    assert!(
        !text.contains("secret") && !text.contains("color"),
        "{text}"
    );
    assert_eq!(page["truncated"], false);
    let page = fetch(plain, "").unwrap();
    assert_eq!(page["text"], "just text, <b>not</b> HTML");
    let page = fetch(plain, ", max_chars = 4").unwrap();
    assert_eq!(
        (page["text"].clone(), page["truncated"].clone()),
        (serde_json::json!("just"), serde_json::json!(true))
    );
    let src = format!("return tool.call('web_fetch', {{url = 'http://127.0.0.1:{html}/'}})");
    assert_eq!(code_of(d.path(), "", &src), ErrorCode::SandboxDenied);
}
