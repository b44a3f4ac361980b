//! Text that wraps to its pane and scrolls: the Output pane, a REPL's
//! transcript and an event's detail. A view follows the newest line until
//! it is moved, then holds still on the line it shows while more arrive
//! (or old ones are dropped), and follows again once moved back to the end.

use std::collections::VecDeque;

use unicode_width::UnicodeWidthChar;

/// Tab stops, every this many columns of a row.
pub const TAB: usize = 8;

/// Lines of text, oldest first.
pub trait Lines {
    fn count(&self) -> usize;
    fn line(&self, i: usize) -> &str;
}

impl Lines for VecDeque<String> {
    fn count(&self) -> usize {
        self.len()
    }
    fn line(&self, i: usize) -> &str {
        &self[i]
    }
}

impl Lines for [String] {
    fn count(&self) -> usize {
        self.len()
    }
    fn line(&self, i: usize) -> &str {
        &self[i]
    }
}

/// Printed text kept as lines, at most `keep` of them (older ones go),
/// with the view onto them.
#[derive(Debug, Clone, Default)]
pub struct Transcript {
    pub lines: VecDeque<String>,
    pub scroll: Scroll,
    /// Where the last run's lines start, while they are kept.
    pub mark: Option<usize>,
}

impl Transcript {
    /// Adds `text`, one line per line of it (a print of `"a\nb"` is two).
    pub fn push(&mut self, text: &str, keep: usize) {
        for line in text.split('\n') {
            if self.lines.len() >= keep.max(1) {
                self.lines.pop_front();
                self.scroll.dropped_first();
                self.mark = self.mark.and_then(|m| m.checked_sub(1));
            }
            self.lines.push_back(line.to_owned());
        }
    }

    /// Adds `text` and marks it the start of a new run's lines.
    pub fn push_mark(&mut self, text: &str, keep: usize) {
        self.push(text, keep);
        self.mark = Some(self.lines.len() - 1);
        self.scroll.follow();
    }

    pub fn clear(&mut self) {
        *self = Transcript::default();
    }

    /// The lines from the last mark (all of them without one), as text.
    pub fn since_mark(&self) -> String {
        let from = self.mark.unwrap_or(0);
        let lines: Vec<&str> = self.lines.range(from..).map(String::as_str).collect();
        lines.join("\n")
    }

    /// The rows a pane `width` by `room` shows.
    pub fn view(&self, width: usize, room: usize) -> Vec<String> {
        self.scroll.view(&self.lines, width, room)
    }

    /// Scrolls the view `by` rows (up when negative).
    pub fn scroll_by(&mut self, width: usize, room: usize, by: isize) {
        self.scroll.by(&self.lines, width, room, by);
    }
}

/// `line` as it is shown, cut into rows at most `width` columns wide:
/// after a space where one is in the row, else where the row is full.
/// Tabs go to the next tab stop; a carriage return starts the line again
/// (as a terminal shows a progress line); other control characters show
/// as their symbols (`␛`), so none reaches the terminal.
pub fn rows(line: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let line = line.strip_suffix('\r').unwrap_or(line);
    let line = line.rsplit('\r').next().unwrap_or(line);
    let mut rows = Vec::new();
    let mut row = String::new();
    let mut used = 0;
    // Where the row may break: the byte after its last space, and the
    // columns up to there.
    let mut space: Option<(usize, usize)> = None;
    for c in line.chars() {
        let tab = |used: usize| TAB - used % TAB;
        let (shown, mut w) = match c {
            '\t' => (None, tab(used)),
            c if c.is_control() => {
                let symbol = match c as u32 {
                    n @ 0..=0x1f => char::from_u32(0x2400 + n).unwrap_or('?'),
                    0x7f => '\u{2421}',
                    _ => '\u{fffd}',
                };
                (Some(symbol), 1)
            }
            c => (Some(c), c.width().unwrap_or(0)),
        };
        while used + w > width && used > 0 {
            match space.take().filter(|&(at, _)| at < row.len()) {
                Some((at, cols)) => {
                    let rest = row.split_off(at);
                    rows.push(std::mem::replace(&mut row, rest));
                    used -= cols;
                }
                None => {
                    rows.push(std::mem::take(&mut row));
                    used = 0;
                }
            }
            if shown.is_none() {
                w = tab(used);
            }
        }
        match shown {
            Some(s) => row.push(s),
            None => {
                w = w.min(width - used);
                row.extend(std::iter::repeat_n(' ', w));
            }
        }
        used += w;
        if c == ' ' || c == '\t' {
            space = Some((row.len(), used));
        }
    }
    rows.push(row);
    rows
}

