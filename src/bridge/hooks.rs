//! `hooks`: script functions that run before and after bridge calls (the
//! dispatcher runs them: [`crate::session`]).
//!
//! A hook never fires for calls made from inside itself, so a hook on
//! `state.set` may call `state.set` without recursing forever.

use crate::bus::pattern_matches;
use crate::error::Result;
use crate::session::{Args, Bridge, Call, Registry, Shape};
use crate::value::Value;

pub(super) fn register(r: &mut Registry) {
    r.add_shape(Shape {
        name: "HookCall",
        doc: "the call a hook sees",
        fields: "point: string, args: any[]",
    });
    r.add_shape(Shape {
        name: "HookBefore",
        doc: "what a before-hook may return: new arguments, or a result that skips the call",
        fields: "args?: any[], result?: any",
    });
    r.add_shape(Shape {
        name: "HookAfter",
        doc: "what an after-hook may return: a result in place of the call's",
        fields: "result?: any",
    });
    r.add(Bridge::new(
        "hooks.before",
        "point: string, fn: fun(call: HookCall): HookBefore | nil",
        "integer",
        "fn({point, args}) runs before every call to point (a bridge name, * wildcards allowed); \
         return nothing to go on, {args = [...]} to replace the arguments, {result = v} to skip \
         the call, or raise an error to cancel it (hook.failed)",
        |call, args| add(call, args, false),
    ));
    r.add(Bridge::new(
        "hooks.after",
        "point: string, fn: fun(call: HookCall, result: any): HookAfter | nil",
        "integer",
        "fn({point, args}, result) runs after every call to point; return nothing to keep the \
         result or {result = v} to replace it",
        |call, args| add(call, args, true),
    ));
    r.add(Bridge::new(
        "hooks.remove",
        "id: integer",
        "boolean",
        "removes a hook; true when there was one with this id",
        |call, args| {
            let id = args.int(0, "id")?;
            Ok(Value::Bool(call.session.remove_hook(id)))
        },
    ));
}

fn add(call: &mut Call<'_>, args: Args, after: bool) -> Result<Value> {
    let pattern = args.str(0, "point")?.to_owned();
    let func = args.func(1, "fn")?;
    let registry = call.session.registry();
    if !registry
        .bridges()
        .iter()
        .any(|b| pattern_matches(&pattern, b.name))
    {
        return Err(args.error(format!(
            "no bridge function matches {pattern:?}; `llmspell api` lists them"
        )));
    }
    Ok(Value::Int(call.session.add_hook(pattern, after, func)))
}
