//! `events`: the spell's own handlers for runtime and script topics (how an
//! event reaches them is the session's, [`crate::session`]).
//!
//! Handlers run on the spell's thread, in order of subscription. A handler is
//! not called again for an event it caused itself, so `events.on("*", ...)`
//! that logs cannot loop.

use crate::session::{Bridge, Registry, Shape};
use crate::value::Value;

pub(super) fn register(r: &mut Registry) {
    r.add_shape(Shape {
        name: "SpellEvent",
        doc: "an event as a handler gets it",
        fields: "topic: string, data: any, time_ms: integer",
    });
    r.add(Bridge::new(
        "events.on",
        "pattern: string, fn: fun(event: SpellEvent)",
        "integer",
        "fn({topic, data, time_ms}) runs for every event whose topic matches pattern \
         (* matches any run of characters: \"llm.*\", \"*\")",
        |call, args| {
            let pattern = args.str(0, "pattern")?.to_owned();
            let func = args.func(1, "fn")?;
            Ok(Value::Int(call.session.subscribe(pattern, func)))
        },
    ));
    r.add(Bridge::new(
        "events.off",
        "id: integer",
        "boolean",
        "removes a handler; true when there was one with this id",
        |call, args| {
            let id = args.int(0, "id")?;
            Ok(Value::Bool(call.session.unsubscribe(id)))
        },
    ));
    r.add(Bridge::new(
        "events.emit",
        "topic: string, data?: any",
        "nil",
        "sends an event to the spell's handlers and to every observer (the IDE, the library's bus)",
        |call, mut args| {
            let topic = args.str(0, "topic")?.to_owned();
            if topic.is_empty() || topic.contains('*') {
                return Err(args.error("the topic must be a non-empty name without *"));
            }
            // Only data leaves the spell: refuse functions before anyone sees it.
            args.json(1)?;
            let data = args.take(1);
            call.emit(&topic, || data)?;
            Ok(Value::Null)
        },
    ));
}
