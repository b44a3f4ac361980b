//! `llmspell dap`: a Debug Adapter Protocol server, on stdio or (with
//! `--port N`) on 127.0.0.1, so that any editor with a DAP client (VS
//! Code, Neovim's nvim-dap, Helix) debugs a spell as the IDE does: line
//! breakpoints with conditions, hit counts and log messages, bridge-call
//! breakpoints by pattern, a pause on a failed call, the stack, scopes,
//! evaluation, setting variables, and every kind of step. At a bridge
//! call's pause, its arguments (after a step, its reply) are a scope
//! whose variables can be set: the call goes on with them.
//!
//! Messages are JSON, framed by `Content-Length` headers. One launched
//! spell per session (thread 1); the spell runs on its own thread while
//! this one answers requests, and a watcher thread turns pauses and the
//! end of the run into events.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use llmspell::debug::{Breakpoint, Debugger, Pause, Resume, When};
use llmspell::{Error, ErrorCode, RunHandle, RunOptions, Runtime, Spell};
use serde_json::{json, Value as Json};

/// How long a request waits for the paused spell to answer (locals,
/// evaluation).
const ANSWER: Duration = Duration::from_secs(10);
/// Variable references: a frame's locals are `LOCALS + frame`, the call's
/// arguments or reply `CALL`; a value inside one of those is numbered
/// from `INNER` on, for the pause it was shown at.
const CALL: i64 = 1;
const LOCALS: i64 = 1000;
const INNER: i64 = 100_000;

/// Serves one client on stdio, or each client of a port on 127.0.0.1 in
/// turn.
pub fn main(port: Option<u16>) -> Result<(), Error> {
    let io = |e: std::io::Error| Error::new(ErrorCode::SpellIo, format!("dap: {e}"));
    match port {
        None => {
            let out: Box<dyn Write + Send> = Box::new(std::io::stdout());
            serve(BufReader::new(std::io::stdin()), out);
            Ok(())
        }
        Some(port) => {
            let listener = std::net::TcpListener::bind(("127.0.0.1", port)).map_err(io)?;
            warn!("llmspell dap: listening on 127.0.0.1:{port}");
            for stream in listener.incoming() {
                let stream = stream.map_err(io)?;
                let writer = stream.try_clone().map_err(io)?;
                serve(BufReader::new(stream), Box::new(writer));
            }
            Ok(())
        }
    }
}

/// The client's side: messages out, numbered; and, when
/// `LLMSPELL_DAP_LOG` names a file, every message both ways written there
/// (to see what an editor and the adapter said to each other).
struct Client {
    out: Mutex<Box<dyn Write + Send>>,
    seq: AtomicI64,
    log: Option<Mutex<std::fs::File>>,
}

impl Client {
    fn log(&self, way: &str, message: &Json) {
        if let Some(log) = &self.log {
            let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
            let _ = writeln!(log, "{way} {message}");
        }
    }

    fn send(&self, mut message: Json) {
        message["seq"] = json!(self.seq.fetch_add(1, Ordering::Relaxed));
        self.log(">", &message);
        let body = message.to_string();
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let _ = write!(out, "Content-Length: {}\r\n\r\n{body}", body.len());
        let _ = out.flush();
    }

    fn event(&self, event: &str, body: Json) {
        self.send(json!({"type": "event", "event": event, "body": body}));
    }

    fn output(&self, category: &str, text: String) {
        self.event("output", json!({"category": category, "output": text}));
    }
}

/// One message in: `None` at the end of the input or on a frame that
/// cannot be read.
fn read_message(input: &mut impl BufRead) -> Option<Json> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if input.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse::<usize>().ok();
            }
        }
    }
    // A message bigger than this is no client's.
    let length = length.filter(|l| *l <= 64 << 20)?;
    let mut body = vec![0; length];
    input.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

