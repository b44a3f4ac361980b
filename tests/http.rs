//! `http.request` in every engine against a real HTTP server on 127.0.0.1
//! (a small one here: it answers with what it was sent, redirects, and
//! sends big bodies): JSON and form bodies, query strings, a host-held
//! secret that the spell, its output and its run never hold, and each way
//! past the allow-list that must not work.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::Arc;

use llmspell::{Config, EngineKind, ErrorCode, RunOptions, Runtime, Spell};
use serde_json::{json, Value as Json};

/// A server that answers `/echo` with the request as JSON, `/go?to=URL`
/// with a redirect there, and `/big` with 100 KB.
fn server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut first = String::new();
                if reader.read_line(&mut first).is_err() {
                    return;
                }
                let mut headers = serde_json::Map::new();
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap_or(0);
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some((k, v)) = line.split_once(':') {
                        let (k, v) = (k.to_ascii_lowercase(), v.trim().to_owned());
                        if k == "content-length" {
                            length = v.parse().unwrap_or(0);
                        }
                        headers.insert(k, Json::String(v));
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap_or(());
                let mut parts = first.split_whitespace();
                let method = parts.next().unwrap_or_default().to_owned();
                let target = parts.next().unwrap_or_default().to_owned();
                let (status, kind, extra, out) = if target.starts_with("/go?to=") {
                    let to = target
                        .trim_start_matches("/go?to=")
                        .replace("%3A", ":")
                        .replace("%2F", "/");
                    (
                        302,
                        "text/plain",
                        format!("location: {to}\r\n"),
                        String::new(),
                    )
                } else if target == "/big" {
                    (200, "text/plain", String::new(), "x".repeat(100_000))
                } else {
                    let echo = json!({
                        "method": method,
                        "target": target,
                        "headers": headers,
                        "body": String::from_utf8_lossy(&body),
                    });
                    (200, "application/json", String::new(), echo.to_string())
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\ncontent-type: {kind}\r\n{extra}content-length: {}\r\nconnection: close\r\n\r\n{out}",
                    out.len()
                );
            });
        }
    });
    port
}

fn run(
    kind: EngineKind,
    dir: &std::path::Path,
    toml: &str,
    src: &str,
) -> (Result<Json, llmspell::Error>, String) {
    std::fs::write(dir.join("llmspell.toml"), toml).unwrap();
    let config = Config::load(&dir.join("llmspell.toml")).unwrap();
    let mut spell = Spell::from_source(&format!("h.{}", kind.extension()), src).unwrap();
    spell.dir = dir.to_path_buf();
    let printed = Arc::new(std::sync::Mutex::new(String::new()));
    let mut opts = RunOptions::new(config);
    let sink = printed.clone();
    opts.output = Arc::new(move |l| sink.lock().unwrap().push_str(&String::from_utf8_lossy(l)));
    let out = Runtime::new().run_here(&spell, &opts);
    let printed = printed.lock().unwrap().clone();
    (out.result, printed)
}

/// One request in each language: `req` is a JSON object, written as each
/// language writes a table.
fn spells(req: &str) -> [(EngineKind, String); 3] {
    let lua = req
        .replace("\":", "\" =")
        .replace("{\"", "{[\"")
        .replace(", \"", ", [\"")
        .replace("\" =", "\"] =");
    [
        (EngineKind::Lua, format!("local r = http.request({lua})\nprint(json.encode(r.json or r.status))\nreturn r")),
        (EngineKind::Js, format!("const r = await http.request({req});\nprint(json.encode(r.json ?? r.status));\nexport default r;")),
        (EngineKind::Rhai, format!("let r = http.request({});\nprint(json.encode(if r.json != () {{ r.json }} else {{ r.status }}));\nr", req.replace("{\"", "#{\""))),
    ]
}

