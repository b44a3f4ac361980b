//! A scripted provider: an HTTP server on 127.0.0.1 that speaks OpenAI's
//! chat completions and embeddings and answers from a script, in order.
//! It serves exact replies, tool calls, and faults: HTTP errors, slow or
//! malformed replies, streams cut short or split inside a character.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One scripted answer.
#[derive(Clone)]
pub enum Reply {
    /// A chat completion with this text (and tool calls: `(id, name, args)`).
    Text(String, Vec<(String, String, String)>),
    /// A status with a body.
    Status(u16, String),
    /// A body sent as is (say, malformed JSON) with status 200.
    Raw(String),
    /// Waits, then answers.
    Slow(Duration, Box<Reply>),
    /// A stream: each item is sent as its own network write, raw bytes.
    Stream(Vec<Vec<u8>>),
    /// A stream with this gap between writes.
    Paced(Duration, Vec<Vec<u8>>),
    /// Embeddings of this many dimensions for each input.
    Embed(usize),
}

impl Reply {
    /// This stream, with `gap` between its writes.
    pub fn paced(self, gap: Duration) -> Reply {
        match self {
            Reply::Stream(writes) => Reply::Paced(gap, writes),
            other => other,
        }
    }

    pub fn text(t: &str) -> Reply {
        Reply::Text(t.to_owned(), Vec::new())
    }

    /// SSE events for `pieces`, each piece split into its own write at
    /// byte `split` (inside a character when the text is not ASCII).
    pub fn stream(pieces: &[&str], split: Option<usize>, finish: bool) -> Reply {
        let mut writes = Vec::new();
        for p in pieces {
            let ev = format!(
                "data: {}\n\n",
                serde_json::json!({"choices": [{"index": 0, "delta": {"content": p}}]})
            );
            let bytes = ev.into_bytes();
            match split {
                Some(at) if at < bytes.len() => {
                    writes.push(bytes[..at].to_vec());
                    writes.push(bytes[at..].to_vec());
                }
                _ => writes.push(bytes),
            }
        }
        if finish {
            let usage = serde_json::json!({"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": pieces.len()}});
            writes.push(format!("data: {usage}\n\n").into_bytes());
            writes.push(b"data: [DONE]\n\n".to_vec());
        }
        Reply::Stream(writes)
    }
}

pub struct Scripted {
    pub url: String,
    /// Request bodies received, in order.
    pub requests: Arc<Mutex<Vec<serde_json::Value>>>,
    /// The `Authorization` headers received.
    pub auth: Arc<Mutex<Vec<String>>>,
    /// The request lines received (`POST /v1/chat/completions`).
    pub paths: Arc<Mutex<Vec<String>>>,
    /// The most requests that were being answered at the same time.
    pub most_in_flight: Arc<Mutex<usize>>,
    /// Connections accepted.
    pub connections: Arc<Mutex<usize>>,
}

impl Scripted {
    pub fn start(replies: Vec<Reply>) -> Scripted {
        Scripted::serving(Box::new(replies.into_iter()))
    }

    /// A server that gives the same reply to every request (benchmarks).
    pub fn always(reply: Reply) -> Scripted {
        Scripted::serving(Box::new(std::iter::repeat(reply)))
    }

    fn serving(replies: Box<dyn Iterator<Item = Reply> + Send>) -> Scripted {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/v1", listener.local_addr().unwrap());
        let replies = Arc::new(Mutex::new(replies));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let auth = Arc::new(Mutex::new(Vec::new()));
        let paths = Arc::new(Mutex::new(Vec::new()));
        let most_in_flight = Arc::new(Mutex::new(0));
        let flight = Flight(Arc::new(Mutex::new(0)), most_in_flight.clone());
        let connections = Arc::new(Mutex::new(0));
        let accepted = connections.clone();
        let seen = Seen {
            requests: requests.clone(),
            auth: auth.clone(),
            paths: paths.clone(),
        };
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                *accepted.lock().unwrap() += 1;
                // One write per reply and no Nagle delay: replies are instant.
                let _ = conn.set_nodelay(true);
                let (r, s, f) = (replies.clone(), seen.clone(), flight.clone());
                std::thread::spawn(move || serve(conn, r, s, f));
            }
        });
        Scripted {
            url,
            requests,
            auth,
            paths,
            most_in_flight,
            connections,
        }
    }

    pub fn toml(&self) -> String {
        format!(
            "[providers.mock]\nkind = \"openai_compatible\"\nbase_url = \"{}\"\nmodel = \"m1\"\n\n[defaults]\nmodel = \"mock/m1\"\n",
            self.url
        )
    }
}