fn serve(mut input: impl BufRead, out: Box<dyn Write + Send>) {
    let log = std::env::var_os("LLMSPELL_DAP_LOG").and_then(|f| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(f)
            .ok()
    });
    let client = Arc::new(Client {
        out: Mutex::new(out),
        seq: AtomicI64::new(1),
        log: log.map(Mutex::new),
    });
    let mut session = DapSession::new(client.clone());
    while let Some(message) = read_message(&mut input) {
        client.log("<", &message);
        if message["type"] != "request" {
            continue;
        }
        let command = message["command"].as_str().unwrap_or_default().to_owned();
        let args = message.get("arguments").cloned().unwrap_or(json!({}));
        let answer = session.handle(&command, &args);
        let mut response = json!({
            "type": "response",
            "request_seq": message["seq"],
            "command": command,
        });
        match answer {
            Ok(body) => {
                response["success"] = json!(true);
                response["body"] = body;
            }
            Err(e) => {
                response["success"] = json!(false);
                response["message"] = json!(e);
                response["body"] = json!({"error": {"id": 1, "format": e, "showUser": true}});
            }
        }
        client.send(response);
        if command == "initialize" {
            client.event("initialized", json!({}));
        }
        if command == "disconnect" {
            break;
        }
    }
    session.end();
}

/// What `launch` asked for.
struct Launch {
    program: PathBuf,
    args: serde_json::Map<String, Json>,
    replay: Option<PathBuf>,
    stop_on_entry: bool,
    no_debug: bool,
}

/// The pause the client was told of, shared with the watcher thread.
#[derive(Default)]
struct Paused {
    /// The pause, and its number.
    pause: Option<(u64, Pause)>,
    /// The arguments or reply as edited at this pause (`setVariable`).
    edited: Option<Json>,
    /// Values inside variables, by reference, for this pause.
    inner: HashMap<i64, Inner>,
}

/// A value inside a variable: where it is, to set what is inside it.
struct Inner {
    value: Json,
    /// Inside the call's arguments or reply: its JSON pointer there.
    in_call: Option<String>,
}

struct DapSession {
    client: Arc<Client>,
    debugger: Debugger,
    launch: Option<Launch>,
    stop: Option<llmspell::StopHandle>,
    paused: Arc<Mutex<Paused>>,
    watcher: Option<std::thread::JoinHandle<()>>,
}

type Answer = Result<Json, String>;

fn capabilities() -> Json {
    json!({
        "supportsConfigurationDoneRequest": true,
        "supportsConditionalBreakpoints": true,
        "supportsHitConditionalBreakpoints": true,
        "supportsLogPoints": true,
        "supportsFunctionBreakpoints": true,
        "supportsEvaluateForHovers": true,
        "supportsSetVariable": true,
        "supportsTerminateRequest": true,
        "exceptionBreakpointFilters": [{
            "filter": "errors",
            "label": "Failed bridge calls",
            "description": "Pause when a bridge call fails with a coded error; \
                            set `result` to go on with a value instead",
            "default": false,
        }],
    })
}

/// What a bridge call's pause shows as its scope and lets the client edit.
#[derive(Clone, Copy, PartialEq, Eq)]
enum CallPart {
    /// Before the call: its arguments, numbered from 1.
    Arguments,
    /// After it: `reply`, what it returned.
    Reply,
    /// After it failed: the `error`, and a `result` to give instead.
    Error,
}

impl CallPart {
    fn of(p: &Pause) -> CallPart {
        match (p.when, p.why) {
            (_, llmspell::debug::Why::Error) => CallPart::Error,
            (When::Before, _) => CallPart::Arguments,
            _ => CallPart::Reply,
        }
    }

    fn scope(self) -> &'static str {
        match self {
            CallPart::Arguments => "Arguments",
            CallPart::Reply => "Reply",
            CallPart::Error => "Error",
        }
    }

    /// The JSON the client sees and edits.
    fn value(self, p: &Pause) -> Json {
        match self {
            CallPart::Arguments => Json::Array(p.args.clone()),
            CallPart::Reply => json!({"reply": p.result}),
            CallPart::Error => json!({"error": p.note, "result": null}),
        }
    }

    /// What the call goes on with, from that JSON as edited.
    fn resumed(self, edited: Json) -> Json {
        match self {
            CallPart::Arguments => edited,
            CallPart::Reply => edited["reply"].clone(),
            CallPart::Error => edited["result"].clone(),
        }
    }
}

