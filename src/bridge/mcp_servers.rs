//! The MCP servers a spell reaches (`[mcp.NAME]`), spoken to with the
//! official Rust SDK (`rmcp`) on the I/O runtime.
//!
//! A server starts on first use and is kept in the run's
//! [`Resident`](crate::session::Resident), its runtime's unless the run was
//! given another: the IDE's runs share its one runtime, so its servers stay
//! up across runs; `llmspell run` stops them when its run ends.
//! A server whose `[mcp.NAME]` changed, or that has exited, is started again
//! on its next use. Every request has the server's time limit, and the
//! spell's own limits and stop end any wait sooner.
//!
//! A stdio server runs in its own process group with a minimal
//! environment, and must write nothing to stdout but MCP messages: a line
//! that is not one ends the connection at once with `mcp.failed` and what
//! it wrote, rather than leaving requests to time out.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use rmcp::model::{ClientCapabilities, ClientConfig, Implementation};
use rmcp::service::{Peer, RunningService, ServiceError};
use rmcp::{RoleClient, ServiceExt};
use tokio::io::{AsyncBufReadExt, AsyncRead, ReadBuf};

use crate::config::{Config, McpConfig};
use crate::error::{Error, ErrorCode, Result};

/// What the server's environment keeps of the host's, beside its `env`.
const BASE_ENV: [&str; 8] = [
    "PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM", "LANG", "TMPDIR",
];

/// The longest line a stdio server may write: past it, it is not MCP.
const MAX_LINE: usize = 64 << 20;

/// How many of the server's last stderr lines an error quotes.
const STDERR_LINES: usize = 8;

/// How long a stopping server has after its stdin closes, and again after
/// SIGTERM, before its process group is killed.
const GRACE: Duration = Duration::from_millis(1000);

/// The servers the runs sharing one [`Resident`](crate::session::Resident)
/// have started, by name.
#[derive(Default)]
pub(super) struct Servers {
    slots: Mutex<HashMap<String, Arc<Slot>>>,
}

/// One `[mcp.NAME]` as it was when its server was started.
struct Slot {
    config: McpConfig,
    dir: PathBuf,
    /// The running server; held while it starts, so a second caller waits
    /// for that start instead of making its own.
    conn: tokio::sync::Mutex<Option<Arc<Conn>>>,
}

/// A started server.
pub(super) struct Conn {
    name: String,
    service: RunningService<RoleClient, ClientConfig>,
    child: Mutex<Option<tokio::process::Child>>,
    watch: Arc<Watch>,
    timeout: Duration,
}

/// What a stdio server wrote beside its messages: the last lines of its
/// stderr, and the line on stdout that was not MCP, if any.
#[derive(Default)]
struct Watch {
    stderr: Mutex<VecDeque<String>>,
    garbage: Mutex<Option<String>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Servers {
    /// Server `name`, started if it is not running (or was started from
    /// another `[mcp.NAME]`, or has exited since).
    pub async fn connect(&self, name: &str, config: &Config) -> Result<Arc<Conn>> {
        let Some(wanted) = config.mcp.get(name) else {
            return Err(Error::new(
                ErrorCode::ConfigInvalid,
                format!("no [mcp.{name}] in llmspell.toml"),
            ));
        };
        let (slot, old) = {
            let mut slots = lock(&self.slots);
            match slots.get(name) {
                Some(s) if s.config == *wanted && s.dir == config.project_dir => (s.clone(), None),
                _ => {
                    let s = Arc::new(Slot {
                        config: wanted.clone(),
                        dir: config.project_dir.clone(),
                        conn: tokio::sync::Mutex::new(None),
                    });
                    let old = slots.insert(name.to_owned(), s.clone());
                    (s, old)
                }
            }
        };
        // The old one's server stops once no call holds it: here, if none
        // does, outside the lock (a stop may take a moment).
        drop(old);
        let mut conn = slot.conn.lock().await;
        if let Some(c) = conn.as_ref().filter(|c| !c.closed()) {
            return Ok(c.clone());
        }
        // Dropped first: an exited server's process is reaped before the next.
        *conn = None;
        let started = Arc::new(start(name, &slot.config, &slot.dir, config).await?);
        *conn = Some(started.clone());
        Ok(started)
    }
}

fn start_error(name: &str, what: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorCode::McpStart,
        format!("MCP server {name:?} did not start: {what}"),
    )
}

