//! `events`: the spell's own handlers for runtime and script topics.
//!
//! Handlers run on the spell's thread, in order of subscription. A handler is
//! not called again for an event it caused itself, so `events.on("*", ...)`
//! that logs cannot loop.

use std::cell::Cell;
use std::rc::Rc;

use super::{Bridge, Registry};
use crate::bus::pattern_matches;
use crate::value::{Callback, Value};

struct Subscription {
    id: i64,
    pattern: String,
    func: Callback,
    running: Rc<Cell<bool>>,
}

/// The spell's event handlers, in subscription order.
#[derive(Default)]
pub(crate) struct Subscriptions {
    list: Vec<Subscription>,
}

impl Subscriptions {
    pub fn matching(&self, topic: &str) -> Vec<(Callback, Rc<Cell<bool>>)> {
        self.list
            .iter()
            .filter(|s| !s.running.get() && pattern_matches(&s.pattern, topic))
            .map(|s| (s.func.clone(), s.running.clone()))
            .collect()
    }

    pub fn clear(&mut self) {
        self.list.clear();
    }
}

pub(super) fn register(r: &mut Registry) {
    r.add(Bridge::new(
        "events.on",
        "pattern, fn",
        "id",
        "fn({topic, data, time_ms}) runs for every event whose topic matches pattern \
         (* matches any run of characters: \"llm.*\", \"*\")",
        |call, args| {
            let pattern = args.str(0, "pattern")?.to_owned();
            let func = args.func(1, "fn")?;
            let d = &call.session.dispatch;
            let id = d.next_id();
            d.subs.borrow_mut().list.push(Subscription {
                id,
                pattern,
                func,
                running: Rc::new(Cell::new(false)),
            });
            Ok(Value::Int(id))
        },
    ));
    r.add(Bridge::new(
        "events.off",
        "id",
        "boolean",
        "removes a handler; true when there was one with this id",
        |call, args| {
            let id = args.int(0, "id")?;
            let mut subs = call.session.dispatch.subs.borrow_mut();
            let before = subs.list.len();
            subs.list.retain(|s| s.id != id);
            Ok(Value::Bool(subs.list.len() != before))
        },
    ));
    r.add(Bridge::new(
        "events.emit",
        "topic, data?",
        "nothing",
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
