//! Where each pane is on the screen, and how the State pane's rows are laid
//! out: plain geometry over the screen's size and the sizes the user chose.
//! Drawing and mouse clicks both use it, so they always agree. Nothing
//! here knows the IDE's state.

use ratatui::layout::{Constraint, Layout, Rect};

use crate::action::Focus;

/// Where each pane is on a screen of `area` with these sizes, with the
/// status bar last: `[spells, editor, output, inspector, state, status]`.
/// Drawing and mouse clicks both use it.
pub fn panes(area: Rect, sizes: Sizes) -> [Rect; 6] {
    let [body, status] = Layout::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(area);
    let centre = 100u16.saturating_sub(sizes.spells + sizes.right);
    let [spells, centre, right] = Layout::horizontal([
        Constraint::Percentage(sizes.spells),
        Constraint::Percentage(centre),
        Constraint::Percentage(sizes.right),
    ])
    .areas(body);
    let [source, output] = Layout::vertical([
        Constraint::Percentage(sizes.editor),
        Constraint::Percentage(100 - sizes.editor),
    ])
    .areas(centre);
    let [inspector, state] = Layout::vertical([
        Constraint::Percentage(sizes.events),
        Constraint::Percentage(100 - sizes.events),
    ])
    .areas(right);
    [spells, source, output, inspector, state, status]
}

/// How the screen is shared, in percent: the spell list's and the right
/// column's widths, and the editor's and the events' share of their column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    pub spells: u16,
    pub right: u16,
    pub editor: u16,
    pub events: u16,
}

impl Default for Sizes {
    fn default() -> Sizes {
        Sizes {
            spells: 20,
            right: 30,
            editor: 60,
            events: 60,
        }
    }
}

impl Sizes {
    /// The focused pane grows (`by` > 0) or shrinks: wider with `wider`,
    /// else taller. Every pane keeps at least a tenth of the screen.
    pub fn grow(&mut self, focus: Focus, wider: bool, by: i16) {
        let step = |v: &mut u16, by: i16, max: u16| {
            *v = (*v as i16 + by).clamp(10, max as i16) as u16;
        };
        match (focus, wider) {
            (Focus::Spells, true) => step(&mut self.spells, by, 80 - self.right),
            (Focus::Editor | Focus::Output, true) => {
                // The centre takes from (or gives to) the right column.
                step(&mut self.right, -by, 80 - self.spells)
            }
            (Focus::Inspector | Focus::State, true) => step(&mut self.right, by, 80 - self.spells),
            (Focus::Editor, false) => step(&mut self.editor, by, 90),
            (Focus::Output, false) => step(&mut self.editor, -by, 90),
            (Focus::Inspector, false) => step(&mut self.events, by, 90),
            (Focus::State, false) => step(&mut self.events, -by, 90),
            (Focus::Spells, false) => {}
        }
    }
}

/// The pane under a point of the screen, if any.
pub fn pane_at(area: Rect, sizes: Sizes, column: u16, row: u16) -> Option<Focus> {
    let [spells, editor, output, inspector, state, _] = panes(area, sizes);
    let at = ratatui::layout::Position::new(column, row);
    [
        (spells, Focus::Spells),
        (editor, Focus::Editor),
        (output, Focus::Output),
        (inspector, Focus::Inspector),
        (state, Focus::State),
    ]
    .into_iter()
    .find(|(r, _)| r.contains(at))
    .map(|(_, f)| f)
}

/// Where an event's detail shows: over the middle of the screen.
pub fn detail_area(screen: Rect) -> Rect {
    Rect::new(
        screen.width / 8,
        screen.height / 8,
        screen.width * 3 / 4,
        screen.height * 3 / 4,
    )
}

/// Columns and rows of an event's detail text, inside its border.
pub fn detail_room(screen: Rect) -> (usize, usize) {
    let area = detail_area(screen);
    (
        area.width.saturating_sub(2) as usize,
        area.height.saturating_sub(2) as usize,
    )
}

/// One row of the state tree.
#[derive(Debug, Clone, PartialEq)]
pub struct StateRow {
    pub depth: usize,
    /// A folder (`counter/`), a key's last part, or a field of a value.
    pub label: String,
    /// A plain value, shown after `=`; none for folders and containers.
    pub value: Option<String>,
    /// The index of the key in the state, on a key's own row.
    pub key: Option<usize>,
}

/// The most fields or items of one value shown; the rest are counted.
const SHOWN_FIELDS: usize = 20;

/// The project's state as a tree: keys split on `/` into folders, and
/// object and array values opened into their fields.
pub fn state_rows(state: &[(String, serde_json::Value)]) -> Vec<StateRow> {
    let mut rows = Vec::new();
    let mut open: Vec<&str> = Vec::new();
    for (index, (key, value)) in state.iter().enumerate() {
        let parts: Vec<&str> = key.split('/').collect();
        let (folders, name) = parts.split_at(parts.len() - 1);
        let same = open.iter().zip(folders).take_while(|(a, b)| a == b).count();
        open.truncate(same);
        for (depth, folder) in folders.iter().enumerate().skip(same) {
            rows.push(StateRow {
                depth,
                label: format!("{folder}/"),
                value: None,
                key: None,
            });
            open.push(folder);
        }
        value_rows(
            &mut rows,
            folders.len(),
            name[0].to_owned(),
            value,
            Some(index),
        );
    }
    rows
}

fn value_rows(
    rows: &mut Vec<StateRow>,
    depth: usize,
    label: String,
    value: &serde_json::Value,
    key: Option<usize>,
) {
    use serde_json::Value;
    let children: Vec<(String, &Value)> = match value {
        Value::Object(m) if !m.is_empty() => m.iter().map(|(k, v)| (k.clone(), v)).collect(),
        Value::Array(a) if !a.is_empty() => a
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("[{i}]"), v))
            .collect(),
        plain => {
            rows.push(StateRow {
                depth,
                label,
                value: Some(plain.to_string()),
                key,
            });
            return;
        }
    };
    rows.push(StateRow {
        depth,
        label,
        value: None,
        key,
    });
    let more = children.len().saturating_sub(SHOWN_FIELDS);
    for (label, v) in children.into_iter().take(SHOWN_FIELDS) {
        value_rows(rows, depth + 1, label, v, None);
    }
    if more > 0 {
        rows.push(StateRow {
            depth: depth + 1,
            label: format!("… {more} more"),
            value: None,
            key: None,
        });
    }
}