async fn start(name: &str, m: &McpConfig, dir: &Path, config: &Config) -> Result<Conn> {
    let client = ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("llmspell", env!("CARGO_PKG_VERSION")),
    );
    let watch = Arc::new(Watch::default());
    let (serving, mut child) = match &m.url {
        Some(url) => (http(name, url, m, config, client)?, None),
        None => {
            let (serving, child) = stdio(name, m, dir, &watch, client)?;
            (serving, Some(child))
        }
    };
    let service = match tokio::time::timeout(m.start_timeout(), serving).await {
        Ok(Ok(service)) => service,
        Ok(Err(e)) => {
            let why = describe(&watch, child.as_mut());
            return Err(start_error(name, format!("{e}{why}")));
        }
        Err(_) => {
            let why = describe(&watch, child.as_mut());
            return Err(start_error(
                name,
                format!(
                    "no answer to the MCP handshake within {}s ([mcp.{name}] start_timeout_secs){why}",
                    m.start_timeout().as_secs_f64()
                ),
            ));
        }
    };
    Ok(Conn {
        name: name.to_owned(),
        service,
        child: Mutex::new(child),
        watch,
        timeout: m.timeout(),
    })
}

type Serving = Pin<
    Box<
        dyn Future<
            Output = std::result::Result<
                RunningService<RoleClient, ClientConfig>,
                rmcp::service::ClientInitializeError,
            >,
        >,
    >,
>;

fn stdio(
    name: &str,
    m: &McpConfig,
    dir: &Path,
    watch: &Arc<Watch>,
    client: ClientConfig,
) -> Result<(Serving, tokio::process::Child)> {
    let mut cmd = tokio::process::Command::new(&m.command[0]);
    cmd.args(&m.command[1..])
        .current_dir(dir)
        .env_clear()
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    for key in BASE_ENV {
        if let Some(v) = std::env::var_os(key) {
            cmd.env(key, v);
        }
    }
    for key in &m.pass_env {
        let v = std::env::var_os(key).ok_or_else(|| {
            start_error(
                name,
                format!("[mcp.{name}] pass_env names ${key}, which is not set"),
            )
        })?;
        cmd.env(key, v);
    }
    cmd.envs(&m.env);
    // Its own group: a stop reaches whatever it started, and a Ctrl-C at
    // the terminal reaches only us.
    #[cfg(unix)]
    cmd.process_group(0);
    let mut child = cmd
        .spawn()
        .map_err(|e| start_error(name, format!("cannot run {:?}: {e}", m.command[0])))?;
    let (Some(stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err(start_error(name, "its stdio could not be piped"));
    };
    let tail = watch.clone();
    tokio::spawn(async move {
        let mut lines = tokio::io::BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let mut kept = lock(&tail.stderr);
            if kept.len() == STDERR_LINES {
                kept.pop_front();
            }
            kept.push_back(excerpt(line.as_bytes()));
        }
    });
    let stdout = Checked {
        inner: stdout,
        watch: watch.clone(),
        state: Line::Start { len: 0 },
    };
    Ok((Box::pin(client.serve((stdout, stdin))), child))
}

