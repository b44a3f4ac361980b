//! The editor pane's buffer: the open spell's text, what is on disk, and
//! whether they differ. Edits are never thrown away by a reload: a file
//! changed on disk while the buffer has unsaved edits keeps the edits, and
//! what is on disk then is remembered ([`Editor::disk`]) so that saving
//! asks before writing over it.

use ratatui::style::{Color, Modifier, Style};
use ratatui_textarea::TextArea;

use crate::highlight::Highlight;

/// What reading a file found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read {
    Text(String),
    /// No file there (deleted, or renamed away).
    Missing,
    /// Something that cannot be edited as text, and why: not UTF-8, a
    /// folder, no permission.
    Unreadable(String),
}

impl Read {
    /// Reads the file at `path` whole.
    pub fn file(path: &std::path::Path) -> Read {
        match std::fs::read(path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => Read::Text(text),
                Err(e) => Read::Unreadable(format!(
                    "not UTF-8 text (byte {} is 0x{:02x})",
                    e.utf8_error().valid_up_to(),
                    e.as_bytes()[e.utf8_error().valid_up_to()]
                )),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Read::Missing,
            Err(e) => Read::Unreadable(e.to_string()),
        }
    }
}

pub struct Editor {
    /// The text and its editing (keys, undo, selection).
    pub area: TextArea<'static>,
    /// The text as last read from or written to disk.
    saved: String,
    /// What is on disk now, when it is no longer `saved`: another
    /// program's text, nothing, or something that is not text.
    pub disk: Option<Read>,
    /// The buffer stands for a file that is not text: it shows nothing,
    /// takes no typing, and is never saved.
    pub read_only: bool,
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
            disk: None,
            read_only: false,
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

    /// The buffer of a spell file as read, coloured for its extension.
    pub fn opened(read: Read, extension: &str) -> Editor {
        match read {
            Read::Text(text) => Editor::code(&text, extension),
            other => {
                let mut e = Editor::code("", extension);
                e.read_only = matches!(other, Read::Unreadable(_));
                e.disk = Some(other);
                e
            }
        }
    }

    /// The file was read again. Text replaces a buffer with no edits (and
    /// one that was not text); with edits, the buffer stays and the file's
    /// news is kept in [`Editor::disk`]. Returns whether the text changed.
    pub fn reread(&mut self, read: Read, extension: &str) -> bool {
        match read {
            // Our own save coming back, or theirs the same as ours.
            Read::Text(text) if text == self.text() => {
                self.saved = text;
                self.disk = None;
                false
            }
            Read::Text(_) if self.dirty() && !self.read_only => {
                self.disk = Some(read);
                false
            }
            Read::Text(text) => {
                let ratatui_textarea::DataCursor(row, col) = self.area.cursor();
                let top = self.top;
                *self = Editor::code(&text, extension);
                self.top = top;
                self.area.move_cursor(ratatui_textarea::CursorMove::Jump(
                    row.min(u16::MAX as usize) as u16,
                    col.min(u16::MAX as usize) as u16,
                ));
                true
            }
            // A buffer keeps its text, whatever the disk now holds.
            other => {
                self.disk = Some(other);
                false
            }
        }
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

    /// The buffer holds what its file does not: edits, or text whose
    /// file is gone. A buffer that is not text never does.
    pub fn dirty(&self) -> bool {
        !self.read_only && (self.text() != self.saved || self.disk == Some(Read::Missing))
    }

    /// The text as last read from or written to disk.
    pub fn saved_text(&self) -> &str {
        &self.saved
    }

    /// The buffer was written to disk as `text`.
    pub fn saved_as(&mut self, text: String) {
        self.saved = text;
        self.disk = None;
    }

    /// What the file holds as far as this buffer knows. A save writes
    /// only over this: anything else there now is asked about first.
    pub fn on_disk(&self) -> Read {
        self.disk
            .clone()
            .unwrap_or_else(|| Read::Text(self.saved.clone()))
    }
}
