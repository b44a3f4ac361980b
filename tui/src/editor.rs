//! The editor pane's buffer: the open spell's text, what is on disk, and
//! whether they differ. Edits are never thrown away by a reload: a file
//! changed on disk while the buffer has unsaved edits keeps the edits.

use ratatui::style::{Color, Modifier, Style};
use ratatui_textarea::TextArea;

use crate::highlight::Highlight;

pub struct Editor {
    /// The text and its editing (keys, undo, selection).
    pub area: TextArea<'static>,
    /// The text as last read from or written to disk.
    saved: String,
    /// The first line shown: the spell editor draws itself (with colours
    /// and a gutter) and keeps the cursor in view by moving this.
    pub top: usize,
    pub highlight: Highlight,
}

impl Default for Editor {
    fn default() -> Self {
        Editor::new("")
    }
}

impl Editor {
    pub fn new(text: &str) -> Editor {
        let mut area = TextArea::new(text.lines().map(str::to_owned).collect());
        area.set_line_number_style(Style::default().fg(Color::DarkGray));
        area.set_cursor_line_style(Style::default());
        area.set_cursor_style(Style::default().add_modifier(Modifier::REVERSED));
        Editor {
            area,
            saved: text.to_owned(),
            top: 0,
            highlight: Highlight::default(),
        }
    }

    /// A spell's buffer, coloured for its extension (`lua`, `js`, `rhai`)
    /// as its lines are shown (see [`Editor::follow_cursor`]).
    pub fn code(text: &str, extension: &str) -> Editor {
        let mut e = Editor::new(text);
        e.highlight = Highlight::for_extension(extension);
        e
    }

    /// Scrolls so the cursor is on one of `height` rows, and colours what
    /// is shown (after an edit, from the changed line).
    pub fn follow_cursor(&mut self, height: usize) {
        self.show_row(self.area.cursor().0, height);
    }

    /// Scrolls so line `row` (from 0) is on one of `height` rows, and
    /// colours what is shown.
    pub fn show_row(&mut self, row: usize, height: usize) {
        let height = height.max(1);
        if row < self.top {
            self.top = row;
        } else if row >= self.top + height {
            self.top = row + 1 - height;
        }
        self.highlight
            .update(self.area.lines(), self.top.saturating_add(height));
    }

    /// An input box: no line numbers.
    pub fn input(text: &str) -> Editor {
        let mut e = Editor::new(text);
        e.area.remove_line_number();
        e
    }

    /// The buffer's text, one `\n` after each line but the last, as saved.
    pub fn text(&self) -> String {
        let mut text = self.area.lines().join("\n");
        if self.saved.ends_with('\n') && !text.is_empty() {
            text.push('\n');
        }
        text
    }

    pub fn dirty(&self) -> bool {
        self.text() != self.saved
    }

    /// The buffer was written to disk as `text`.
    pub fn saved_as(&mut self, text: String) {
        self.saved = text;
    }
}