fn http(
    name: &str,
    url: &str,
    m: &McpConfig,
    config: &Config,
    client: ClientConfig,
) -> Result<Serving> {
    use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
    use rmcp::transport::StreamableHttpClientTransport;
    // reqwest 0.13 brings no TLS provider of its own: rustls' ring, which
    // the model calls' reqwest uses too.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut t = StreamableHttpClientTransportConfig::with_uri(url);
    if let Some(secret) = &m.auth {
        let host = url::Url::parse(url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        let s = super::http::secret(config, secret, &host)?;
        let header = s.header_pair().ok_or_else(|| {
            start_error(
                name,
                format!("secret {secret:?} is not a valid HTTP header"),
            )
        })?;
        t.custom_headers.insert(header.0, header.1);
    }
    let transport = StreamableHttpClientTransport::from_config(t);
    Ok(Box::pin(client.serve(transport)))
}

impl Conn {
    pub fn peer(&self) -> &Peer<RoleClient> {
        self.service.peer()
    }

    /// Whether the connection has ended (the server exited, broke the
    /// protocol, or was let go): its next use starts the server again.
    fn closed(&self) -> bool {
        self.service.is_closed()
            || self.peer().is_transport_closed()
            || lock(&self.child)
                .as_mut()
                .is_some_and(|c| !matches!(c.try_wait(), Ok(None)))
    }

    /// What `request` came to, within the server's time limit, as a coded
    /// error where it failed.
    pub async fn ask<T>(
        &self,
        what: &str,
        request: impl Future<Output = std::result::Result<T, ServiceError>>,
    ) -> Result<T> {
        match tokio::time::timeout(self.timeout, request).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(ServiceError::McpError(e))) => Err(Error::new(
                ErrorCode::McpFailed,
                format!(
                    "MCP server {:?} refused {what}: {} (code {})",
                    self.name, e.message, e.code.0
                ),
            )),
            Ok(Err(ServiceError::Timeout { .. })) | Err(_) => Err(Error::new(
                ErrorCode::McpTimeout,
                format!(
                    "MCP server {:?} did not answer {what} within {}s ([mcp.{}] timeout_secs){}",
                    self.name,
                    self.timeout.as_secs_f64(),
                    self.name,
                    self.describe()
                ),
            )),
            Ok(Err(e)) => Err(Error::new(
                ErrorCode::McpFailed,
                format!(
                    "MCP server {:?} failed on {what}: {e}{}",
                    self.name,
                    self.describe()
                ),
            )),
        }
    }

    /// Why the server may have gone: what it wrote that is not MCP, how it
    /// exited, its last words on stderr.
    fn describe(&self) -> String {
        let mut child = lock(&self.child);
        describe(&self.watch, child.as_mut())
    }
}

fn describe(watch: &Watch, child: Option<&mut tokio::process::Child>) -> String {
    let mut out = String::new();
    if let Some(line) = lock(&watch.garbage).as_ref() {
        out.push_str(&format!(
            "; it wrote something that is not an MCP message on stdout: {line:?}"
        ));
    }
    if let Some(Ok(Some(status))) = child.map(|c| c.try_wait()) {
        out.push_str(&format!("; it exited ({status})"));
    }
    let stderr = lock(&watch.stderr);
    if !stderr.is_empty() {
        let lines: Vec<&str> = stderr.iter().map(String::as_str).collect();
        out.push_str(&format!(
            "; its last words on stderr: {}",
            lines.join(" | ")
        ));
    }
    out
}

/// At most 200 characters of what a server wrote, lossily.
fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(400)]);
    let text = text.trim();
    let mut s: String = text.chars().take(200).collect();
    if s.len() < text.len() {
        s.push('…');
    }
    s
}

