//! The editor pane's buffer: the open spell's text, what is on disk, and
//! whether they differ. Edits are never thrown away by a reload: a file
//! changed on disk while the buffer has unsaved edits keeps the edits.

use ratatui::style::{Color, Modifier, Style};
use ratatui_textarea::TextArea;

pub struct Editor {
    pub area: TextArea<'static>,
    /// The text as last read from or written to disk.
    saved: String,
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
        }
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
