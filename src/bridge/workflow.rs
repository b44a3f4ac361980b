//! `workflow`: more than one thing at a time.
//!
//! Branches are script functions run through [`Task::call_script`], so
//! their waits overlap for real: Lua coroutines, JavaScript Promises, Rhai
//! fibers. Nothing here may block the spell's thread.

use std::time::Duration;

use futures_util::stream::{self, StreamExt};

use crate::error::{Error, Result};
use crate::session::{Args, Bridge, Registry, Shape, Task};
use crate::value::{Callback, Map, Value};

/// `workflow.map` runs this many items at once unless told otherwise.
const MAP_CONCURRENCY: i64 = 4;
/// The error codes `workflow.retry` retries unless `opts.on` says others.
const RETRIED: [&str; 3] = ["llm.http", "llm.timeout", "llm.rate_limited"];

pub(super) fn register(r: &mut Registry) {
    r.add_shape(Shape {
        name: "ParallelOptions",
        doc: "options of workflow.parallel and workflow.map",
        fields: "concurrency?: integer, settle?: boolean",
    });
    r.add_shape(Shape {
        name: "RetryOptions",
        doc: "options of workflow.retry",
        fields: "attempts?: integer, backoff_ms?: integer, on?: string[]",
    });
    r.add(Bridge::waiting(
        "workflow.parallel",
        "fns: (fun(): any)[], opts?: ParallelOptions",
        "any[]",
        "runs the functions concurrently (their waits overlap); opts.concurrency caps how many \
         run at once; the first error cancels the rest and is raised, unless opts.settle = true, \
         which returns [{ok = true, value} | {ok = false, error = {code, message}}]",
        |task, args| async move {
            let fns = functions(&args)?;
            let opts = args.opt_map(1, "opts")?;
            let limit = concurrency(&args, &opts, fns.len() as i64)?;
            let n = fns.len();
            let calls = fns.into_iter().map(|f| (f, Vec::new()));
            run_all(&task, n, calls, limit, settle(&args, &opts)?).await
        },
    ));
    r.add(Bridge::waiting(
        "workflow.map",
        "items: any[], fn: fun(item: any, index: integer): any, opts?: ParallelOptions",
        "any[]",
        "fn(item, index) for every item, concurrently (index counts from 1 in Lua, from 0 in \
         JavaScript and Rhai); opts.concurrency (default 4) and opts.settle as in parallel",
        |task, args| async move {
            let Value::Array(items) = args.get(0) else {
                return Err(args.error("items must be an array"));
            };
            let f = args.func(1, "fn")?;
            let opts = args.opt_map(2, "opts")?;
            let limit = concurrency(&args, &opts, MAP_CONCURRENCY)?;
            // Each item's call is made as its turn comes, not all at once.
            let host = task.host.clone();
            let calls = items
                .iter()
                .enumerate()
                .map(|(i, item)| (f.clone(), vec![item.clone(), host.position(i)]));
            run_all(&task, items.len(), calls, limit, settle(&args, &opts)?).await
        },
    ));
    r.add(Bridge::waiting(
        "workflow.retry",
        "fn: fun(): any, opts?: RetryOptions",
        "any",
        "calls fn until it succeeds: opts.attempts (3), opts.backoff_ms (200, doubling each \
         time); retries only errors whose code is llm.http, llm.timeout or llm.rate_limited \
         unless opts.on lists the codes to retry",
        |task, args| async move {
            let f = args.func(0, "fn")?;
            let opts = args.opt_map(1, "opts")?;
            let attempts = int_opt(&args, &opts, "attempts", 3)?.max(1);
            let mut backoff = int_opt(&args, &opts, "backoff_ms", 200)?.max(0) as u64;
            let on = match opts.get("on") {
                None | Some(Value::Null) => RETRIED.iter().map(|c| c.to_string()).collect(),
                Some(Value::Array(codes)) => codes
                    .iter()
                    .map(|c| match c {
                        Value::Str(s) => Ok(s.clone()),
                        _ => Err(args.error("opts.on must list error codes as strings")),
                    })
                    .collect::<Result<Vec<_>>>()?,
                Some(_) => return Err(args.error("opts.on must be an array of error codes")),
            };
            let mut attempt = 1;
            loop {
                match task.call_script(&f, Vec::new()).await {
                    Ok(v) => return Ok(v),
                    Err(e) if e.code.is_fatal() => return Err(e),
                    Err(e) if attempt >= attempts || !on.iter().any(|c| c == e.code.as_str()) => {
                        return Err(e)
                    }
                    Err(_) => {
                        crate::session::wait::sleep(Duration::from_millis(backoff)).await?;
                        backoff = backoff.saturating_mul(2);
                        attempt += 1;
                    }
                }
            }
        },
    ));
    r.add(
        Bridge::waiting(
            "workflow.sleep",
            "ms: number",
            "nil",
            "waits ms milliseconds; other branches go on meanwhile",
            |_task, args| async move {
                let ms = args.int(0, "ms")?;
                if ms < 0 {
                    return Err(args.error("ms must not be negative"));
                }
                crate::session::wait::sleep(Duration::from_millis(ms as u64)).await?;
                Ok(Value::Null)
            },
        )
        .due(|args| match args.first() {
            Some(Value::Int(ms)) if *ms >= 0 => Some(Duration::from_millis(*ms as u64)),
            _ => None,
        }),
    );
}