/// Where a view of wrapped lines is: following the end, or with a given
/// row of a given line at its top.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Scroll {
    top: Option<(usize, usize)>,
}

impl Scroll {
    pub fn following(&self) -> bool {
        self.top.is_none()
    }

    /// Back to the end, following what arrives.
    pub fn follow(&mut self) {
        self.top = None;
    }

    /// The first line at the top.
    pub fn home(&mut self) {
        self.top = Some((0, 0));
    }

    /// Line `line` (from 0) at the top.
    pub fn to_line(&mut self, line: usize) {
        self.top = Some((line, 0));
    }

    /// The oldest line was dropped: the view stays on what it shows.
    pub fn dropped_first(&mut self) {
        if let Some((line, row)) = &mut self.top {
            if *line == 0 {
                *row = 0;
            } else {
                *line -= 1;
            }
        }
    }

    /// Moves the view `by` rows (up when negative) in a pane `width`
    /// columns wide and `room` rows high; at the end it follows again.
    pub fn by<L: Lines + ?Sized>(&mut self, lines: &L, width: usize, room: usize, by: isize) {
        let Some((mut line, mut row)) = self.top.or_else(|| end_top(lines, width, room)) else {
            return;
        };
        let rows_of = |i: usize| rows(lines.line(i), width).len();
        // The rows of the line the top is in, counted once per line.
        let mut here = rows_of(line);
        row = row.min(here.saturating_sub(1));
        for _ in 0..by.unsigned_abs() {
            if by < 0 {
                if row > 0 {
                    row -= 1;
                } else if line > 0 {
                    line -= 1;
                    here = rows_of(line);
                    row = here - 1;
                }
            } else if row + 1 < here {
                row += 1;
            } else if line + 1 < lines.count() {
                line += 1;
                here = rows_of(line);
                row = 0;
            }
        }
        self.top = Some((line, row));
        if fits_from(lines, width, room, (line, row)) {
            self.follow();
        }
    }

    /// The rows the pane shows, top first.
    pub fn view<L: Lines + ?Sized>(&self, lines: &L, width: usize, room: usize) -> Vec<String> {
        let Some(top) = self.top.or_else(|| end_top(lines, width, room)) else {
            return Vec::new();
        };
        let mut out = Vec::with_capacity(room);
        let (first, skip) = top;
        for i in first..lines.count() {
            let skip = if i == first { skip } else { 0 };
            for r in rows(lines.line(i), width).into_iter().skip(skip) {
                if out.len() == room {
                    return out;
                }
                out.push(r);
            }
        }
        out
    }
}

/// The top of a view that shows the end: the line and row `room` rows up
/// from the last, or the very first when all of it fits.
fn end_top<L: Lines + ?Sized>(lines: &L, width: usize, room: usize) -> Option<(usize, usize)> {
    let mut left = room.max(1);
    for i in (0..lines.count()).rev() {
        let n = rows(lines.line(i), width).len();
        if n >= left {
            return Some((i, n - left));
        }
        left -= n;
    }
    (lines.count() > 0).then_some((0, 0))
}

