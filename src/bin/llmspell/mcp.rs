//! `llmspell mcp serve [DIR | SPELL]... [--http ADDR]`: a project's spells as the
//! tools of an MCP server, on stdin/stdout or on streamable HTTP, spoken
//! with the official Rust SDK (`rmcp`).
//!
//! A spell is a tool when it declares one (`@tool NAME: what it does` and
//! its `@param`s, in its leading comments: `llmspell::spell::Signature`).
//! The tools are read again at every listing and call, so an edited spell
//! is served as it is now. Each call runs the spell as `llmspell run` does,
//! in the sandbox with the project's limits, kept in the run history; its
//! printed lines and its result come back as the tool's text, its result
//! (an object) as structured content, a coded error as a tool error. On
//! stdio nothing of a spell's reaches stdout but MCP messages.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};

use llmspell::spell::Signature;
use llmspell::{Config, EngineKind, Error, ErrorCode, RunOptions, Runtime, Spell};

/// The folders a project's spells are never looked for in.
const SKIPPED: [&str; 3] = ["node_modules", "target", "cassettes"];

/// Serves the spells given and those in the folders given until the
/// client goes (stdio) or the process is stopped (HTTP).
pub(crate) fn serve(
    paths: &[PathBuf],
    config: Option<&Path>,
    http: Option<std::net::SocketAddr>,
) -> Result<(), Error> {
    if let Some(addr) = http.filter(|a| !a.ip().is_loopback()) {
        return Err(Error::new(
            ErrorCode::ConfigInvalid,
            format!(
                "--http {addr}: llmspell serves MCP only on a loopback address (127.0.0.1 or [::1]), \
                 as it asks no one who they are"
            ),
        ));
    }
    let served = Served::new(paths, config)?;
    let tools = served.tools()?;
    eprintln!(
        "llmspell mcp: serving {} tool(s): {}",
        tools.len(),
        tools
            .iter()
            .map(|t| t.sig.name.as_deref().unwrap_or_default())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            Error::new(
                ErrorCode::Internal,
                format!("the MCP server's runtime: {e}"),
            )
        })?;
    rt.block_on(async move {
        match http {
            None => {
                let running = served
                    .serve(rmcp::transport::stdio())
                    .await
                    .map_err(|e| failed(format!("the MCP handshake on stdio: {e}")))?;
                let _ = running.waiting().await;
                Ok(())
            }
            Some(addr) => serve_http(served, addr).await,
        }
    })
}

fn failed(what: String) -> Error {
    Error::new(ErrorCode::McpFailed, format!("llmspell mcp serve: {what}"))
}

#[derive(Default)]
struct Running {
    next: u64,
    stops: std::collections::HashMap<u64, llmspell::StopHandle>,
}

/// One served spell: its file and what it declares.
struct Entry {
    path: PathBuf,
    sig: Signature,
}

#[derive(Clone)]
struct Served {
    /// Spell files, and folders whose spells are served.
    roots: Vec<PathBuf>,
    config_file: Option<PathBuf>,
    /// One runtime for every call: the MCP servers the spells use stay up
    /// between calls.
    runtime: Runtime,
    /// Calls running now, by number, stopped if the client goes.
    running: Arc<Mutex<Running>>,
}

impl Served {
    fn new(paths: &[PathBuf], config: Option<&Path>) -> Result<Served, Error> {
        let mut roots = Vec::new();
        for path in paths {
            let root = std::fs::canonicalize(path).map_err(|e| {
                Error::new(
                    ErrorCode::ConfigInvalid,
                    format!("cannot serve {}: {e}", path.display()),
                )
            })?;
            // The config must load now: a broken one is said at once.
            let dir = if root.is_dir() {
                root.clone()
            } else {
                root.parent()
                    .map_or_else(|| root.clone(), Path::to_path_buf)
            };
            super::load_config(config, &dir)?;
            roots.push(root);
        }
        Ok(Served {
            roots,
            config_file: config.map(Path::to_path_buf),
            runtime: Runtime::new(),
            running: Arc::default(),
        })
    }

    /// The spells that declare a tool, by name; two spells that declare
    /// the same name are `config.invalid`.
    fn tools(&self) -> Result<Vec<Entry>, Error> {
        let mut found = Vec::new();
        for root in &self.roots {
            if root.is_dir() {
                walk(root, &mut found);
            } else {
                found.push(root.clone());
            }
        }
        found.sort();
        found.dedup();
        let mut tools: Vec<Entry> = Vec::new();
        for path in found {
            let Ok(spell) = Spell::load(&path) else {
                continue;
            };
            let sig = match spell.signature() {
                Ok(Some(sig)) if sig.name.is_some() => sig,
                Ok(_) => continue,
                Err(e) => {
                    eprintln!(
                        "llmspell mcp: {} is not served: {}",
                        path.display(),
                        e.report()
                    );
                    continue;
                }
            };
            if let Some(other) = tools.iter().find(|t| t.sig.name == sig.name) {
                return Err(Error::new(
                    ErrorCode::ConfigInvalid,
                    format!(
                        "two spells declare @tool {}: {} and {}; rename one",
                        sig.name.unwrap_or_default(),
                        other.path.display(),
                        path.display()
                    ),
                ));
            }
            tools.push(Entry { path, sig });
        }
        Ok(tools)
    }

