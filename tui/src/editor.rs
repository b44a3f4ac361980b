//! The editor pane's buffer: the open spell's text, what is on disk, and
//! whether they differ. Edits are never thrown away by a reload: a file
//! changed on disk while the buffer has unsaved edits keeps the edits, and
//! what is on disk then is remembered ([`Editor::disk`]) so that saving
//! asks before writing over it.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::{Color, Modifier, Style};
use ratatui_textarea::{CursorMove, DataCursor, TextArea};

use crate::edit::{Burst, Snapshot, Undo};
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
    /// Undo in steps (the text area's own history is off).
    undo: Undo,
    /// What starts a line comment in the spell's language.
    comment: &'static str,
    /// Line numbers in the text area (not in a one-line input).
    numbered: bool,
}

/// What a key did to the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Keyed {
    /// The text changed.
    pub changed: bool,
    /// The selection went to the clipboard (copy or cut).
    pub copied: bool,
}

impl Default for Editor {
    fn default() -> Self {
        Editor::new("")
    }
}

impl Editor {
    pub fn new(text: &str) -> Editor {
        Editor {
            area: text_area(text.lines().map(str::to_owned).collect(), true),
            saved: text.to_owned(),
            disk: None,
            read_only: false,
            top: 0,
            highlight: Highlight::default(),
            undo: Undo::default(),
            comment: "// ",
            numbered: true,
        }
    }

