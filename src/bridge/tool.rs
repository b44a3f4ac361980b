//! `tool`: functions a model may call. Tools the spell defines run its own
//! script functions; the built-ins reach the host only as far as the
//! project's `[capabilities]` allow, and fail with `sandbox.denied` beyond.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use futures_util::future::LocalBoxFuture;

use super::tools::{builtin, builtin_params, run_builtin, BUILTINS};
use crate::error::{Error, ErrorCode, Result};
use crate::provider::ToolSpec;
use crate::session::wait::block_on;
use crate::session::{Bridge, Registry, Session, Shape, Task};
use crate::spell::valid_name;
use crate::value::{Callback, Map, Value};

/// A tool that another bridge made (an agent as a tool): given the call
/// and the arguments, the tool's result.
pub(super) type NativeRun =
    Rc<dyn Fn(&Task, serde_json::Value) -> LocalBoxFuture<'static, Result<Value>>>;

/// What runs when a tool is called.
#[derive(Clone)]
pub(super) enum Run {
    Script(Callback),
    Native(NativeRun),
}

#[derive(Clone)]
struct ToolDef {
    pub name: String,
    pub description: String,
    pub params: serde_json::Value,
    validator: Arc<jsonschema::Validator>,
    pub run: Run,
}

/// The tools one spell defined, in order of definition (its state in the
/// session).
#[derive(Default)]
struct Tools {
    list: RefCell<Vec<ToolDef>>,
}

fn tools(session: &Session) -> Rc<Tools> {
    session.state().get::<Tools>()
}

pub(super) fn register(r: &mut Registry) {
    r.add_shape(Shape {
        name: "ToolSpec",
        doc: "a tool a spell defines",
        fields: "name: string, description: string, params: map, run: fun(args: map): any",
    });
    r.add_shape(Shape {
        name: "ToolInfo",
        doc: "a tool as tool.list shows it (server: the MCP server it is on)",
        fields: "name: string, description: string, params: map, builtin: boolean, server?: string",
    });
    r.add(Bridge::new(
        "tool.define",
        "spec: ToolSpec",
        "string",
        "defines a tool from {name, description, params (a JSON schema), run}; run(args) is \
         called with arguments already checked against params",
        |call, args| {
            let spec = args.opt_map(0, "spec")?;
            let name = match spec.get("name") {
                Some(Value::Str(s)) if valid_name(s) => s.clone(),
                _ => return Err(args.error("spec.name must be a name of letters, digits, _ or -")),
            };
            let Some(Value::Func(run)) = spec.get("run") else {
                return Err(args.error("spec.run must be a function"));
            };
            let description = match spec.get("description") {
                Some(Value::Str(s)) => s.clone(),
                None | Some(Value::Null) => String::new(),
                Some(_) => return Err(args.error("spec.description must be a string")),
            };
            let params = match spec.get("params") {
                None | Some(Value::Null) => serde_json::json!({"type": "object", "properties": {}}),
                Some(v @ Value::Map(_)) => v.to_json()?,
                Some(_) => return Err(args.error("spec.params must be a JSON schema map")),
            };
            define(
                call.session,
                name.clone(),
                description,
                params,
                Run::Script(run.clone()),
            )
            .map_err(|e| args.error(e))?;
            Ok(Value::Str(name))
        },
    ));
    r.add(Bridge::waiting(
        "tool.call",
        "name: string, args?: map",
        "any",
        "calls a tool by name with a map of arguments, checked against its params first \
         (args.invalid); emits tool.call and tool.result",
        |task, args| async move {
            let name = args.str(0, "name")?.to_owned();
            let input = match args.get(1) {
                Value::Null => serde_json::json!({}),
                _ => args.json(1)?,
            };
            call_tool(&task, &name, input).await
        },
    ));
    r.add(Bridge::new(
        "tool.list",
        "",
        "ToolInfo[]",
        "the built-in tools, the spell's own in order of definition, then the tools of each \
         MCP server in [capabilities] mcp (server/tool; starts the servers)",
        |call, _| {
            let mut out: Vec<Value> = BUILTINS
                .iter()
                .map(|b| listing(b.name, b.description, &builtin_params(b), true))
                .collect();
            let tools = tools(call.session);
            out.extend(
                tools
                    .list
                    .borrow()
                    .iter()
                    .map(|t| listing(&t.name, &t.description, &t.params, false)),
            );
            for server in super::mcp::allowed(call.session) {
                let listed = block_on(call.session, super::mcp::tools_of(call.session, server))??;
                out.extend(listed.iter().map(|t| t.listing()));
            }
            Ok(Value::Array(out))
        },
    ));
}

fn listing(name: &str, description: &str, params: &serde_json::Value, builtin: bool) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), Value::str(name));
    m.insert("description".into(), Value::str(description));
    m.insert("params".into(), Value::from_json(params));
    m.insert("builtin".into(), Value::Bool(builtin));
    Value::Map(m)
}

