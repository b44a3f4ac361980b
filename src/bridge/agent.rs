//! `agent`: a model that uses tools until it is done.
//!
//! Every model call and tool call of an agent goes through the dispatcher
//! as `llm.chat` and `tool.call`, so hooks, events, budgets, cassettes and
//! the debugger see each of them. `agent.new` returns an object whose
//! methods the registry declares; each engine makes it its language's
//! object (`bot:run(...)`, `bot.run(...)`).

use std::cell::RefCell;
use std::rc::Rc;

use crate::error::{Error, ErrorCode, Result};
use crate::session::{Args, Bridge, Method, Registry, Session, Shape, Task};
use crate::value::{Map, Value};

const MAX_STEPS: i64 = 8;

struct AgentState {
    name: String,
    /// The options every model call of this agent carries.
    opts: Map,
    max_steps: i64,
    history: Vec<Value>,
    /// Its tools: the name a model is offered each by, and the spell's.
    tools: Vec<(String, String)>,
}

/// The agents one spell made (its state in the session).
#[derive(Default)]
struct Agents {
    list: RefCell<Vec<AgentState>>,
}

fn agents(session: &Session) -> Rc<Agents> {
    session.state().get::<Agents>()
}

/// The methods of the object `agent.new` returns.
const METHODS: &[Method] = &[
    Method::new("run", "agent.run"),
    Method::new("history", "agent.history"),
    Method::new("reset", "agent.reset"),
    Method::new("as_tool", "agent.as_tool"),
];

pub(super) fn register(r: &mut Registry) {
    r.add_shape(Shape {
        name: "AgentOptions",
        doc: "what agent.new makes an agent from",
        fields: "name?: string, model?: string, system?: string, tools?: string[], max_steps?: integer, temperature?: number, history?: Message[]",
    });
    r.add_shape(Shape {
        name: "Agent",
        doc: "an agent: its handle, with methods",
        fields: "id: integer, name: string",
    });
    r.add_shape(Shape {
        name: "AgentStep",
        doc: "one tool call an agent made",
        fields: "tool: string, arguments: any, result?: any, error?: ErrorInfo",
    });
    r.add_shape(Shape {
        name: "AgentReply",
        doc: "an agent's answer",
        fields: "text: string, steps: AgentStep[], usage: Usage",
    });
    r.add(Bridge::new(
        "agent.new",
        "opts: AgentOptions",
        "Agent",
        "makes an agent from {name?, model?, system?, tools?, max_steps? = 8, temperature?, \
         history?} (history: messages to start from, such as a worked example); its methods: run(input), history(), reset(), as_tool{name, description}",
        |call, args| {
            let opts = args.opt_map(0, "opts")?;
            let mut chat = Map::new();
            for key in ["model", "system", "temperature"] {
                if let Some(v) = opts.get(key).filter(|v| !v.is_null()) {
                    chat.insert(key.into(), v.clone());
                }
            }
            let mut tools = Vec::new();
            let mut offered = Vec::new();
            match opts.get("tools") {
                None | Some(Value::Null) => {}
                Some(Value::Array(items)) => {
                    for t in items {
                        let Value::Str(name) = t else {
                            return Err(args
                                .error("opts.tools holds tool names (tool.define returns them)"));
                        };
                        let spec = super::tool::spec(call.session, name)?;
                        offered.push((spec.name, name.clone()));
                        tools.push(Value::Str(name.clone()));
                    }
                }
                Some(_) => return Err(args.error("opts.tools must be an array of tool names")),
            }
            chat.insert("tools".into(), Value::Array(tools));
            let max_steps = match opts.get("max_steps") {
                None | Some(Value::Null) => MAX_STEPS,
                Some(Value::Int(n)) if *n >= 1 => *n,
                Some(_) => return Err(args.error("opts.max_steps must be a positive integer")),
            };
            // A conversation to start from: worked examples help small models.
            let history = match opts.get("history") {
                None | Some(Value::Null) => Vec::new(),
                Some(v @ Value::Array(items)) => {
                    serde_json::from_value::<Vec<crate::provider::Message>>(v.to_json()?)
                        .map_err(|e| args.error(format!("opts.history: {e}")))?;
                    items.clone()
                }
                Some(_) => return Err(args.error("opts.history must be an array of messages")),
            };
            let agents = agents(call.session);
            let mut list = agents.list.borrow_mut();
            let id = list.len();
            let name = match opts.get("name") {
                Some(Value::Str(s)) => s.clone(),
                _ => format!("agent{}", id + 1),
            };
            list.push(AgentState {
                tools: offered,
                name: name.clone(),
                opts: chat,
                max_steps,
                history,
            });
            Ok(handle(id, &name))
        },
    )
    .returns_object(METHODS));
    r.add(Bridge::waiting(
        "agent.run",
        "agent: Agent, input: string",
        "AgentReply",
        "asks the agent: each tool call the model makes is run in order and its result or \
         error sent back, until a reply without tool calls or max_steps (agent.max_steps); \
         the agent remembers the conversation",
        |task, args| async move {
            let id = agent_id(&task, &args)?;
            let input = args.str(1, "input")?.to_owned();
            run_agent(&task, id, input).await.map(Value::Map)
        },
    ));
    r.add(Bridge::new(
        "agent.history",
        "agent: Agent",
        "Message[]",
        "the agent's conversation so far",
        |call, args| {
            let id = id_in(call.session, &args)?;
            Ok(Value::Array(
                agents(call.session).list.borrow()[id].history.clone(),
            ))
        },
    ));
    r.add(Bridge::new(
        "agent.reset",
        "agent: Agent",
        "nil",
        "forgets the agent's conversation",
        |call, args| {
            let id = id_in(call.session, &args)?;
            agents(call.session).list.borrow_mut()[id].history.clear();
            Ok(Value::Null)
        },
    ));
    r.add(Bridge::new(
        "agent.as_tool",
        "agent: Agent, spec: {name: string, description: string}",
        "string",
        "the agent as a tool taking {task}, for other agents: spec is {name, description}",
        |call, args| {
            let id = id_in(call.session, &args)?;
            let spec = args.opt_map(1, "spec")?;
            let agent_name = agents(call.session).list.borrow()[id].name.clone();
            let name = match spec.get("name") {
                Some(Value::Str(s)) => s.clone(),
                _ => agent_name.clone(),
            };
            let description = match spec.get("description") {
                Some(Value::Str(s)) => s.clone(),
                _ => format!("asks the agent {agent_name} to do a task"),
            };
            let params = serde_json::json!({
                "type": "object",
                "properties": {"task": {"type": "string", "description": "what to do"}},
                "required": ["task"],
            });
            super::tool::define(
                call.session,
                name.clone(),
                description,
                params,
                super::tool::Run::Native(Rc::new(move |task, input| {
                    let task = task.clone();
                    Box::pin(async move {
                        let text = input["task"].as_str().unwrap_or_default().to_owned();
                        run_agent(&task, id, text)
                            .await
                            .map(|r| r.get("text").cloned().unwrap_or(Value::Null))
                    })
                })),
            )
            .map_err(|e| args.error(e))?;
            Ok(Value::Str(name))
        },
    ));
}

