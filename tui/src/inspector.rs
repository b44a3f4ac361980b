//! The event inspector's state: the last events, each with its time and
//! the run it came from, a topic filter and a text search, a selection
//! that follows the newest event until you move it (and again when a new
//! run starts), a pause that freezes the view while events keep arriving,
//! and the selected event's detail, which scrolls. Memory is bounded:
//! only the last [`KEEP_EVENTS`] events are kept.

use std::collections::VecDeque;

use crate::scroll::Scroll;

/// How many events are kept; older ones go.
pub const KEEP_EVENTS: usize = 10_000;

/// The filters `f` cycles through: every event, then one family each.
pub const FILTERS: &[&str] = &[
    "*", "llm.*", "tool.*", "agent.*", "state.*", "hook.*", "debug.*", "log", "spell.*",
];

/// One event as the inspector keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Logged {
    pub topic: String,
    pub data: serde_json::Value,
    /// Milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// Which run it belongs to: counted up at each `spell.start` (0:
    /// before the first, as a REPL's are until then).
    pub run: u32,
    /// It has the text searched for (`/`).
    found: bool,
}

#[derive(Default)]
pub struct Inspector {
    /// Oldest first.
    pub events: VecDeque<Logged>,
    /// The selected event's index in `events`; `None` follows the newest.
    pub selected: Option<usize>,
    /// Index into [`FILTERS`].
    pub filter: usize,
    /// While paused, the view shows only the first this-many events.
    pub frozen: Option<usize>,
    /// The selected event's whole JSON is shown, scrolled this far.
    pub detail: bool,
    pub detail_scroll: Scroll,
    /// Only events whose topic or JSON has this (`/`).
    pub search: Option<String>,
    /// Runs started so far.
    runs: u32,
}

impl Inspector {
    pub fn push(&mut self, topic: String, data: serde_json::Value, time_ms: u64) {
        if self.events.len() == KEEP_EVENTS {
            self.events.pop_front();
            // Indexes shift with the dropped event.
            self.selected = self.selected.map(|i| i.saturating_sub(1));
            self.frozen = self.frozen.map(|n| n.saturating_sub(1));
        }
        if topic == "spell.start" {
            // A new run: the list follows it.
            self.runs += 1;
            if !self.detail {
                self.selected = None;
            }
        }
        let found = self
            .search
            .as_deref()
            .is_some_and(|t| has(&topic, &data, t));
        self.events.push_back(Logged {
            topic,
            data,
            time_ms,
            run: self.runs,
            found,
        });
    }

    pub fn filter_name(&self) -> &'static str {
        FILTERS[self.filter]
    }

    fn shows(&self, i: usize) -> bool {
        let limit = self.frozen.unwrap_or(self.events.len());
        let e = &self.events[i];
        i < limit
            && llmspell::bus::pattern_matches(self.filter_name(), &e.topic)
            && (self.search.is_none() || e.found)
    }

    /// Indexes of the events the view shows, oldest first.
    pub fn visible(&self) -> Vec<usize> {
        (0..self.events.len()).filter(|&i| self.shows(i)).collect()
    }

    /// The event the detail view and copy act on: the selected one, or the
    /// newest shown.
    pub fn current(&self) -> Option<&Logged> {
        let i = self.selected.or_else(|| self.visible().last().copied())?;
        self.events.get(i)
    }

    /// Shows only events with `term` in their topic or JSON (ASCII case
    /// ignored); `None` or empty shows all again.
    pub fn set_search(&mut self, term: Option<String>) {
        self.search = term.filter(|t| !t.is_empty());
        for e in &mut self.events {
            e.found = self
                .search
                .as_deref()
                .is_some_and(|t| has(&e.topic, &e.data, t));
        }
        self.selected = None;
    }

    /// Selects the previous shown event (from following: the newest).
    pub fn up(&mut self) {
        let visible = self.visible();
        self.selected = match self.selected {
            None => visible.last().copied(),
            Some(i) => visible.iter().rev().find(|&&v| v < i).copied().or(Some(i)),
        };
        self.detail_scroll = Scroll::default();
    }

    /// Selects the next shown event; past the newest, follows again.
    pub fn down(&mut self) {
        if let Some(i) = self.selected {
            self.selected = self.visible().into_iter().find(|&v| v > i);
        }
        self.detail_scroll = Scroll::default();
    }

    /// In the detail: the next (or previous) event, staying on it (past
    /// the newest there is nothing to follow).
    pub fn step(&mut self, forward: bool) {
        let visible = self.visible();
        let now = self.selected.or_else(|| visible.last().copied());
        let next = now.and_then(|i| match forward {
            true => visible.iter().find(|&&v| v > i).copied(),
            false => visible.iter().rev().find(|&&v| v < i).copied(),
        });
        self.selected = next.or(now);
        self.detail_scroll.home();
    }

    /// Opens (or closes) the detail of the current event, at its top.
    pub fn toggle_detail(&mut self) {
        self.detail = !self.detail && self.current().is_some();
        if self.detail {
            // The detail stays on this event while more arrive.
            self.selected = self.selected.or_else(|| self.visible().last().copied());
        }
        self.detail_scroll.home();
    }

    /// The current event's detail, as lines: its topic, time and run,
    /// then its JSON.
    pub fn detail_lines(&self) -> Vec<String> {
        let Some(e) = self.current() else {
            return Vec::new();
        };
        let mut lines = vec![format!(
            "{}  at {}  (run {})",
            e.topic,
            clock(e.time_ms, true, local_offset()),
            e.run
        )];
        let json = serde_json::to_string_pretty(&e.data).unwrap_or_default();
        lines.extend(json.lines().map(str::to_owned));
        lines
    }

    pub fn next_filter(&mut self) {
        self.filter = (self.filter + 1) % FILTERS.len();
        self.selected = None;
    }

    pub fn toggle_pause(&mut self) {
        self.frozen = match self.frozen {
            Some(_) => None,
            None => Some(self.events.len()),
        };
    }
}

