//! The event bus every observer outside the spell reads: the IDE's
//! inspector, tests, library users.
//!
//! Publishing costs one atomic load when nobody listens. A subscriber that
//! went away is dropped on the next publish; the bus never blocks a spell.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};

/// One event, as observers see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub topic: String,
    pub data: serde_json::Value,
    /// Milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// The spell that caused it.
    pub spell: String,
}

struct Subscriber {
    pattern: String,
    tx: Sender<Event>,
}

/// A cheap, cloneable handle on one bus.
#[derive(Clone, Default)]
pub struct Bus {
    inner: Arc<BusInner>,
}

#[derive(Default)]
struct BusInner {
    count: AtomicUsize,
    subs: Mutex<Vec<Subscriber>>,
}

impl Bus {
    pub fn new() -> Self {
        Bus::default()
    }

    /// Receives every event whose topic matches `pattern` (`*` wildcards).
    pub fn subscribe(&self, pattern: &str) -> Receiver<Event> {
        let (tx, rx) = channel();
        let mut subs = self.lock();
        subs.push(Subscriber {
            pattern: pattern.to_owned(),
            tx,
        });
        self.inner.count.store(subs.len(), Ordering::Release);
        rx
    }

    pub fn has_subscribers(&self) -> bool {
        self.inner.count.load(Ordering::Acquire) > 0
    }

    pub fn publish(&self, event: &Event) {
        if !self.has_subscribers() {
            return;
        }
        let mut subs = self.lock();
        subs.retain(|s| {
            !pattern_matches(&s.pattern, &event.topic) || s.tx.send(event.clone()).is_ok()
        });
        self.inner.count.store(subs.len(), Ordering::Release);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Subscriber>> {
        self.inner.subs.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Topic patterns: `*` matches any run of characters, dots included.
pub fn pattern_matches(pattern: &str, topic: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), topic.as_bytes());
    // Iterative glob match with one backtrack point: linear for our patterns.
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert!(pattern_matches("*", "llm.request"));
        assert!(pattern_matches("llm.*", "llm.request"));
        assert!(!pattern_matches("llm.*", "llmx"));
        assert!(pattern_matches("*.set", "state.set"));
        assert!(pattern_matches("a*c*e", "abcde"));
        assert!(!pattern_matches("a*c*e", "abcdf"));
        assert!(pattern_matches("state.set", "state.set"));
        assert!(!pattern_matches("state.set", "state.settle"));
    }

    #[test]
    fn subscribers_get_matching_events_and_leave_when_dropped() {
        let bus = Bus::new();
        assert!(!bus.has_subscribers());
        let rx = bus.subscribe("state.*");
        let ev = |t: &str| Event {
            topic: t.into(),
            data: serde_json::Value::Null,
            time_ms: 0,
            spell: "s".into(),
        };
        bus.publish(&ev("log"));
        bus.publish(&ev("state.set"));
        assert_eq!(rx.try_recv().unwrap().topic, "state.set");
        assert!(rx.try_recv().is_err());
        drop(rx);
        bus.publish(&ev("state.set"));
        assert!(!bus.has_subscribers());
    }
}