fn functions(args: &Args) -> Result<Vec<Callback>> {
    let Value::Array(items) = args.get(0) else {
        return Err(args.error("fns must be an array of functions"));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::Func(f) => Ok(f.clone()),
            other => Err(args.error(format!(
                "fns[{}] is a {}; give functions",
                i + 1,
                other.kind()
            ))),
        })
        .collect()
}

fn int_opt(args: &Args, opts: &Map, key: &str, default: i64) -> Result<i64> {
    match opts.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Int(n)) => Ok(*n),
        Some(other) => Err(args.error(format!(
            "opts.{key} must be an integer, not a {}",
            other.kind()
        ))),
    }
}

fn concurrency(args: &Args, opts: &Map, default: i64) -> Result<usize> {
    let n = int_opt(args, opts, "concurrency", default.max(1))?;
    if n < 1 {
        return Err(args.error("opts.concurrency must be at least 1"));
    }
    Ok(n as usize)
}

fn settle(args: &Args, opts: &Map) -> Result<bool> {
    match opts.get("settle") {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(args.error("opts.settle must be true or false")),
    }
}

/// Runs the calls, at most `limit` at once, results in call order. Without
/// `settle`, the first error drops (cancels) every call still running.
async fn run_all(
    task: &Task,
    n: usize,
    calls: impl Iterator<Item = (Callback, Vec<Value>)>,
    limit: usize,
    settle: bool,
) -> Result<Value> {
    // The results wait here until the last call ends: the spell's memory.
    let _results = task
        .session
        .hold(n.saturating_mul(crate::value::NODE_BYTES))?;
    let mut running = stream::iter(calls.enumerate().map(|(i, (f, a))| {
        let call = task.call_script(&f, a);
        async move { (i, call.await) }
    }))
    .buffer_unordered(limit);
    let mut results = vec![Value::Null; n];
    while let Some((i, out)) = running.next().await {
        results[i] = match (out, settle) {
            (Ok(v), false) => v,
            (Err(e), false) => return Err(e),
            (Err(e), true) if e.code.is_fatal() => return Err(e),
            (out, true) => settled(out),
        };
    }
    Ok(Value::Array(results))
}

fn settled(out: Result<Value>) -> Value {
    let mut m = Map::new();
    match out {
        Ok(v) => {
            m.insert("ok".into(), Value::Bool(true));
            m.insert("value".into(), v);
        }
        Err(e) => {
            m.insert("ok".into(), Value::Bool(false));
            m.insert("error".into(), error_value(&e));
        }
    }
    Value::Map(m)
}

/// An error as data: `{code, message}`.
pub(crate) fn error_value(e: &Error) -> Value {
    let mut m = Map::new();
    m.insert("code".into(), Value::str(e.code.as_str()));
    m.insert("message".into(), Value::str(&e.message));
    Value::Map(m)
}
