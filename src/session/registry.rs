//! The registry: every bridge function a spell can call, with its
//! documentation, and the objects some bridges return.
//!
//! A bridge is declared once, here, over [`Value`]s; each engine builds its
//! language's functions and objects from these declarations, so adding a
//! bridge never touches an engine. Nothing here runs a call: that is the
//! dispatcher's.

use std::sync::Arc;

use futures_util::future::LocalBoxFuture;

use super::{types, Args, Call, Task};
use crate::error::{Error, Result};
use crate::value::Value;

/// What a bridge function does, over values.
/// How long after a timer-like call it falls due, from its arguments.
pub type DueAfter = fn(&[Value]) -> Option<std::time::Duration>;

pub type BridgeImpl = Arc<dyn Fn(&mut Call<'_>, Args) -> Result<Value> + Send + Sync>;

/// What a bridge that waits on I/O does: a future on the spell's thread.
pub type WaitingImpl =
    Arc<dyn Fn(Task, Args) -> LocalBoxFuture<'static, Result<Value>> + Send + Sync>;

/// One bridge function: its name as scripts call it, its documentation, and
/// its implementation.
#[derive(Clone)]
pub struct Bridge {
    /// `"state.get"`, or `"print"` for a global function.
    pub name: &'static str,
    /// The arguments as the reference shows them: `"key, default?"`.
    pub params: &'static str,
    /// What it returns.
    pub returns: &'static str,
    pub doc: &'static str,
    /// Calls that may wait on I/O: JavaScript gets a Promise from these.
    pub waits: bool,
    pub run: BridgeImpl,
    /// For bridges that wait: the body as a future, so that other waiting
    /// work (workflow branches, Promises) overlaps with it.
    pub body: Option<WaitingImpl>,
    /// When the bridge returns a handle that is an object (`agent.new`):
    /// the object's methods. Each engine makes the handle its language's
    /// object, whose methods call their bridges with the handle first.
    pub object: Option<Object>,
    /// For a waiting bridge that is a timer (`workflow.sleep`): how long
    /// from the call it is due, from its arguments. JavaScript settles
    /// timers due together in the order they fall due, as node does.
    pub timer: Option<DueAfter>,
}

impl Bridge {
    pub fn new(
        name: &'static str,
        params: &'static str,
        returns: &'static str,
        doc: &'static str,
        run: impl Fn(&mut Call<'_>, Args) -> Result<Value> + Send + Sync + 'static,
    ) -> Self {
        Bridge {
            name,
            params,
            returns,
            doc,
            waits: false,
            run: Arc::new(run),
            body: None,
            object: None,
            timer: None,
        }
    }

    /// A bridge that waits on I/O. Called where nothing else can run
    /// meanwhile, it blocks the spell (stoppably); JavaScript gets a
    /// Promise, and workflow branches overlap their waits.
    pub fn waiting<F>(
        name: &'static str,
        params: &'static str,
        returns: &'static str,
        doc: &'static str,
        body: impl Fn(Task, Args) -> F + Send + Sync + 'static,
    ) -> Self
    where
        F: std::future::Future<Output = Result<Value>> + 'static,
    {
        Bridge {
            name,
            params,
            returns,
            doc,
            waits: true,
            // Never called: the dispatcher runs waiting bridges' bodies.
            run: Arc::new(|call, _| {
                Err(Error::new(
                    crate::error::ErrorCode::SpellError,
                    format!("internal error: {} called without waiting", call.name),
                ))
            }),
            body: Some(Arc::new(move |task, args| Box::pin(body(task, args)))),
            object: None,
            timer: None,
        }
    }

    /// Declares that the bridge returns an object with these methods (see
    /// [`Bridge::object`]).
    pub fn returns_object(mut self, methods: &'static [Method]) -> Self {
        self.object = Some(Object { methods });
        self
    }

    /// Marks a waiting bridge as a timer (see [`Bridge::timer`]).
    pub fn due(mut self, after: DueAfter) -> Self {
        self.timer = Some(after);
        self
    }

    /// The global the function hangs off (`"state"`), or `None` for a global
    /// function such as `print`.
    pub fn module(&self) -> Option<&'static str> {
        self.name.split_once('.').map(|(m, _)| m)
    }

    /// How many arguments the function takes at most, from `params`;
    /// `None` when it takes any number (`...`).
    pub fn max_args(&self) -> Option<usize> {
        // Asked as each engine makes its functions: the parameters are
        // counted at the top level of the notation, not parsed.
        let (mut depth, mut count, mut any) = (0usize, 0, false);
        for (i, c) in self.params.char_indices() {
            match c {
                '(' | '{' | '[' => depth += 1,
                ')' | '}' | ']' => depth = depth.saturating_sub(1),
                ',' if depth == 0 => count += 1,
                '.' if depth == 0 && self.params[i..].starts_with("...") => return None,
                c if !c.is_whitespace() => any = true,
                _ => {}
            }
        }
        Some(if any { count + 1 } else { 0 })
    }

    /// Its parameters and reply, parsed from `params` and `returns`.
    pub fn signature(&self) -> std::result::Result<(Vec<types::Param>, types::Type), String> {
        let params = types::parse_params(self.params).map_err(|e| format!("{}: {e}", self.name))?;
        let returns = types::parse_type(self.returns).map_err(|e| format!("{}: {e}", self.name))?;
        Ok((params, returns))
    }

    /// The function's own name within its module (`"get"`).
    pub fn member(&self) -> &'static str {
        self.name.split_once('.').map_or(self.name, |(_, f)| f)
    }
}