type Replies = Arc<Mutex<Box<dyn Iterator<Item = Reply> + Send>>>;

/// Requests being answered now, and the most at once.
#[derive(Clone)]
struct Flight(Arc<Mutex<usize>>, Arc<Mutex<usize>>);

/// What the server keeps of each request.
#[derive(Clone)]
struct Seen {
    requests: Arc<Mutex<Vec<serde_json::Value>>>,
    auth: Arc<Mutex<Vec<String>>>,
    paths: Arc<Mutex<Vec<String>>>,
}

fn serve(conn: TcpStream, replies: Replies, seen: Seen, flight: Flight) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut out = conn;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let request_line: Vec<&str> = line.split_whitespace().take(2).collect();
        seen.paths.lock().unwrap().push(request_line.join(" "));
        let mut len = 0usize;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            let lower = h.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                len = v.trim().parse().unwrap_or(0);
            }
            if lower.starts_with("authorization:") {
                seen.auth.lock().unwrap().push(h.to_owned());
            }
        }
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        seen.requests.lock().unwrap().push(json);
        let reply = replies
            .lock()
            .unwrap()
            .next()
            .unwrap_or(Reply::Status(500, "the script has no more replies".into()));
        {
            let mut now = flight.0.lock().unwrap();
            *now += 1;
            let mut most = flight.1.lock().unwrap();
            *most = (*most).max(*now);
        }
        let open = answer(&mut out, reply);
        *flight.0.lock().unwrap() -= 1;
        if !open {
            return;
        }
    }
}

/// Writes one reply; false when the connection must close.
fn answer(out: &mut TcpStream, reply: Reply) -> bool {
    let send = |out: &mut TcpStream, status: u16, body: &str| {
        let head = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        out.write_all(format!("{head}{body}").as_bytes()).is_ok()
    };
    match reply {
        Reply::Text(text, calls) => {
            let tool_calls: Vec<_> = calls
                .iter()
                .map(|(id, name, args)| {
                    serde_json::json!({"id": id, "type": "function", "function": {"name": name, "arguments": args}})
                })
                .collect();
            let mut message = serde_json::json!({"role": "assistant", "content": text});
            if !tool_calls.is_empty() {
                message["tool_calls"] = tool_calls.into();
            }
            let body = serde_json::json!({
                "id": "c1", "object": "chat.completion", "model": "m1",
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 7, "completion_tokens": 5, "total_tokens": 12}
            });
            send(out, 200, &body.to_string())
        }
        Reply::Status(status, body) => send(out, status, &body),
        Reply::Raw(body) => send(out, 200, &body),
        Reply::Slow(d, inner) => {
            std::thread::sleep(d);
            answer(out, *inner)
        }
        Reply::Embed(dims) => {
            let body = serde_json::json!({"object": "list", "model": "m1",
                "data": [{"index": 0, "embedding": vec![0.5; dims]}, {"index": 1, "embedding": vec![0.25; dims]}],
                "usage": {"prompt_tokens": 2, "total_tokens": 2}});
            send(out, 200, &body.to_string())
        }
        Reply::Stream(writes) => answer(out, Reply::Paced(Duration::from_millis(15), writes)),
        Reply::Paced(gap, writes) => {
            let head =
                "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n";
            if out.write_all(head.as_bytes()).is_err() {
                return false;
            }
            for w in writes {
                if out.write_all(&w).and_then(|_| out.flush()).is_err() {
                    return false;
                }
                std::thread::sleep(gap);
            }
            false
        }
    }
}