/// Adds or replaces one of the spell's tools.
pub(super) fn define(
    session: &Session,
    name: String,
    description: String,
    params: serde_json::Value,
    run: Run,
) -> std::result::Result<(), String> {
    if builtin(&name).is_some() {
        return Err(format!("{name} is a built-in tool; pick another name"));
    }
    let validator = jsonschema::validator_for(&params)
        .map_err(|e| format!("params is not a valid JSON schema: {e}"))?;
    let def = ToolDef {
        name: name.clone(),
        description,
        params,
        validator: Arc::new(validator),
        run,
    };
    let tools = tools(session);
    let mut list = tools.list.borrow_mut();
    match list.iter_mut().find(|t| t.name == name) {
        Some(slot) => *slot = def,
        None => list.push(def),
    }
    Ok(())
}

/// A tool as a model is offered it.
pub(super) fn spec(session: &Session, name: &str) -> Result<ToolSpec> {
    if let Some(b) = builtin(name) {
        return Ok(ToolSpec {
            name: b.name.into(),
            description: b.description.into(),
            params: builtin_params(b),
        });
    }
    let tools = tools(session);
    if let Some(t) = tools.list.borrow().iter().find(|t| t.name == name) {
        return Ok(ToolSpec {
            name: t.name.clone(),
            description: t.description.clone(),
            params: t.params.clone(),
        });
    }
    match block_on(session, super::mcp::find(session, name))?? {
        Some(t) => Ok(ToolSpec {
            name: t.model_name.clone(),
            description: t.description.clone(),
            params: t.params.clone(),
        }),
        None => Err(not_found(&tools.list.borrow(), name)),
    }
}

fn not_found(list: &[ToolDef], name: &str) -> Error {
    let mut names: Vec<&str> = BUILTINS.iter().map(|b| b.name).collect();
    names.extend(list.iter().map(|t| t.name.as_str()));
    Error::new(
        ErrorCode::ToolNotFound,
        format!(
            "no tool named {name:?}; tools: {} (tool.define adds one)",
            names.join(", ")
        ),
    )
}

/// Calls a tool: checks the arguments, emits `tool.call` and
/// `tool.result`, runs it. Agents call tools through here too.
pub(super) async fn call_tool(task: &Task, name: &str, input: serde_json::Value) -> Result<Value> {
    let session = &task.session;
    // Agents run every tool call a reply holds: each one checks the limits.
    crate::value::Limiter::check(&**session)?;
    let def = tools(session)
        .list
        .borrow()
        .iter()
        .find(|t| t.name == name)
        .cloned();
    let builtin = builtin(name);
    let mcp = match (&def, builtin) {
        (None, None) => super::mcp::find(session, name).await?,
        _ => None,
    };
    // Events name an MCP tool as spells do, whatever a model called it.
    let name = mcp.as_ref().map_or(name, |t| t.name.as_str());
    let (params, validator) = match (&def, builtin, &mcp) {
        (Some(d), _, _) => (d.params.clone(), d.validator.clone()),
        (None, Some(b), _) => {
            let p = builtin_params(b);
            let v = jsonschema::validator_for(&p).expect("built-in params are valid schemas");
            (p, Arc::new(v))
        }
        (None, None, Some(t)) => (t.params.clone(), t.validator.clone()),
        (None, None, None) => return Err(not_found(&tools(session).list.borrow(), name)),
    };
    if let Some(e) = validator.iter_errors(&input).next() {
        let at = e.instance_path().as_str().to_owned();
        return Err(Error::new(
            ErrorCode::ArgsInvalid,
            format!(
                "tool {name}: the arguments do not match its params at {}: {e} (params: {params})",
                if at.is_empty() { "$" } else { &at }
            ),
        ));
    }
    let arguments = Value::from_json(&input);
    task.emit("tool.call", || {
        let mut m = Map::new();
        m.insert("name".into(), Value::str(name));
        m.insert("arguments".into(), arguments.clone());
        Value::Map(m)
    })?;
    let started = Instant::now();
    let out = match (&def, builtin, &mcp) {
        (Some(d), _, _) => match &d.run {
            Run::Script(f) => task.call_script(f, vec![arguments.clone()]).await,
            Run::Native(run) => run(task, input).await,
        },
        (None, Some(b), _) => run_builtin(task, b, input).await,
        (None, None, Some(t)) => t.call(task, input).await,
        (None, None, None) => unreachable!("checked above"),
    };
    let out = out.map_err(|e| match e.code {
        ErrorCode::SpellError => Error::new(
            ErrorCode::ToolFailed,
            format!("tool {name} failed: {}", e.message),
        )
        .wrapping(&e)
        .at(e.location),
        _ => e,
    });
    let latency = started.elapsed().as_millis() as i64;
    task.emit("tool.result", || {
        let mut m = Map::new();
        m.insert("name".into(), Value::str(name));
        match &out {
            Ok(v) => m.insert("result".into(), v.clone()),
            Err(e) => m.insert("error".into(), super::workflow::error_value(e)),
        };
        m.insert("latency_ms".into(), Value::Int(latency));
        Value::Map(m)
    })?;
    out
}