#[test]
fn a_json_post_with_a_host_held_secret_in_every_engine() {
    let port = server();
    std::env::set_var("LLMSPELL_TEST_SECRET", "s3cret-value-123");
    let toml = "[capabilities]\nnet = [\"localhost\"]\n\n[secrets.api]\nenv = \"LLMSPELL_TEST_SECRET\"\nhosts = [\"localhost\"]\n";
    let url = format!("http://localhost:{port}/echo");
    let req = format!(
        "{{\"method\": \"POST\", \"url\": \"{url}\", \"json\": {{\"n\": 1}}, \"query\": {{\"q\": \"a b\"}}, \"headers\": {{\"x-one\": \"1\"}}, \"auth\": \"api\"}}"
    );
    for (kind, src) in spells(&req) {
        let dir = tempfile::tempdir().unwrap();
        let (result, printed) = run(kind, dir.path(), toml, &src);
        let r = result.unwrap_or_else(|e| panic!("{kind}: {}", e.report()));
        assert_eq!(r["status"], 200, "{kind}");
        let echo = &r["json"];
        assert_eq!(echo["method"], "POST", "{kind}");
        assert_eq!(echo["target"], "/echo?q=a+b", "{kind}");
        assert_eq!(echo["body"], "{\"n\":1}", "{kind}");
        assert_eq!(echo["headers"]["x-one"], "1", "{kind}");
        assert_eq!(
            echo["headers"]["content-type"], "application/json",
            "{kind}"
        );
        // The server got the secret; the spell sees only its name.
        assert_eq!(echo["headers"]["authorization"], "[secret api]", "{kind}");
        let everything = format!("{r}{printed}");
        assert!(!everything.contains("s3cret"), "{kind}: {everything}");
        // Nor does the run's own store hold it anywhere.
        for f in walk(dir.path()) {
            let bytes = std::fs::read(&f).unwrap();
            assert!(
                !String::from_utf8_lossy(&bytes).contains("s3cret"),
                "{kind}: {}",
                f.display()
            );
        }
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn forms_bodies_and_caps() {
    let port = server();
    let toml = "[capabilities]\nnet = [\"127.0.0.1\"]\n";
    let dir = tempfile::tempdir().unwrap();
    let src = format!(
        "local f = http.request{{method = \"PUT\", url = \"http://127.0.0.1:{port}/echo\", form = {{a = \"1 2\", b = 3}}}}\n\
         local t = http.request{{method = \"post\", url = \"http://127.0.0.1:{port}/echo\", body = \"plain\"}}\n\
         local ok, e = pcall(http.request, {{url = \"http://127.0.0.1:{port}/big\", max_bytes = 1000}})\n\
         local big = http.request{{url = \"http://127.0.0.1:{port}/big\"}}\n\
         return {{form = f.json.body, ctype = f.json.headers[\"content-type\"], text = t.json.body, \
         method = t.json.method, capped = tostring(e), big = #big.body, no_json = big.json == nil}}"
    );
    let (result, _) = run(EngineKind::Lua, dir.path(), toml, &src);
    let r = result.unwrap_or_else(|e| panic!("{}", e.report()));
    assert_eq!(r["form"], "a=1+2&b=3");
    assert_eq!(r["ctype"], "application/x-www-form-urlencoded");
    assert_eq!(
        (r["text"].clone(), r["method"].clone()),
        (json!("plain"), json!("POST"))
    );
    assert!(
        r["capped"].as_str().unwrap().starts_with("http.too_large"),
        "{r}"
    );
    assert_eq!(
        (r["big"].clone(), r["no_json"].clone()),
        (json!(100_000), json!(true))
    );
}

#[test]
fn no_way_past_the_allow_list() {
    let port = server();
    std::env::set_var("LLMSPELL_TEST_SECRET2", "another-secret-456");
    let toml = "[capabilities]\nnet = [\"localhost\", \"example.com\"]\n\n\
                [secrets.other]\nenv = \"LLMSPELL_TEST_SECRET2\"\nhosts = [\"example.com\"]\n";
    let denied = ErrorCode::SandboxDenied;
    for (url, extra, code, says) in [
        // Not listed.
        (
            format!("http://nothere.test:{port}/echo"),
            "",
            denied,
            "not in [capabilities] net",
        ),
        // Addresses, however spelled, only when listed exactly.
        (
            format!("http://127.0.0.1:{port}/echo"),
            "",
            denied,
            "is an address",
        ),
        (
            format!("http://0x7f.1:{port}/echo"),
            "",
            denied,
            "is an address",
        ),
        (
            format!("http://2130706433:{port}/echo"),
            "",
            denied,
            "is an address",
        ),
        (
            format!("http://[::1]:{port}/echo"),
            "",
            denied,
            "is an address",
        ),
        (
            format!("http://[::ffff:127.0.0.1]:{port}/echo"),
            "",
            denied,
            "is an address",
        ),
        // A user name to hide the real host behind.
        (
            format!("http://example.com@127.0.0.1:{port}/echo"),
            "",
            denied,
            "user name",
        ),
        (
            format!("http://localhost:{port}@example.com/"),
            "",
            denied,
            "user name",
        ),
        // Another scheme.
        ("file:///etc/passwd".to_owned(), "", denied, "not http"),
        // A redirect to a host not listed, or to an address.
        (
            format!("http://localhost:{port}/go?to=http%3A%2F%2F127.0.0.1%3A{port}%2Fecho"),
            "",
            ErrorCode::HttpFailed,
            "redirect",
        ),
        // A secret only goes to its own hosts.
        (
            format!("http://localhost:{port}/echo"),
            ", auth = \"other\"",
            denied,
            "may go only to",
        ),
        (
            format!("http://localhost:{port}/echo"),
            ", auth = \"none\"",
            ErrorCode::ConfigInvalid,
            "no [secrets.none]",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let src = format!("return http.request{{url = \"{url}\"{extra}}}");
        let (result, _) = run(EngineKind::Lua, dir.path(), toml, &src);
        let e = result.expect_err(&url);
        assert_eq!(e.code, code, "{url}: {}", e.report());
        assert!(e.message.contains(says), "{url}: {}", e.report());
    }
    // A secret never follows a redirect off its hosts, whatever header it
    // goes in.
    std::env::set_var("LLMSPELL_TEST_SECRET4", "redirected-secret-789");
    let toml2 = "[capabilities]\nnet = [\"localhost\", \"127.0.0.1\"]\n\n\
                 [secrets.key]\nenv = \"LLMSPELL_TEST_SECRET4\"\nhosts = [\"localhost\"]\n\
                 header = \"x-api-key\"\nprefix = \"\"\n";
    let hop = format!("http://localhost:{port}/go?to=http%3A%2F%2F127.0.0.1%3A{port}%2Fecho");
    let dir = tempfile::tempdir().unwrap();
    let src = format!("return http.request{{url = \"{hop}\", auth = \"key\"}}");
    let (result, _) = run(EngineKind::Lua, dir.path(), toml2, &src);
    let e = result.expect_err("a secret redirected");
    assert_eq!(e.code, ErrorCode::HttpFailed, "{}", e.report());
    assert!(e.message.contains("off its hosts"), "{}", e.report());
    // Without the secret the same redirect is followed.
    let src = format!("return http.request{{url = \"{hop}\"}}.json.target");
    let (result, _) = run(EngineKind::Lua, dir.path(), toml2, &src);
    assert_eq!(result.unwrap(), "/echo");

    // The built-in tool `http_get` goes through the same checks.
    for (url, code) in [
        (format!("http://0x7f.1:{port}/echo"), denied),
        (format!("http://example.com@127.0.0.1:{port}/echo"), denied),
        (
            format!("http://localhost:{port}/go?to=http%3A%2F%2F127.0.0.1%3A{port}%2Fecho"),
            ErrorCode::HttpFailed,
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let src = format!("return tool.call('http_get', {{url = '{url}'}})");
        let (result, _) = run(EngineKind::Lua, dir.path(), toml, &src);
        assert_eq!(result.expect_err(&url).code, code, "{url}");
    }
    let dir = tempfile::tempdir().unwrap();
    let src = format!("return tool.call('http_get', {{url = 'http://localhost:{port}/echo'}})");
    let (result, _) = run(EngineKind::Lua, dir.path(), toml, &src);
    let r = result.unwrap();
    assert_eq!(r["status"], 200);
    assert!(
        r["body"].as_str().unwrap().contains("\"method\":\"GET\""),
        "{r}"
    );

    // A listed name that resolves to a loopback address is refused unless
    // it is named exactly: `*.localhost` lets `localhost` through the list,
    // but not to 127.0.0.1.
    let dir = tempfile::tempdir().unwrap();
    let toml = "[capabilities]\nnet = [\"*.localhost\"]\n";
    let src = format!("return http.request{{url = \"http://localhost:{port}/echo\"}}");
    let (result, _) = run(EngineKind::Lua, dir.path(), toml, &src);
    let e = result.expect_err("localhost by a wildcard");
    assert_eq!(e.code, ErrorCode::HttpFailed, "{}", e.report());
    assert!(e.message.contains("not public"), "{}", e.report());
}

#[test]
fn a_kept_run_never_holds_the_secret() {
    let port = server();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("llmspell.toml"),
        "[capabilities]\nnet = [\"localhost\"]\n\n[secrets.api]\nenv = \"LLMSPELL_TEST_SECRET3\"\nhosts = [\"localhost\"]\nheader = \"x-api-key\"\nprefix = \"\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("k.lua"),
        format!(
            "local r = http.request{{url = \"http://localhost:{port}/echo\", auth = \"api\"}}\n\
             log.info(\"got\", r.json.headers)\nprint(json.encode(r.json.headers))\nreturn r.status"
        ),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_llmspell"))
        .args(["run", "k.lua"])
        .env("LLMSPELL_TEST_SECRET3", "key-0123456789")
        .current_dir(dir.path())
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{said}");
    assert!(said.contains("\"x-api-key\":\"[secret api]\""), "{said}");
    assert!(!said.contains("0123456789"), "{said}");
    let kept = walk(&dir.path().join(".llmspell"));
    assert!(!kept.is_empty());
    for f in kept {
        let bytes = std::fs::read(&f).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains("0123456789"), "{}", f.display());
    }
}