/// A key as one step of a JSON pointer (RFC 6901).
fn pointer_step(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// A value as the client shows it.
fn shown(v: &Json) -> String {
    let text = v.to_string();
    match text.char_indices().nth(200) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

/// Turns pauses into `stopped` events until the run ends, then keeps it
/// and says how it ended.
fn watch(
    run: RunHandle,
    recorder: Option<llmspell::history::Recorder>,
    debugger: &Debugger,
    client: &Client,
    paused: &Mutex<Paused>,
) {
    let mut seen = 0;
    loop {
        if let Some((n, p)) = debugger.wait_next_pause(seen, Duration::from_millis(50)) {
            seen = n;
            let event = json!({
                "reason": p.why.as_str(),
                "threadId": 1,
                "allThreadsStopped": true,
                "description": match p.when {
                    When::Line => format!("paused at line {}", p.location.as_ref().map_or(0, |l| l.line)),
                    When::Before => format!("paused before {}", p.call),
                    When::After => format!("paused after {}", p.call),
                },
                "text": p.note.clone(),
            });
            *paused.lock().unwrap_or_else(|e| e.into_inner()) = Paused {
                pause: Some((n, p)),
                ..Paused::default()
            };
            client.event("stopped", event);
            continue;
        }
        if run.is_finished() {
            break;
        }
    }
    let outcome = run.join();
    if let Some(r) = recorder {
        crate::runs::keep(r, &outcome);
    }
    let code = match &outcome.result {
        Ok(v) => {
            if !v.is_null() {
                client.output("console", format!("{v}\n"));
            }
            0
        }
        Err(e) => {
            client.output("stderr", format!("{}\n", e.report()));
            1
        }
    };
    client.event("exited", json!({"exitCode": code}));
    client.event("terminated", json!({}));
}

impl DapSession {
    fn new(client: Arc<Client>) -> DapSession {
        DapSession {
            client,
            debugger: Debugger::new(),
            launch: None,
            stop: None,
            paused: Arc::default(),
            watcher: None,
        }
    }

    fn paused(&self) -> std::sync::MutexGuard<'_, Paused> {
        self.paused.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn pause(&self) -> Option<Pause> {
        self.paused().pause.as_ref().map(|(_, p)| p.clone())
    }

    /// The client went: a spell still running is stopped.
    fn end(&mut self) {
        if let Some(stop) = &self.stop {
            stop.stop();
        }
        if let Some(w) = self.watcher.take() {
            let _ = w.join();
        }
    }

    fn handle(&mut self, command: &str, args: &Json) -> Answer {
        match command {
            "initialize" => Ok(capabilities()),
            "launch" => self.launch(args),
            "setBreakpoints" => self.set_breakpoints(args),
            "setFunctionBreakpoints" => {
                self.debugger.clear_breaks();
                let list = args["breakpoints"].as_array().cloned().unwrap_or_default();
                let mut answers = Vec::new();
                for bp in list {
                    let name = bp["name"].as_str().unwrap_or_default().trim().to_owned();
                    if name.is_empty() {
                        answers.push(json!({"verified": false, "message": "no pattern"}));
                    } else {
                        self.debugger.break_on(&name);
                        answers.push(json!({"verified": true}));
                    }
                }
                Ok(json!({"breakpoints": answers}))
            }
            "setExceptionBreakpoints" => {
                let filters = args["filters"].as_array().cloned().unwrap_or_default();
                self.debugger
                    .break_on_errors(filters.iter().any(|f| f == "errors"));
                Ok(json!({}))
            }
            "configurationDone" => self.start(),
            "threads" => Ok(json!({"threads": [{"id": 1, "name": "spell"}]})),
            "stackTrace" => self.stack_trace(),
            "scopes" => self.scopes(args),
            "variables" => self.variables(args),
            "setVariable" => self.set_variable(args),
            "evaluate" => self.evaluate(args),
            "continue" => self
                .resume(Resume::Continue)
                .map(|_| json!({"allThreadsContinued": true})),
            "next" => {
                // Over the call a pause is before; else to the next line.
                let before = self.pause().is_some_and(|p| p.when == When::Before);
                self.resume(if before { Resume::Step } else { Resume::Next })
            }
            "stepIn" => self.resume(Resume::StepLine),
            "stepOut" => self.resume(Resume::StepOut),
            "pause" => {
                self.debugger.pause_soon();
                Ok(json!({}))
            }
            "terminate" | "disconnect" => {
                if let Some(stop) = &self.stop {
                    stop.stop();
                }
                Ok(json!({}))
            }
            other => Err(format!("llmspell dap does not do `{other}`")),
        }
    }

    fn launch(&mut self, args: &Json) -> Answer {
        let program = args["program"]
            .as_str()
            .ok_or("launch needs `program`: the spell file")?;
        let cwd = args["cwd"].as_str().map(PathBuf::from);
        let program = match (Path::new(program).is_absolute(), &cwd) {
            (false, Some(cwd)) => cwd.join(program),
            _ => PathBuf::from(program),
        };
        let program =
            std::fs::canonicalize(&program).map_err(|e| format!("{}: {e}", program.display()))?;
        let spell_args = match &args["args"] {
            Json::Null => serde_json::Map::new(),
            Json::Object(m) => m.clone(),
            _ => return Err("launch `args` is an object: the spell's spell.args".into()),
        };
        self.launch = Some(Launch {
            program,
            args: spell_args,
            replay: args["replay"].as_str().map(PathBuf::from),
            stop_on_entry: args["stopOnEntry"].as_bool().unwrap_or(false),
            no_debug: args["noDebug"].as_bool().unwrap_or(false),
        });
        Ok(json!({}))
    }

    fn set_breakpoints(&mut self, args: &Json) -> Answer {
        let path = args["source"]["path"].as_str().unwrap_or_default();
        let list = args["breakpoints"].as_array().cloned().unwrap_or_default();
        let ours = self
            .launch
            .as_ref()
            .is_some_and(|l| std::fs::canonicalize(path).is_ok_and(|p| p == l.program));
        let code = self.launch.as_ref().and_then(|l| {
            let spell = Spell::load(&l.program).ok()?;
            llmspell::engine::code_lines(&spell, &llmspell::Registry::standard())
        });
        let mut set = Vec::new();
        let mut answers = Vec::new();
        for bp in &list {
            let line = bp["line"].as_u64().unwrap_or(0) as u32;
            let text = |k: &str| {
                bp[k]
                    .as_str()
                    .filter(|s| !s.trim().is_empty())
                    .map(str::to_owned)
            };
            let breakpoint = Breakpoint {
                line,
                condition: text("condition"),
                hits: text("hitCondition"),
                log: text("logMessage"),
            };
            let checked = breakpoint.check();
            let message = if !ours {
                Some("not the launched spell".to_owned())
            } else if let Err(why) = &checked {
                Some(why.clone())
            } else if code.as_ref().is_some_and(|c| !c.contains(&line)) {
                Some(format!(
                    "line {line} has no code: the breakpoint never stops"
                ))
            } else {
                None
            };
            if ours && checked.is_ok() {
                set.push(breakpoint);
            }
            answers.push(match message {
                None => json!({"verified": true, "line": line}),
                Some(m) => json!({"verified": false, "line": line, "message": m}),
            });
        }
        if ours {
            self.debugger.set_breakpoints(set);
        }
        Ok(json!({"breakpoints": answers}))
    }

    /// `configurationDone`: the launched spell starts.
    fn start(&mut self) -> Answer {
        let launch = self
            .launch
            .as_ref()
            .ok_or("configurationDone before launch")?;
        if self.stop.is_some() {
            return Err("the spell has started already".into());
        }
        let spell = Spell::load(&launch.program).map_err(|e| e.report())?;
        let config = crate::load_config(None, &spell.dir).map_err(|e| e.report())?;
        let mut opts = RunOptions::new(config);
        opts.args = launch.args.clone();
        let client = self.client.clone();
        opts.output = Arc::new(move |line| {
            let mut text = String::from_utf8_lossy(line).into_owned();
            if !text.ends_with('\n') {
                text.push('\n');
            }
            client.output("stdout", text);
        });
        let client = self.client.clone();
        opts.log = Arc::new(move |level, message, _| {
            client.output("console", format!("[{level}] {message}\n"));
        });
        if let Some(replay) = &launch.replay {
            let mode = llmspell::provider::CassetteMode {
                replay: Some(replay.clone()),
                ..Default::default()
            };
            let cassette = llmspell::provider::Cassette::open(&mode).map_err(|e| e.report())?;
            opts.cassette = Some(Arc::new(Mutex::new(cassette)));
        }
        let client = self.client.clone();
        opts.tap = Some(Arc::new(move |topic, data, _| {
            if topic == "debug.log" {
                let data = serde_json::to_value(data).unwrap_or_default();
                let line = data["line"].as_u64().unwrap_or(0);
                let message = data["message"].as_str().unwrap_or_default();
                client.output("console", format!("[log :{line}] {message}\n"));
            }
        }));
        let recorder =
            crate::runs::recorder(&opts.config, &spell, &launch.program, &opts.args, None);
        if let Some(r) = &recorder {
            r.attach(&mut opts);
        }
        if !launch.no_debug {
            if launch.stop_on_entry {
                self.debugger.pause_soon();
            }
            opts.debugger = Some(self.debugger.clone());
        }
        let run = Runtime::new().spawn(spell, opts);
        self.stop = Some(run.stop_handle());
        let (debugger, client, paused) = (
            self.debugger.clone(),
            self.client.clone(),
            self.paused.clone(),
        );
        self.watcher = Some(std::thread::spawn(move || {
            watch(run, recorder, &debugger, &client, &paused);
        }));
        Ok(json!({}))
    }

    fn stack_trace(&self) -> Answer {
        let p = self.pause().ok_or("the spell is not paused")?;
        let path = self
            .launch
            .as_ref()
            .map(|l| l.program.display().to_string())
            .unwrap_or_default();
        let source = |file: &str| json!({"name": file, "path": path});
        let mut frames: Vec<Json> = p
            .stack
            .iter()
            .enumerate()
            .map(|(i, f)| {
                json!({"id": i + 1, "name": f.function, "line": f.line, "column": 1,
                       "source": source(&f.file)})
            })
            .collect();
        if frames.is_empty() {
            let (file, line) = p
                .location
                .as_ref()
                .map_or((String::new(), 0), |l| (l.file.clone(), l.line));
            frames.push(json!({"id": 1, "name": p.call, "line": line, "column": 1,
                               "source": source(&file)}));
        }
        Ok(json!({"stackFrames": frames, "totalFrames": frames.len()}))
    }

    fn scopes(&self, args: &Json) -> Answer {
        let p = self.pause().ok_or("the spell is not paused")?;
        let frame = args["frameId"].as_i64().unwrap_or(1).max(1) - 1;
        let mut scopes = vec![json!({
            "name": "Locals",
            "presentationHint": "locals",
            "variablesReference": LOCALS + frame,
            "expensive": false,
        })];
        if frame == 0 && p.when != When::Line {
            scopes.insert(
                0,
                json!({"name": CallPart::of(&p).scope(), "presentationHint": "arguments",
                       "variablesReference": CALL, "expensive": false}),
            );
        }
        Ok(json!({"scopes": scopes}))
    }

    /// The call's arguments or reply as the client sees and edits them:
    /// a list of named values, and the JSON an edit changes.
    fn call_value(&self, p: &Pause) -> Json {
        match &self.paused().edited {
            Some(edited) => edited.clone(),
            None => CallPart::of(p).value(p),
        }
    }

    /// A variable for `value` (named `name`), with a reference to what is
    /// inside it, if anything.
    fn variable(&self, name: &str, value: &Json, in_call: Option<String>) -> Json {
        let compound = match value {
            Json::Array(a) => !a.is_empty(),
            Json::Object(o) => !o.is_empty(),
            _ => false,
        };
        let reference = if compound {
            let mut paused = self.paused();
            let r = INNER + paused.inner.len() as i64;
            paused.inner.insert(
                r,
                Inner {
                    value: value.clone(),
                    in_call,
                },
            );
            r
        } else {
            0
        };
        json!({"name": name, "value": shown(value), "variablesReference": reference})
    }

    /// The members of a compound value, each a variable.
    fn members(&self, value: &Json, in_call: Option<&str>) -> Vec<Json> {
        let at = |key: &str| in_call.map(|p| format!("{p}/{}", pointer_step(key)));
        match value {
            Json::Array(a) => a
                .iter()
                .enumerate()
                .map(|(i, v)| self.variable(&i.to_string(), v, at(&i.to_string())))
                .collect(),
            Json::Object(o) => o.iter().map(|(k, v)| self.variable(k, v, at(k))).collect(),
            _ => Vec::new(),
        }
    }

    fn variables(&self, args: &Json) -> Answer {
        let p = self.pause().ok_or("the spell is not paused")?;
        let reference = args["variablesReference"].as_i64().unwrap_or(0);
        let variables = match reference {
            CALL => {
                let value = self.call_value(&p);
                // Arguments are numbered from 1, as a call's are.
                match &value {
                    Json::Array(a) => a
                        .iter()
                        .enumerate()
                        .map(|(i, v)| self.variable(&(i + 1).to_string(), v, Some(format!("/{i}"))))
                        .collect(),
                    other => self.members(other, Some("")),
                }
            }
            r if (LOCALS..INNER).contains(&r) => {
                let frame = (r - LOCALS) as usize;
                let locals = self.debugger.frame_locals(frame, ANSWER)?;
                locals
                    .iter()
                    .map(|(name, v)| self.variable(name, v, None))
                    .collect()
            }
            r => {
                let paused = self.paused();
                let inner = paused.inner.get(&r).ok_or("no such variable")?;
                let (value, in_call) = (inner.value.clone(), inner.in_call.clone());
                drop(paused);
                self.members(&value, in_call.as_deref())
            }
        };
        Ok(json!({"variables": variables}))
    }

    fn set_variable(&mut self, args: &Json) -> Answer {
        let p = self.pause().ok_or("the spell is not paused")?;
        let reference = args["variablesReference"].as_i64().unwrap_or(0);
        let name = args["name"].as_str().unwrap_or_default();
        let text = args["value"].as_str().unwrap_or_default();
        let json_value = serde_json::from_str::<Json>(text);
        // Where in the call's value, if there.
        let pointer = match reference {
            CALL => Some(match CallPart::of(&p) {
                CallPart::Arguments => {
                    let n: usize = name.parse().map_err(|_| format!("no argument {name}"))?;
                    format!("/{}", n.checked_sub(1).ok_or("arguments count from 1")?)
                }
                _ => format!("/{}", pointer_step(name)),
            }),
            r if (LOCALS..INNER).contains(&r) => {
                let frame = (r - LOCALS) as usize;
                // JSON, else an expression evaluated in the frame.
                let value = match json_value {
                    Ok(v) => v,
                    Err(_) => self.debugger.evaluate(frame, text, ANSWER)?,
                };
                self.debugger
                    .set_local(frame, name, value.clone(), ANSWER)?;
                return Ok(json!({"value": shown(&value)}));
            }
            r => {
                let paused = self.paused();
                let inner = paused.inner.get(&r).ok_or("no such variable")?;
                let at = inner
                    .in_call
                    .clone()
                    .ok_or("set a local whole (its members are shown, not set one by one)")?;
                Some(format!("{at}/{}", pointer_step(name)))
            }
        };
        let value = json_value.map_err(|e| format!("a call's value is JSON: {e}"))?;
        let mut edited = self.call_value(&p);
        let pointer = pointer.unwrap_or_default();
        let slot = edited
            .pointer_mut(&pointer)
            .ok_or_else(|| format!("no {name} here"))?;
        *slot = value.clone();
        self.paused().edited = Some(edited);
        Ok(json!({"value": shown(&value)}))
    }

    fn evaluate(&self, args: &Json) -> Answer {
        self.pause().ok_or("the spell is not paused")?;
        let frame = args["frameId"].as_i64().unwrap_or(1).max(1) as usize - 1;
        let expression = args["expression"].as_str().unwrap_or_default();
        let value = self.debugger.evaluate(frame, expression, ANSWER)?;
        let v = self.variable("", &value, None);
        Ok(json!({"result": v["value"], "variablesReference": v["variablesReference"]}))
    }

    fn resume(&mut self, how: Resume) -> Answer {
        let taken = std::mem::take(&mut *self.paused());
        let (_, p) = taken.pause.ok_or("the spell is not paused")?;
        // The edit goes with the call: its arguments, or what it returns
        // (the reply; after a failure, the result given instead).
        let edited = taken.edited.map(|e| CallPart::of(&p).resumed(e));
        self.debugger.resume(how, edited);
        Ok(json!({}))
    }
}