/// The object a bridge returns: its handle (a map the bridge made, such as
/// `{id, name}`), with methods. `bot:run("hi")` in Lua, `bot.run("hi")` in
/// JavaScript and Rhai all call `agent.run(bot, "hi")` through the
/// dispatcher, hooks and debugger included.
#[derive(Debug, Clone, Copy)]
pub struct Object {
    pub methods: &'static [Method],
}

/// One method of a bridge's object: its name, and the bridge it calls with
/// the handle as its first argument and the method's arguments after it.
#[derive(Debug, Clone, Copy)]
pub struct Method {
    pub name: &'static str,
    pub bridge: &'static str,
}

impl Method {
    pub const fn new(name: &'static str, bridge: &'static str) -> Method {
        Method { name, bridge }
    }
}

/// A documented global that is a value, not a function (`spell`).
#[derive(Debug, Clone)]
pub struct GlobalDoc {
    pub name: &'static str,
    /// Its type, in the notation of [`super::types`].
    pub ty: &'static str,
    pub doc: &'static str,
}

/// A named table type the API's functions take or give (an option table,
/// a reply), for the type definitions editors read: its fields in the
/// notation of [`super::types`] (`text: string, data?: any`).
#[derive(Debug, Clone)]
pub struct Shape {
    pub name: &'static str,
    pub doc: &'static str,
    pub fields: &'static str,
}

/// Index of a bridge in its registry; engines capture it in each function
/// they expose, so a call never looks a name up.
pub type BridgeId = usize;

/// Every bridge function a spell can call.
#[derive(Clone)]
pub struct Registry {
    bridges: Vec<Bridge>,
    shapes: Vec<Shape>,
    values: Vec<GlobalDoc>,
}

impl Registry {
    /// A registry with no bridges; [`Registry::standard`] has the spell
    /// API's.
    pub fn empty() -> Self {
        Registry {
            bridges: Vec::new(),
            shapes: Vec::new(),
            values: Vec::new(),
        }
    }

    /// Documents a global that is a value, not a function.
    pub fn add_value(&mut self, value: GlobalDoc) {
        self.values.push(value);
    }

    /// Declares a named table type the API uses.
    pub fn add_shape(&mut self, shape: Shape) {
        self.shapes.push(shape);
    }

    pub fn shapes(&self) -> &[Shape] {
        &self.shapes
    }

    /// Adds a bridge; one with the same name is replaced.
    pub fn add(&mut self, bridge: Bridge) {
        match self.bridges.iter_mut().find(|b| b.name == bridge.name) {
            Some(slot) => *slot = bridge,
            None => self.bridges.push(bridge),
        }
    }