impl Drop for Conn {
    /// Stops a stdio server as the MCP specification says: its stdin
    /// closes (the service ends), then SIGTERM, then SIGKILL, to its whole
    /// process group, each after [`GRACE`].
    fn drop(&mut self) {
        self.service.cancellation_token().cancel();
        let Some(mut child) = lock(&self.child).take() else {
            return;
        };
        let exited = |child: &mut tokio::process::Child| {
            let until = std::time::Instant::now() + GRACE;
            while std::time::Instant::now() < until {
                if !matches!(child.try_wait(), Ok(None)) {
                    return true;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            false
        };
        let group = child.id().and_then(|id| i32::try_from(id).ok());
        if exited(&mut child) {
            return;
        }
        #[cfg(unix)]
        if let Some(pid) = group {
            // SAFETY: kill(2) on a process group we made; no memory is involved.
            unsafe { libc::killpg(pid, libc::SIGTERM) };
            if exited(&mut child) {
                return;
            }
            // SAFETY: as above.
            unsafe { libc::killpg(pid, libc::SIGKILL) };
        }
        let _ = child.start_kill();
    }
}

/// A stdio server's stdout, passed on up to the first line that is not an
/// MCP message (which must be a JSON object or array), and ended there.
struct Checked<R> {
    inner: R,
    watch: Arc<Watch>,
    state: Line,
}

enum Line {
    /// At a line's start, or in its leading white space; `len` bytes in.
    Start { len: usize },
    /// Inside a line that starts as JSON does.
    Json { len: usize },
    /// Ended: the server wrote something else.
    Ended,
}

impl<R: AsyncRead + Unpin> AsyncRead for Checked<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        if matches!(this.state, Line::Ended) {
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {}
            other => return other,
        }
        let new = &buf.filled()[before..];
        let mut bad = None;
        for (i, &b) in new.iter().enumerate() {
            this.state = match (&this.state, b) {
                (_, b'\n') => Line::Start { len: 0 },
                (Line::Start { len }, b' ' | b'\t' | b'\r') => Line::Start { len: len + 1 },
                (Line::Start { len }, b'{' | b'[') => Line::Json { len: len + 1 },
                (Line::Json { len }, _) if *len < MAX_LINE => Line::Json { len: len + 1 },
                (Line::Start { len } | Line::Json { len }, _) => {
                    bad = Some((i, *len));
                    break;
                }
                (Line::Ended, _) => unreachable!("ended above"),
            };
        }
        if let Some((i, len)) = bad {
            let start = i.saturating_sub(len.min(i));
            let line = &new[start..];
            let end = line.iter().position(|&b| b == b'\n').unwrap_or(line.len());
            let what = if len >= MAX_LINE {
                format!("a line of more than {} MiB", MAX_LINE >> 20)
            } else {
                excerpt(&line[..end])
            };
            *lock(&this.watch.garbage) = Some(what);
            this.state = Line::Ended;
            // What came before the line goes on; the line and all after it
            // do not, and the next read is the end.
            buf.set_filled(before + start);
        }
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    fn read_all(input: &'static [u8]) -> (Vec<u8>, Option<String>) {
        let watch = Arc::new(Watch::default());
        let mut r = Checked {
            inner: input,
            watch: watch.clone(),
            state: Line::Start { len: 0 },
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let mut out = Vec::new();
        rt.block_on(r.read_to_end(&mut out)).unwrap();
        let garbage = lock(&watch.garbage).clone();
        (out, garbage)
    }

    #[test]
    fn messages_pass_and_the_first_line_that_is_not_one_ends_the_stream() {
        let (out, garbage) = read_all(b"{\"a\":1}\n  [1]\r\n\n{\"b\":2}\n");
        assert_eq!(out, b"{\"a\":1}\n  [1]\r\n\n{\"b\":2}\n");
        assert_eq!(garbage, None);
        let (out, garbage) = read_all(b"{\"a\":1}\nServer ready on stdio\n{\"b\":2}\n");
        assert_eq!(out, b"{\"a\":1}\n");
        assert_eq!(garbage.as_deref(), Some("Server ready on stdio"));
        let (out, garbage) = read_all(b"  hello");
        assert_eq!(out, b"");
        assert_eq!(garbage.as_deref(), Some("hello"));
    }
}
