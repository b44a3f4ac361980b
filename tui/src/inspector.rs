//! The event inspector's state: the last events, a topic filter, a
//! selection that follows the newest event until you move it, and a pause
//! that freezes the view while events keep arriving. Memory is bounded:
//! only the last [`KEEP_EVENTS`] events are kept.

use std::collections::VecDeque;

/// How many events are kept; older ones go.
pub const KEEP_EVENTS: usize = 10_000;

/// The filters `f` cycles through: every event, then one family each.
pub const FILTERS: &[&str] = &[
    "*", "llm.*", "tool.*", "agent.*", "state.*", "hook.*", "debug.*", "log", "spell.*",
];

#[derive(Default)]
pub struct Inspector {
    /// `(topic, data)`, oldest first.
    pub events: VecDeque<(String, serde_json::Value)>,
    /// The selected event's index in `events`; `None` follows the newest.
    pub selected: Option<usize>,
    /// Index into [`FILTERS`].
    pub filter: usize,
    /// While paused, the view shows only the first this-many events.
    pub frozen: Option<usize>,
    /// The selected event's whole JSON is shown.
    pub detail: bool,
}

impl Inspector {
    pub fn push(&mut self, topic: String, data: serde_json::Value) {
        if self.events.len() == KEEP_EVENTS {
            self.events.pop_front();
            // Indexes shift with the dropped event.
            self.selected = self.selected.map(|i| i.saturating_sub(1));
            self.frozen = self.frozen.map(|n| n.saturating_sub(1));
        }
        self.events.push_back((topic, data));
    }

    pub fn filter_name(&self) -> &'static str {
        FILTERS[self.filter]
    }

    fn shows(&self, i: usize) -> bool {
        let limit = self.frozen.unwrap_or(self.events.len());
        i < limit && llmspell::bus::pattern_matches(self.filter_name(), &self.events[i].0)
    }

    /// Indexes of the events the view shows, oldest first.
    pub fn visible(&self) -> Vec<usize> {
        (0..self.events.len()).filter(|&i| self.shows(i)).collect()
    }

    /// The event the detail view and copy act on: the selected one, or the
    /// newest shown.
    pub fn current(&self) -> Option<&(String, serde_json::Value)> {
        let i = self.selected.or_else(|| self.visible().last().copied())?;
        self.events.get(i)
    }

    /// Selects the previous shown event (from following: the newest).
    pub fn up(&mut self) {
        let visible = self.visible();
        self.selected = match self.selected {
            None => visible.last().copied(),
            Some(i) => visible.iter().rev().find(|&&v| v < i).copied().or(Some(i)),
        };
    }

    /// Selects the next shown event; past the newest, follows again.
    pub fn down(&mut self) {
        if let Some(i) = self.selected {
            self.selected = self.visible().into_iter().find(|&v| v > i);
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn with(topics: &[&str]) -> Inspector {
        let mut i = Inspector::default();
        for t in topics {
            i.push((*t).into(), json!({}));
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
        i.push("c".into(), json!({}));
        assert_eq!(i.visible(), [0, 1]);
        i.toggle_pause();
        assert_eq!(i.visible(), [0, 1, 2]);
        let mut big = Inspector::default();
        for n in 0..KEEP_EVENTS + 5 {
            big.push(format!("e{n}"), json!(n));
        }
        assert_eq!(big.events.len(), KEEP_EVENTS);
        assert_eq!(big.events[0].0, "e5");
    }
}