fn handle(id: usize, name: &str) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), Value::Int(id as i64 + 1));
    m.insert("name".into(), Value::str(name));
    Value::Map(m)
}

fn id_in(session: &Session, args: &Args) -> Result<usize> {
    let id = match args.get(0) {
        Value::Map(m) => match m.get("id") {
            Some(Value::Int(n)) => *n,
            _ => 0,
        },
        _ => 0,
    };
    let n = agents(session).list.borrow().len() as i64;
    if id < 1 || id > n {
        return Err(args.error("not an agent; make one with agent.new"));
    }
    Ok(id as usize - 1)
}

fn agent_id(task: &Task, args: &Args) -> Result<usize> {
    id_in(&task.session, args)
}

fn message(role: &str, content: &str) -> Map {
    let mut m = Map::new();
    m.insert("role".into(), Value::str(role));
    m.insert("content".into(), Value::str(content));
    m
}

/// Tool results go back to the model as text: strings as they are, other
/// values as JSON.
fn as_text(v: &Value) -> String {
    match v {
        Value::Str(s) => s.clone(),
        other => other.to_json().map(|j| j.to_string()).unwrap_or_default(),
    }
}

fn int(v: Option<&Value>) -> i64 {
    match v {
        Some(Value::Int(n)) => *n,
        _ => 0,
    }
}

