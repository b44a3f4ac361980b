//! Events: the spell's own handlers for runtime and script topics, and how
//! an event reaches them and the bus (the `events.*` bridges add handlers).
//!
//! Handlers run on the spell's thread, in order of subscription. A handler is
//! not called again for an event it caused itself, so `events.on("*", ...)`
//! that logs cannot loop.

use std::cell::Cell;
use std::rc::Rc;

use super::{ScriptHost, Session};
use crate::bus::{now_ms, pattern_matches};
use crate::error::Result;
use crate::value::{Callback, Map, Value};

struct Subscription {
    id: i64,
    pattern: String,
    func: Callback,
    running: Rc<Cell<bool>>,
}

/// The spell's event handlers, in subscription order.
#[derive(Default)]
pub(super) struct Subscriptions {
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

impl Session {
    /// Adds a handler for the events whose topic matches `pattern`; its id.
    pub fn subscribe(&self, pattern: String, func: Callback) -> i64 {
        let id = self.next_id();
        self.subs.borrow_mut().list.push(Subscription {
            id,
            pattern,
            func,
            running: Rc::new(Cell::new(false)),
        });
        id
    }

    /// Removes a handler; true when there was one with this id.
    pub fn unsubscribe(&self, id: i64) -> bool {
        let mut subs = self.subs.borrow_mut();
        let before = subs.list.len();
        subs.list.retain(|s| s.id != id);
        subs.list.len() != before
    }

    /// Sends an event to the bus and to the spell's matching handlers.
    /// `data` is only built when someone listens.
    pub fn emit(
        &self,
        host: &mut dyn ScriptHost,
        topic: &str,
        data: impl FnOnce() -> Value,
    ) -> Result<()> {
        let to_bus = self.bus.has_subscribers();
        // Collecting no matches allocates nothing: no special case needed.
        let handlers = self.subs.borrow().matching(topic);
        if !self.observed() && handlers.is_empty() {
            return Ok(());
        }
        let data = data();
        let time_ms = now_ms();
        if to_bus {
            self.publish(topic, data.to_json()?, time_ms);
        } else {
            // Only the run's own tap hears it: the value as it is.
            self.tap(topic, &data, time_ms);
        }
        if handlers.is_empty() {
            return Ok(());
        }
        let mut event = Map::new();
        event.insert("topic".into(), Value::str(topic));
        event.insert("data".into(), data);
        event.insert("time_ms".into(), Value::Int(time_ms as i64));
        let event = Value::Map(event);
        for (func, running) in handlers {
            running.set(true);
            let out = host.call(&func, vec![event.clone()]);
            running.set(false);
            if let Err(e) = out {
                if e.code.is_fatal() {
                    return Err(e);
                }
                // A failing handler must not undo what caused the event
                // (a state.set that is already saved): report it instead,
                // to the log and the bus only, never to script handlers,
                // which could fail on the report and loop.
                let msg = format!("an events.on handler for {topic} failed: {}", e.report());
                (self.log_sink)("error", &msg, &serde_json::Value::Null);
                let data = serde_json::json!({"level": "error", "message": msg});
                self.publish("log", data, now_ms());
            }
        }
        Ok(())
    }
}