    /// Runs the spell `name` names with `args`, as `llmspell run` does.
    fn call(&self, name: &str, args: serde_json::Map<String, serde_json::Value>) -> CallToolResult {
        let tools = match self.tools() {
            Ok(t) => t,
            Err(e) => return tool_error(&e),
        };
        let Some(tool) = tools.iter().find(|t| t.sig.name.as_deref() == Some(name)) else {
            let names: Vec<&str> = tools.iter().filter_map(|t| t.sig.name.as_deref()).collect();
            return tool_error(&Error::new(
                ErrorCode::ToolNotFound,
                format!("no tool named {name:?}; tools: {}", names.join(", ")),
            ));
        };
        let prepared = Spell::load(&tool.path).and_then(|spell| {
            let config = super::load_config(self.config_file.as_deref(), &spell.dir)?;
            Ok((spell, config))
        });
        let (spell, config) = match prepared {
            Ok(x) => x,
            Err(e) => return tool_error(&e),
        };
        let printed = Arc::new(Mutex::new(Vec::<String>::new()));
        let mut opts = quiet_options(config, printed.clone());
        opts.args = args;
        let id = {
            let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
            running.next += 1;
            let id = running.next;
            running.stops.insert(id, opts.stop.clone());
            id
        };
        let recorder = super::runs::recorder(&opts.config, &spell, &tool.path, &opts.args, None);
        if let Some(r) = &recorder {
            r.attach(&mut opts);
        }
        let outcome = self.runtime.run(&spell, &opts);
        self.running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .stops
            .remove(&id);
        if let Some(r) = recorder {
            super::runs::keep(r, &outcome);
        }
        let lines = std::mem::take(&mut *printed.lock().unwrap_or_else(|e| e.into_inner()));
        match outcome.result {
            Err(e) => {
                let mut text = lines.join("\n");
                if !text.is_empty() {
                    text.push('\n');
                }
                text.push_str(&e.report());
                CallToolResult::error(vec![ContentBlock::text(text)])
            }
            Ok(result) => {
                let mut text = lines.join("\n");
                if !result.is_null() {
                    if !text.is_empty() {
                        text.push('\n');
                    }
                    text.push_str(&result.to_string());
                }
                let mut out = CallToolResult::success(vec![ContentBlock::text(text)]);
                if result.is_object() {
                    out.structured_content = Some(result);
                }
                out
            }
        }
    }
}

/// A run's options with its output kept (never on stdout, which is the MCP
/// transport) and its logs on stderr.
fn quiet_options(config: Config, printed: Arc<Mutex<Vec<String>>>) -> RunOptions {
    let mut opts = RunOptions::new(config);
    opts.output = Arc::new(move |line: &[u8]| {
        printed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(String::from_utf8_lossy(line).into_owned());
    });
    opts
}

fn tool_error(e: &Error) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(e.report())])
}

/// The spell files under `dir`, but in hidden folders and those in
/// [`SKIPPED`].
fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') {
            continue;
        }
        match entry.file_type() {
            Ok(t) if t.is_dir() && !SKIPPED.contains(&name.as_ref()) => walk(&path, out),
            Ok(t) if t.is_file() && EngineKind::from_path(&path).is_ok() => out.push(path),
            _ => {}
        }
    }
}

impl ServerHandler for Served {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("llmspell", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Each tool is a spell of this llmspell project (Lua, JavaScript or Rhai), run in \
                 its sandbox with its limits; its printed lines and its result come back as text.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let tools = self
            .tools()
            .map_err(|e| ErrorData::internal_error(e.report(), None))?;
        let listed = tools
            .into_iter()
            .map(|t| {
                let schema = match t.sig.schema() {
                    serde_json::Value::Object(m) => m,
                    _ => serde_json::Map::new(),
                };
                Tool::new(
                    t.sig.name.clone().unwrap_or_default(),
                    t.sig.description.clone(),
                    Arc::new(schema),
                )
            })
            .collect();
        Ok(ListToolsResult::with_all_items(listed))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let served = self.clone();
        let name = request.name.to_string();
        let args = request.arguments.unwrap_or_default();
        // The spell runs on its own thread; this waits without holding the
        // server's, so other requests go on meanwhile.
        let result = tokio::task::spawn_blocking(move || served.call(&name, args))
            .await
            .map_err(|e| ErrorData::internal_error(format!("the spell's run: {e}"), None))?;
        Ok(result.into())
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        // The last clone going (the client went) stops what still runs.
        if Arc::strong_count(&self.running) == 1 {
            for stop in self
                .running
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .stops
                .values()
            {
                stop.stop();
            }
        }
    }
}

/// Streamable HTTP on `addr` (a loopback address: the server asks no one
/// who they are), taking only requests whose `Host` is this machine, as
/// the SDK does by default, against DNS rebinding.
async fn serve_http(served: Served, addr: std::net::SocketAddr) -> Result<(), Error> {
    use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
    use rmcp::transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService,
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| failed(format!("cannot listen on {addr}: {e}")))?;
    let bound = listener.local_addr().unwrap_or(addr);
    eprintln!("llmspell mcp: streamable HTTP at http://{bound}/mcp");
    let service = StreamableHttpService::new(
        move || Ok(served.clone()),
        LocalSessionManager::default().into(),
        StreamableHttpServerConfig::default(),
    );
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let service = hyper_util::service::TowerToHyperService::new(service.clone());
        tokio::spawn(async move {
            let io = hyper_util::rt::TokioIo::new(stream);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, service)
                .await;
        });
    }
}