/// The tool-calling loop. The conversation is saved after every step, so
/// an error part-way keeps what happened.
async fn run_agent(task: &Task, id: usize, input: String) -> Result<Map> {
    let (name, opts, max_steps, mut history, tools) = {
        let agents = agents(&task.session);
        let list = agents.list.borrow();
        let a = &list[id];
        (
            a.name.clone(),
            a.opts.clone(),
            a.max_steps,
            a.history.clone(),
            a.tools.clone(),
        )
    };
    let save = |history: &Vec<Value>| {
        agents(&task.session).list.borrow_mut()[id].history = history.clone();
    };
    history.push(Value::Map(message("user", &input)));
    let mut steps = Vec::new();
    let (mut input_tokens, mut output_tokens) = (0, 0);
    for step in 1..=max_steps {
        let reply = task
            .call_bridge(
                "llm.chat",
                vec![Value::Array(history.clone()), Value::Map(opts.clone())],
            )
            .await;
        let reply = match reply {
            Ok(Value::Map(m)) => m,
            Ok(_) => {
                return Err(Error::new(
                    ErrorCode::LlmBadReply,
                    "llm.chat gave no reply map",
                ))
            }
            Err(e) => {
                save(&history);
                return Err(e);
            }
        };
        if let Some(Value::Map(u)) = reply.get("usage") {
            input_tokens += int(u.get("input_tokens"));
            output_tokens += int(u.get("output_tokens"));
        }
        let text = match reply.get("text") {
            Some(Value::Str(s)) => s.clone(),
            _ => String::new(),
        };
        let calls = match reply.get("tool_calls") {
            Some(Value::Array(c)) => c.clone(),
            _ => Vec::new(),
        };
        let mut said = message("assistant", &text);
        if !calls.is_empty() {
            said.insert("tool_calls".into(), Value::Array(calls.clone()));
        }
        history.push(Value::Map(said));
        save(&history);
        task.emit("agent.step", || {
            let mut m = Map::new();
            m.insert("agent".into(), Value::str(&name));
            m.insert("step".into(), Value::Int(step));
            m.insert("text".into(), Value::str(&text));
            let tools = calls
                .iter()
                .filter_map(|c| match c {
                    Value::Map(c) => c.get("name").cloned(),
                    _ => None,
                })
                .collect();
            m.insert("tools".into(), Value::Array(tools));
            Value::Map(m)
        })?;
        if calls.is_empty() {
            let mut out = Map::new();
            out.insert("text".into(), Value::Str(text));
            out.insert("steps".into(), Value::Array(steps));
            let mut usage = Map::new();
            usage.insert("input_tokens".into(), Value::Int(input_tokens));
            usage.insert("output_tokens".into(), Value::Int(output_tokens));
            out.insert("usage".into(), Value::Map(usage));
            return Ok(out);
        }
        for call in calls {
            let Value::Map(call) = call else { continue };
            let asked = call.get("name").cloned().unwrap_or(Value::Null);
            let arguments = call.get("arguments").cloned().unwrap_or(Value::Null);
            // Only the tools this agent was given: a model cannot reach
            // others. Each is called by the spell's name for it (an MCP
            // tool's model name differs).
            let offered = tools
                .iter()
                .find(|(model, _)| Value::str(model) == asked)
                .map(|(_, spell)| Value::str(spell));
            let tool = offered.clone().unwrap_or(asked);
            let out = if offered.is_some() {
                task.call_bridge("tool.call", vec![tool.clone(), arguments.clone()])
                    .await
            } else {
                Err(Error::new(
                    ErrorCode::ToolNotFound,
                    format!(
                        "agent {name}: the model asked for {}, which is not one of its tools",
                        as_text(&tool)
                    ),
                ))
            };
            let mut record = Map::new();
            record.insert("tool".into(), tool);
            record.insert("arguments".into(), arguments);
            let content = match out {
                Ok(v) => {
                    let text = as_text(&v);
                    record.insert("result".into(), v);
                    text
                }
                Err(e) if e.code.is_fatal() => {
                    save(&history);
                    return Err(e);
                }
                Err(e) => {
                    record.insert("error".into(), super::workflow::error_value(&e));
                    format!("error: {e}")
                }
            };
            steps.push(Value::Map(record));
            let mut result = message("tool", &content);
            if let Some(id) = call.get("id") {
                result.insert("tool_call_id".into(), id.clone());
            }
            history.push(Value::Map(result));
            save(&history);
        }
    }
    Err(Error::new(
        ErrorCode::AgentMaxSteps,
        format!(
            "agent {name} took {max_steps} steps without a final reply; raise max_steps or give \
             it a clearer task"
        ),
    ))
}