    pub fn bridges(&self) -> &[Bridge] {
        &self.bridges
    }

    pub fn values(&self) -> &[GlobalDoc] {
        &self.values
    }

    pub fn get(&self, id: BridgeId) -> &Bridge {
        &self.bridges[id]
    }

    pub fn find(&self, name: &str) -> Option<BridgeId> {
        self.bridges.iter().position(|b| b.name == name)
    }

    /// The modules in registration order, each with its bridges' ids.
    pub fn modules(&self) -> Vec<(&'static str, Vec<BridgeId>)> {
        let mut out: Vec<(&'static str, Vec<BridgeId>)> = Vec::new();
        for (id, b) in self.bridges.iter().enumerate() {
            let Some(m) = b.module() else { continue };
            match out.iter_mut().find(|(name, _)| *name == m) {
                Some((_, ids)) => ids.push(id),
                None => out.push((m, vec![id])),
            }
        }
        out
    }

    /// The methods of the object bridge `id` returns, each with the id of
    /// the bridge it calls; `None` when it returns no object. A method
    /// whose bridge is not in the registry is left out.
    pub fn methods(&self, id: BridgeId) -> Option<Vec<(&'static str, BridgeId)>> {
        let object = self.bridges[id].object?;
        Some(
            object
                .methods
                .iter()
                .filter_map(|m| Some((m.name, self.find(m.bridge)?)))
                .collect(),
        )
    }

    /// Global functions (no module), such as `print`.
    pub fn functions(&self) -> impl Iterator<Item = (BridgeId, &Bridge)> {
        self.bridges
            .iter()
            .enumerate()
            .filter(|(_, b)| b.module().is_none())
    }

    /// The reference as plain text, for `llmspell api`.
    pub fn reference_text(&self) -> String {
        let mut out = String::from("llmspell spell API (from the bridge registry)\n");
        for v in &self.values {
            out.push_str(&format!("\n{}: {}\n    {}\n", v.name, v.ty, v.doc));
        }
        // A blank line before each module's group (and the global functions).
        let mut module: Option<Option<&str>> = None;
        for b in &self.bridges {
            if module != Some(b.module()) {
                module = Some(b.module());
                out.push('\n');
            }
            let wait = if b.waits {
                "  [waits: a Promise in JS]"
            } else {
                ""
            };
            out.push_str(&format!(
                "{}({}) -> {}{}\n    {}\n",
                b.name, b.params, b.returns, wait, b.doc
            ));
        }
        out.push_str("\ntypes (the shapes above name; `llmspell api --types lua|ts` writes them for editors)\n");
        for shape in &self.shapes {
            out.push_str(&format!(
                "    {} {{{}}}\n        {}\n",
                shape.name, shape.fields, shape.doc
            ));
        }
        out.push_str("\nerror codes\n");
        for code in crate::error::ErrorCode::ALL {
            out.push_str(&format!("    {:<20} {}\n", code.as_str(), code.doc()));
        }
        out
    }

    /// The reference as JSON, for `llmspell api --json`.
    pub fn reference_json(&self) -> serde_json::Value {
        let functions: Vec<_> = self
            .bridges
            .iter()
            .map(|b| {
                serde_json::json!({
                    "name": b.name,
                    "module": b.module(),
                    "params": b.params,
                    "returns": b.returns,
                    "doc": b.doc,
                    "waits": b.waits,
                })
            })
            .collect();
        let values: Vec<_> = self
            .values
            .iter()
            .map(|v| serde_json::json!({"name": v.name, "type": v.ty, "doc": v.doc}))
            .collect();
        let codes: Vec<_> = crate::error::ErrorCode::ALL
            .iter()
            .map(|c| serde_json::json!({"code": c.as_str(), "doc": c.doc()}))
            .collect();
        let shapes: Vec<_> = self
            .shapes
            .iter()
            .map(|s| serde_json::json!({"name": s.name, "fields": s.fields, "doc": s.doc}))
            .collect();
        serde_json::json!({
            "version": 1,
            "functions": functions,
            "values": values,
            "types": shapes,
            "errors": codes
        })
    }
}