/// Whether everything from `top` to the end fits in `room` rows.
fn fits_from<L: Lines + ?Sized>(lines: &L, width: usize, room: usize, top: (usize, usize)) -> bool {
    let mut used = 0;
    for i in top.0..lines.count() {
        let n = rows(lines.line(i), width).len();
        used += if i == top.0 { n - top.1.min(n) } else { n };
        if used > room {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_break_after_spaces_expand_tabs_and_show_control_characters() {
        assert_eq!(rows("", 10), [""]);
        assert_eq!(rows("hello world again", 11), ["hello ", "world again"]);
        assert_eq!(rows("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(rows("a\tb", 20), ["a       b"]);
        assert_eq!(rows("ab\tc\td", 20), ["ab      c       d"]);
        assert_eq!(rows("x\u{1b}[31m", 20), ["x\u{241b}[31m"]);
        assert_eq!(rows("50%\r100%", 20), ["100%"]);
        assert_eq!(rows("crlf\r", 20), ["crlf"]);
        // Wide characters take two columns and never split.
        assert_eq!(rows("日本語", 4), ["日本", "語"]);
        for (line, width) in [("a b c d e f g", 3), ("\t\tx", 5), ("日本語 abc", 3)] {
            for row in rows(line, width) {
                let cols: usize = row.chars().map(|c| c.width().unwrap_or(0)).sum();
                assert!(cols <= width, "{line:?} at {width}: {row:?}");
            }
        }
    }

    fn lines(n: usize) -> VecDeque<String> {
        (1..=n).map(|i| format!("line {i}")).collect()
    }

    #[test]
    fn a_view_follows_the_end_until_moved_then_holds_still() {
        let mut text = lines(10);
        let mut s = Scroll::default();
        assert_eq!(s.view(&text, 20, 3), ["line 8", "line 9", "line 10"]);
        s.by(&text, 20, 3, -2);
        assert_eq!(s.view(&text, 20, 3), ["line 6", "line 7", "line 8"]);
        // More arrives, the oldest goes: the view stays on line 6.
        text.push_back("line 11".into());
        text.pop_front();
        s.dropped_first();
        assert_eq!(s.view(&text, 20, 3), ["line 6", "line 7", "line 8"]);
        s.home();
        assert_eq!(s.view(&text, 20, 3), ["line 2", "line 3", "line 4"]);
        s.by(&text, 20, 3, -5);
        assert_eq!(s.view(&text, 20, 3)[0], "line 2", "stops at the top");
        // Moved back to the end, it follows again.
        s.by(&text, 20, 3, 100);
        assert!(s.following());
        text.push_back("line 12".into());
        assert_eq!(s.view(&text, 20, 3), ["line 10", "line 11", "line 12"]);
    }

    #[test]
    fn a_transcript_splits_lines_stays_bounded_and_keeps_its_mark() {
        let mut t = Transcript::default();
        t.push("a\nb", 4);
        t.push_mark("-- run --", 4);
        t.push("c\td", 4);
        assert_eq!(t.lines, ["a", "b", "-- run --", "c\td"]);
        assert_eq!(t.since_mark(), "-- run --\nc\td");
        t.push("e", 4);
        assert_eq!(t.lines, ["b", "-- run --", "c\td", "e"]);
        assert_eq!(t.since_mark(), "-- run --\nc\td\ne");
        t.push("f\ng", 4);
        assert_eq!(
            t.since_mark(),
            "c\td\ne\nf\ng",
            "the mark went with its line"
        );
        t.clear();
        assert!(t.lines.is_empty() && t.since_mark().is_empty());
    }

    #[test]
    fn a_view_scrolls_by_rows_through_wrapped_lines() {
        let text: VecDeque<String> = ["one", "two three four", "five"]
            .into_iter()
            .map(String::from)
            .collect();
        let mut s = Scroll::default();
        // "two three four" is three rows at width 6.
        assert_eq!(s.view(&text, 6, 2), ["four", "five"]);
        s.by(&text, 6, 2, -1);
        assert_eq!(s.view(&text, 6, 2), ["three ", "four"]);
        s.by(&text, 6, 2, -2);
        assert_eq!(s.view(&text, 6, 2), ["one", "two "]);
        assert!(Scroll::default().view(&VecDeque::new(), 6, 2).is_empty());
        // Everything fits: moving changes nothing.
        let mut s = Scroll::default();
        s.by(&text, 80, 10, -3);
        assert!(s.following());
    }
}