/// The local time of day of `time_ms`, `14:03:22` (with `.123` when
/// `ms`), in the zone `offset` (from [`local_offset`]).
pub fn clock(time_ms: u64, ms: bool, offset: chrono::FixedOffset) -> String {
    let Some(at) = chrono::DateTime::from_timestamp_millis(time_ms as i64) else {
        return "--:--:--".into();
    };
    let at = at.with_timezone(&offset);
    match ms {
        true => at.format("%H:%M:%S%.3f").to_string(),
        false => at.format("%H:%M:%S").to_string(),
    }
}

/// This machine's offset from UTC now: looked up once per picture, not
/// once per row.
pub fn local_offset() -> chrono::FixedOffset {
    use chrono::Offset;
    chrono::Local::now().offset().fix()
}

/// Whether `term` is in the topic or the JSON text of an event.
fn has(topic: &str, data: &serde_json::Value, term: &str) -> bool {
    let term = term.to_ascii_lowercase();
    topic.to_ascii_lowercase().contains(&term)
        || data.to_string().to_ascii_lowercase().contains(&term)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn with(topics: &[&str]) -> Inspector {
        let mut i = Inspector::default();
        for t in topics {
            i.push((*t).into(), json!({}), 0);
        }
        i
    }

    #[test]
    fn selection_moves_among_shown_events_and_follows_past_the_end() {
        let mut i = with(&["llm.request", "state.set", "llm.response"]);
        i.up();
        assert_eq!(i.selected, Some(2));
        i.up();
        assert_eq!(i.selected, Some(1));
        i.next_filter(); // llm.*
        assert_eq!(i.visible(), [0, 2]);
        i.up();
        i.up();
        assert_eq!(i.selected, Some(0));
        i.down();
        assert_eq!(i.selected, Some(2));
        i.down();
        assert_eq!(i.selected, None, "following again");
    }

    #[test]
    fn pause_freezes_the_view_and_memory_stays_bounded() {
        let mut i = with(&["a", "b"]);
        i.toggle_pause();
        i.push("c".into(), json!({}), 0);
        assert_eq!(i.visible(), [0, 1]);
        i.toggle_pause();
        assert_eq!(i.visible(), [0, 1, 2]);
        let mut big = Inspector::default();
        for n in 0..KEEP_EVENTS + 5 {
            big.push(format!("e{n}"), json!(n), 0);
        }
        assert_eq!(big.events.len(), KEEP_EVENTS);
        assert_eq!(big.events[0].topic, "e5");
    }

    #[test]
    fn runs_are_counted_a_new_one_is_followed_and_search_keeps_what_has_the_text() {
        let mut i = with(&["log"]);
        i.push("spell.start".into(), json!({"spell": "a.lua"}), 0);
        i.push("llm.request".into(), json!({"prompt": "Hello THERE"}), 0);
        i.up();
        i.up();
        assert_eq!(i.selected, Some(1));
        i.push("spell.start".into(), json!({"spell": "b.lua"}), 0);
        assert_eq!(i.selected, None, "a new run is followed");
        let runs: Vec<u32> = i.events.iter().map(|e| e.run).collect();
        assert_eq!(runs, [0, 1, 1, 2]);
        i.set_search(Some("there".into()));
        assert_eq!(i.visible(), [2]);
        i.push("llm.response".into(), json!({"text": "there you go"}), 0);
        i.push("log".into(), json!({"text": "nothing"}), 0);
        assert_eq!(i.visible(), [2, 4], "new events are searched as they come");
        i.set_search(Some("START".into()));
        assert_eq!(i.visible(), [1, 3], "topics too, any case");
        i.set_search(None);
        assert_eq!(i.visible().len(), 6);
    }

    #[test]
    fn the_detail_steps_between_events_and_stays_put() {
        let mut i = with(&["a", "b", "c"]);
        i.toggle_detail();
        assert!(i.detail);
        assert_eq!(i.current().map(|e| e.topic.as_str()), Some("c"));
        i.step(false);
        assert_eq!(i.current().map(|e| e.topic.as_str()), Some("b"));
        i.push("d".into(), json!({}), 0);
        assert_eq!(
            i.current().map(|e| e.topic.as_str()),
            Some("b"),
            "stays on it"
        );
        i.step(true);
        i.step(true);
        i.step(true);
        assert_eq!(
            i.current().map(|e| e.topic.as_str()),
            Some("d"),
            "stops at the newest"
        );
        assert!(i.detail_lines()[0].starts_with("d  at "));
    }
}