    /// A spell's buffer, coloured for its extension (`lua`, `js`, `rhai`)
    /// as its lines are shown (see [`Editor::follow_cursor`]).
    pub fn code(text: &str, extension: &str) -> Editor {
        let mut e = Editor::new(text);
        e.highlight = Highlight::for_extension(extension);
        if extension == "lua" {
            e.comment = "-- ";
        }
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
            // What we saved last, read back after more edits: no news.
            Read::Text(text) if text == self.saved && !self.read_only => {
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
        e.numbered = false;
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

/// A text area as every editor here sets one up: no history of its own
/// (undo is [`Editor`]'s), the cursor shown reversed.
fn text_area(lines: Vec<String>, numbered: bool) -> TextArea<'static> {
    let mut area = TextArea::new(lines);
    if numbered {
        area.set_line_number_style(Style::default().fg(Color::DarkGray));
    }
    area.set_cursor_line_style(Style::default());
    area.set_cursor_style(Style::default().add_modifier(Modifier::REVERSED));
    area.set_max_histories(0);
    area
}

/// The spell editor's keys: everything the text area does, and page and
/// whole-buffer moves, indent and outdent, line comments, cut, copy and
/// paste through the IDE's clipboard, and undo in steps.
impl Editor {
    /// Acts on `key` in a pane `height` rows high; copy and cut put the
    /// selection in `clipboard`, paste takes it from there.
    pub fn key(&mut self, key: KeyEvent, height: usize, clipboard: &mut String) -> Keyed {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let shift = key.modifiers.contains(KeyModifiers::SHIFT);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        let changed = |changed| Keyed {
            changed,
            copied: false,
        };
        match key.code {
            KeyCode::PageUp | KeyCode::PageDown if !ctrl && !alt => {
                let (row, col) = self.cursor();
                let page = height.max(1);
                let row = match key.code {
                    KeyCode::PageUp => row.saturating_sub(page),
                    _ => (row + page).min(self.area.lines().len().saturating_sub(1)),
                };
                // The view moves by as much, so the cursor keeps its place on screen.
                self.top = match key.code {
                    KeyCode::PageUp => self.top.saturating_sub(page),
                    _ => self.top + page,
                }
                .min(row);
                self.go(row, col, shift);
                changed(false)
            }
            KeyCode::Home | KeyCode::End if ctrl => {
                let last = self.area.lines().len().saturating_sub(1);
                match key.code {
                    KeyCode::Home => self.go(0, 0, shift),
                    _ => self.go(last, usize::MAX, shift),
                }
                changed(false)
            }
            KeyCode::Tab if !ctrl && !alt && self.spans_lines() => changed(self.shift(false)),
            KeyCode::BackTab => changed(self.shift(true)),
            KeyCode::Char('c') if ctrl => Keyed {
                changed: false,
                copied: self.copy(clipboard),
            },
            KeyCode::Char('x') if ctrl && self.area.selection_range().is_some() => {
                let cut = self.edit(None, |area| area.cut());
                *clipboard = self.area.yank_text();
                Keyed {
                    changed: cut,
                    copied: true,
                }
            }
            KeyCode::Char('x') if ctrl => changed(false),
            KeyCode::Char('v') if ctrl => {
                let text = clipboard.clone();
                changed(!text.is_empty() && self.edit(None, |area| area.insert_str(&text)))
            }
            KeyCode::Char('z' | 'u') if ctrl && !shift => changed(self.step(true)),
            KeyCode::Char('y' | 'r' | 'Z') if ctrl => changed(self.step(false)),
            // Ctrl+/ arrives as Ctrl+7 (or Ctrl+_) from most terminals.
            KeyCode::Char('/' | '7' | '_') if ctrl => changed(self.comment()),
            _ => changed(self.typed(key)),
        }
    }

    /// Inserts `text` at the cursor (a terminal's paste), as one step.
    pub fn paste(&mut self, text: &str) -> bool {
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        self.edit(None, |area| area.insert_str(&text))
    }

    fn cursor(&self) -> (usize, usize) {
        let DataCursor(row, col) = self.area.cursor();
        (row, col)
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot {
            lines: self.area.lines().to_vec(),
            cursor: self.cursor(),
        }
    }

    /// The text becomes `lines` with the cursor at `cursor`, and with
    /// `select` (from, to) selected.
    fn set_lines(
        &mut self,
        lines: Vec<String>,
        cursor: (usize, usize),
        select: Option<((usize, usize), (usize, usize))>,
    ) {
        let yank = self.area.yank_text();
        self.area = text_area(lines, self.numbered);
        self.area.set_yank_text(yank);
        if let Some((from, _)) = select {
            self.jump(from);
            self.area.start_selection();
        }
        self.jump(cursor);
    }

    fn jump(&mut self, (row, col): (usize, usize)) {
        let clamp = |n: usize| n.min(u16::MAX as usize) as u16;
        self.area
            .move_cursor(CursorMove::Jump(clamp(row), clamp(col)));
    }

    /// Moves the cursor to `row`, `col` (clamped to the text), selecting
    /// on from where it was with `select`.
    fn go(&mut self, row: usize, col: usize, select: bool) {
        if select && !self.area.is_selecting() {
            self.area.start_selection();
        } else if !select {
            self.area.cancel_selection();
        }
        self.jump((row, col));
        self.undo.moved();
    }

    /// The selection takes in more than one line.
    fn spans_lines(&self) -> bool {
        self.area
            .selection_range()
            .is_some_and(|((r0, _), (r1, _))| r1 > r0)
    }

    /// An edit made by `f` on the text area, as a new undo step (or part
    /// of a burst of `kind`); whether it changed the text.
    fn edit(
        &mut self,
        kind: Option<Burst>,
        f: impl FnOnce(&mut TextArea<'static>) -> bool,
    ) -> bool {
        let goes_on = self.undo.continues(kind, self.cursor());
        let before = (!goes_on).then(|| self.snapshot());
        if !f(&mut self.area) {
            return false;
        }
        self.undo.edited(before, kind, self.cursor());
        true
    }

    /// A key for the text area itself: typing and deleting go on a burst.
    fn typed(&mut self, key: KeyEvent) -> bool {
        let plain = !key
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
        let kind = match key.code {
            KeyCode::Char(_) if plain => Some(Burst::Typing),
            KeyCode::Backspace | KeyCode::Delete if plain => Some(Burst::Deleting),
            _ => None,
        };
        let moves = matches!(
            key.code,
            KeyCode::Up
                | KeyCode::Down
                | KeyCode::Left
                | KeyCode::Right
                | KeyCode::Home
                | KeyCode::End
                | KeyCode::PageUp
                | KeyCode::PageDown
        );
        if moves {
            self.area.input(key);
            self.undo.moved();
            return false;
        }
        self.edit(kind, |area| area.input(key))
    }

    /// Undo (or redo) one step.
    fn step(&mut self, back: bool) -> bool {
        let now = self.snapshot();
        let to = match back {
            true => self.undo.undo(now),
            false => self.undo.redo(now),
        };
        let Some(to) = to else {
            return false;
        };
        self.set_lines(to.lines, to.cursor, None);
        true
    }

    fn copy(&mut self, clipboard: &mut String) -> bool {
        if self.area.selection_range().is_none() {
            return false;
        }
        self.area.copy();
        *clipboard = self.area.yank_text();
        true
    }

    /// Changes the lines the selection touches (or the cursor's) with `f`,
    /// which says how much each row's length changed, as one undo step;
    /// the cursor and selection move with their text.
    fn lines_edit(
        &mut self,
        f: impl FnOnce(&mut [String], std::ops::RangeInclusive<usize>) -> Vec<isize>,
    ) -> bool {
        let selection = self.area.selection_range();
        let cursor = self.cursor();
        let rows = crate::edit::rows_of(selection, cursor);
        let before = self.snapshot();
        let mut lines = before.lines.clone();
        let first = *rows.start();
        let deltas = f(&mut lines, rows);
        if lines == before.lines {
            return false;
        }
        let moved = |(row, col): (usize, usize)| {
            let by = row
                .checked_sub(first)
                .and_then(|i| deltas.get(i))
                .copied()
                .unwrap_or(0);
            (row, col.saturating_add_signed(by))
        };
        let select = selection.map(|(a, b)| {
            // The other end of the selection from the cursor.
            let anchor = if a == cursor { b } else { a };
            (moved(anchor), moved(cursor))
        });
        self.set_lines(lines, moved(cursor), select);
        self.undo.edited(Some(before), None, self.cursor());
        true
    }

    fn shift(&mut self, out: bool) -> bool {
        let indent = self.area.indent();
        self.lines_edit(|lines, rows| crate::edit::shift(lines, rows, indent, out))
    }

    fn comment(&mut self) -> bool {
        let prefix = self.comment;
        self.lines_edit(|lines, rows| crate::edit::toggle_comment(lines, rows, prefix))
    }

    /// Moves to the next (or previous) `term` from the cursor and selects
    /// it; whether there is one.
    pub fn find(&mut self, term: &str, forward: bool) -> bool {
        let from = match self.area.selection_range() {
            // From the start of a selected match, so F3 goes on past it.
            Some((start, _)) => start,
            None => self.cursor(),
        };
        let Some((row, col)) = crate::edit::find(self.area.lines(), term, from, forward) else {
            return false;
        };
        self.area.cancel_selection();
        self.jump((row, col));
        self.area.start_selection();
        self.jump((row, col + term.chars().count()));
        self.undo.moved();
        true
    }

    /// Replaces every `term` with `with`, as one undo step; how many.
    pub fn replace_all(&mut self, term: &str, with: &str) -> usize {
        let before = self.snapshot();
        let mut lines = before.lines.clone();
        let n = crate::edit::replace_all(&mut lines, term, with);
        if n > 0 {
            let cursor = before.cursor;
            self.set_lines(lines, cursor, None);
            self.undo.edited(Some(before), None, self.cursor());
        }
        n
    }

    /// Moves to line `n` (from 1, clamped to the text).
    pub fn go_to_line(&mut self, n: usize) {
        let last = self.area.lines().len().saturating_sub(1);
        self.go(n.saturating_sub(1).min(last), 0, false);
    }
}
