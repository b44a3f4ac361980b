//! What the spell editor does to lines beyond typing: indent and outdent,
//! line comments, find and replace, and undo in steps a person means (a
//! burst of typing is one step, not one per character). Columns are in
//! characters, as the text area counts them.

use std::ops::{Range, RangeInclusive};
use std::time::{Duration, Instant};

/// Keys this close together, each where the last left the cursor, are
/// one undo step.
pub const BURST: Duration = Duration::from_millis(1000);
/// Undo steps kept; the oldest go.
pub const STEPS: usize = 500;

/// The text and cursor before an edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub lines: Vec<String>,
    pub cursor: (usize, usize),
}

/// A run of keys of one kind that undo takes back together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Burst {
    Typing,
    Deleting,
}

/// Undo and redo steps, as snapshots taken where each step began.
#[derive(Debug, Default, Clone)]
pub struct Undo {
    undo: Vec<Snapshot>,
    redo: Vec<Snapshot>,
    /// The burst going on: its kind, when its last key came, and where
    /// that key left the cursor.
    burst: Option<(Burst, Instant, (usize, usize))>,
}

impl Undo {
    /// Whether a key of `kind` with the cursor at `cursor` goes on the
    /// burst under way (so it needs no snapshot of its own).
    pub fn continues(&self, kind: Option<Burst>, cursor: (usize, usize)) -> bool {
        match (kind, self.burst) {
            (Some(kind), Some((k, at, c))) => k == kind && c == cursor && at.elapsed() < BURST,
            _ => false,
        }
    }

    /// An edit was made: `before` (when it began a new step) is what undo
    /// goes back to; a key of `kind` leaving the cursor at `cursor` may go
    /// on the step.
    pub fn edited(
        &mut self,
        before: Option<Snapshot>,
        kind: Option<Burst>,
        cursor: (usize, usize),
    ) {
        if let Some(before) = before {
            if self.undo.len() == STEPS {
                self.undo.remove(0);
            }
            self.undo.push(before);
        }
        self.redo.clear();
        self.burst = kind.map(|k| (k, Instant::now(), cursor));
    }

    /// Something other than an edit (a move): the burst ends.
    pub fn moved(&mut self) {
        self.burst = None;
    }

    /// The step to go back to, given what there is now (which redo keeps).
    pub fn undo(&mut self, now: Snapshot) -> Option<Snapshot> {
        let back = self.undo.pop()?;
        self.redo.push(now);
        self.burst = None;
        Some(back)
    }

    /// The step undone last, given what there is now (which undo keeps).
    pub fn redo(&mut self, now: Snapshot) -> Option<Snapshot> {
        let forward = self.redo.pop()?;
        self.undo.push(now);
        self.burst = None;
        Some(forward)
    }
}

/// The rows a line command acts on: those a selection touches (not the
/// last when the selection ends at its very start), or the cursor's.
pub fn rows_of(
    selection: Option<((usize, usize), (usize, usize))>,
    cursor: (usize, usize),
) -> RangeInclusive<usize> {
    match selection {
        Some(((r0, _), (r1, 0))) if r1 > r0 => r0..=r1 - 1,
        Some(((r0, _), (r1, _))) => r0..=r1,
        None => cursor.0..=cursor.0,
    }
}

/// Indents (or outdents) `rows` by one `indent`; what each row's length
/// changed by, in characters. Outdent takes a leading tab, or up to one
/// indent of leading spaces; blank lines are not indented.
pub fn shift(
    lines: &mut [String],
    rows: RangeInclusive<usize>,
    indent: &str,
    out: bool,
) -> Vec<isize> {
    let width = indent.chars().count().max(1);
    let mut changed = Vec::new();
    let n = lines.len();
    for row in rows.filter(|&r| r < n) {
        let line = &mut lines[row];
        let by = if !out {
            if line.trim().is_empty() {
                0
            } else {
                line.insert_str(0, indent);
                width as isize
            }
        } else {
            let n = if line.starts_with('\t') {
                1
            } else {
                line.chars().take(width).take_while(|c| *c == ' ').count()
            };
            line.drain(..n);
            -(n as isize)
        };
        changed.push(by);
    }
    changed
}

/// Comments `rows` out with `prefix` (ASCII: `-- `, `// `) at their least
/// indent, or, when every non-blank one is commented already, takes the
/// comments off. What each row's length changed by, in characters.
pub fn toggle_comment(
    lines: &mut [String],
    rows: RangeInclusive<usize>,
    prefix: &str,
) -> Vec<isize> {
    let bare = prefix.trim_end();
    let rows: Vec<usize> = rows.filter(|&r| r < lines.len()).collect();
    let filled: Vec<usize> = rows
        .iter()
        .copied()
        .filter(|&r| !lines[r].trim().is_empty())
        .collect();
    let indent_of = |l: &str| l.len() - l.trim_start().len();
    let commented = !filled.is_empty()
        && filled
            .iter()
            .all(|&r| lines[r].trim_start().starts_with(bare));
    let least = filled
        .iter()
        .map(|&r| indent_of(&lines[r]))
        .min()
        .unwrap_or(0);
    rows.iter()
        .map(|&r| {
            let line = &mut lines[r];
            if line.trim().is_empty() {
                return 0;
            }
            if commented {
                let at = indent_of(line);
                let mut n = bare.len();
                if line[at + n..].starts_with(' ') {
                    n += 1;
                }
                line.drain(at..at + n);
                -(n as isize)
            } else {
                line.insert_str(least, prefix);
                prefix.chars().count() as isize
            }
        })
        .collect()
}

/// Whether a search for `term` ignores case: when it has no capitals
/// (ASCII letters only; other letters match as they are).
fn folds(term: &str) -> bool {
    !term.chars().any(|c| c.is_ascii_uppercase())
}

/// Where `term` is in `line`, as character ranges, left to right, not
/// overlapping.
pub fn matches(line: &str, term: &str) -> Vec<Range<usize>> {
    if term.is_empty() {
        return Vec::new();
    }
    let (hay, needle) = if folds(term) {
        (line.to_ascii_lowercase(), term.to_ascii_lowercase())
    } else {
        (line.to_owned(), term.to_owned())
    };
    let len = term.chars().count();
    hay.match_indices(&needle)
        .map(|(at, _)| {
            let start = line[..at].chars().count();
            start..start + len
        })
        .collect()
}

/// The next place of `term` after `from` (or the last before it, going
/// back), going round the end; `None` when there is none at all.
pub fn find(
    lines: &[String],
    term: &str,
    from: (usize, usize),
    forward: bool,
) -> Option<(usize, usize)> {
    let n = lines.len();
    if n == 0 || term.is_empty() {
        return None;
    }
    let row = from.0.min(n - 1);
    // The cursor's row is looked at twice: after (before) the cursor
    // first, and last, going round, before (after) it.
    for step in 0..=n {
        let r = if forward {
            (row + step) % n
        } else {
            (row + n * 2 - step) % n
        };
        let found = matches(&lines[r], term);
        let hit = if forward {
            found.iter().find(|m| step > 0 || m.start > from.1)
        } else {
            found.iter().rev().find(|m| step > 0 || m.start < from.1)
        };
        if let Some(m) = hit {
            return Some((r, m.start));
        }
    }
    None
}

/// Replaces every `term` with `with` (case as [`matches`] finds it); how
/// many.
pub fn replace_all(lines: &mut [String], term: &str, with: &str) -> usize {
    let mut count = 0;
    for line in lines.iter_mut() {
        let found = matches(line, term);
        if found.is_empty() {
            continue;
        }
        count += found.len();
        let chars: Vec<char> = line.chars().collect();
        let mut out = String::with_capacity(line.len());
        let mut at = 0;
        for m in found {
            out.extend(&chars[at..m.start]);
            out.push_str(with);
            at = m.end;
        }
        out.extend(&chars[at..]);
        *line = out;
    }
    count
}

/// Marks on lines (1-based: line breakpoints) moved with their lines from
/// `old` text to `new`: lines inserted or deleted above a mark move it, a
/// changed line keeps its mark, and a mark on a deleted line goes.
pub fn follow_lines<T: Clone>(
    old: &[String],
    new: &[String],
    marks: &std::collections::BTreeMap<u32, T>,
) -> std::collections::BTreeMap<u32, T> {
    use similar::{capture_diff_slices, Algorithm, DiffOp};
    let mut out = std::collections::BTreeMap::new();
    for op in capture_diff_slices(Algorithm::Myers, old, new) {
        let (old_at, old_len, new_at, new_len) = match op {
            DiffOp::Equal {
                old_index,
                new_index,
                len,
            } => (old_index, len, new_index, len),
            DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => (old_index, old_len, new_index, new_len),
            DiffOp::Delete { .. } | DiffOp::Insert { .. } => continue,
        };
        for (mark, what) in marks {
            let line = *mark as usize - 1;
            // A changed run keeps its marks in place, as far as it goes:
            // past its new end, those lines were deleted.
            if (old_at..old_at + old_len).contains(&line) && line - old_at < new_len {
                out.insert((new_at + line - old_at + 1) as u32, what.clone());
            }
        }
    }
    // A mark past the old text (a breakpoint set on an empty last line)
    // stays where it was.
    out.extend(
        marks
            .iter()
            .filter(|(m, _)| **m as usize > old.len())
            .map(|(m, what)| (*m, what.clone())),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.split('\n').map(str::to_owned).collect()
    }

    #[test]
    fn indent_and_outdent_act_on_the_rows_a_selection_touches() {
        let mut l = lines("a\n  b\n\nc");
        assert_eq!(shift(&mut l, 0..=2, "    ", false), [4, 4, 0]);
        assert_eq!(l, lines("    a\n      b\n\nc"));
        assert_eq!(shift(&mut l, 0..=3, "    ", true), [-4, -4, 0, 0]);
        assert_eq!(l, lines("a\n  b\n\nc"));
        let mut t = lines("\t\tx");
        assert_eq!(shift(&mut t, 0..=0, "    ", true), [-1]);
        assert_eq!(t, ["\tx"]);
        assert_eq!(rows_of(Some(((1, 2), (3, 0))), (3, 0)), 1..=2);
        assert_eq!(rows_of(Some(((1, 2), (3, 1))), (3, 1)), 1..=3);
        assert_eq!(rows_of(None, (5, 9)), 5..=5);
    }

    #[test]
    fn comments_toggle_at_the_least_indent_and_come_off_again() {
        let mut l = lines("if x then\n  y()\n\nend");
        toggle_comment(&mut l, 0..=3, "-- ");
        assert_eq!(l, lines("-- if x then\n--   y()\n\n-- end"));
        toggle_comment(&mut l, 0..=3, "-- ");
        assert_eq!(l, lines("if x then\n  y()\n\nend"));
        // Some commented, some not: all get one.
        let mut m = lines("  // a\n  b");
        toggle_comment(&mut m, 0..=1, "// ");
        assert_eq!(m, lines("  // // a\n  // b"));
        // Without the space after the marker, it still comes off.
        let mut n = lines("//x");
        assert_eq!(toggle_comment(&mut n, 0..=0, "// "), [-2]);
        assert_eq!(n, ["x"]);
    }

    #[test]
    fn find_goes_on_from_the_cursor_round_the_end_and_back() {
        let l = lines("let a = 1\nlet b = A\nprint(a)");
        assert_eq!(find(&l, "a", (0, 0), true), Some((0, 4)));
        assert_eq!(
            find(&l, "a", (0, 4), true),
            Some((1, 8)),
            "no capitals: any case"
        );
        assert_eq!(find(&l, "a", (1, 8), true), Some((2, 6)));
        assert_eq!(find(&l, "a", (2, 6), true), Some((0, 4)), "round the end");
        assert_eq!(
            find(&l, "a", (0, 4), false),
            Some((2, 6)),
            "back, round the start"
        );
        assert_eq!(
            find(&l, "A", (0, 0), true),
            Some((1, 8)),
            "a capital: exact case"
        );
        assert_eq!(find(&l, "zz", (0, 0), true), None);
        // The only match, found from itself, is itself.
        let one = lines("x = 1");
        assert_eq!(find(&one, "x", (0, 0), true), Some((0, 0)));
        // Columns are characters, not bytes.
        assert_eq!(
            matches("héllo wörld", "wö"),
            vec![Range { start: 6, end: 8 }]
        );
    }

    #[test]
    fn replace_all_counts_and_keeps_the_rest() {
        let mut l = lines("foo(Foo)\nbar\nfoofoo");
        assert_eq!(replace_all(&mut l, "foo", "x"), 4);
        assert_eq!(l, lines("x(x)\nbar\nxx"));
        assert_eq!(replace_all(&mut l, "Q", "y"), 0);
    }

    #[test]
    fn marks_follow_their_lines_through_inserts_deletes_and_changes() {
        let marks = |m: &[u32]| {
            m.iter()
                .map(|&line| (line, ()))
                .collect::<std::collections::BTreeMap<u32, ()>>()
        };
        let old = lines("a\nb\nc\nd\ne");
        // Two lines inserted above b: b's mark (2) moves to 4, e's (5) to 7.
        let new = lines("a\nx\ny\nb\nc\nd\ne");
        assert_eq!(follow_lines(&old, &new, &marks(&[2, 5])), marks(&[4, 7]));
        // c deleted: its mark goes, d's (4) moves up to 3.
        let new = lines("a\nb\nd\ne");
        assert_eq!(follow_lines(&old, &new, &marks(&[3, 4])), marks(&[3]));
        // b typed into: its mark stays on it.
        let new = lines("a\nb2\nc\nd\ne");
        assert_eq!(follow_lines(&old, &new, &marks(&[2])), marks(&[2]));
        // Nothing changed: nothing moves; a mark past the end stays.
        assert_eq!(
            follow_lines(&old, &old, &marks(&[1, 5, 9])),
            marks(&[1, 5, 9])
        );
        // Everything deleted: one empty line is left, and only its mark.
        assert_eq!(follow_lines(&old, &lines(""), &marks(&[1, 2])), marks(&[1]));
        // Two lines joined into one (a line break deleted): the first keeps
        // its mark, the second's goes with it.
        let new = lines("a\nbc\nd\ne");
        assert_eq!(follow_lines(&old, &new, &marks(&[2, 3, 4])), marks(&[2, 3]));
        // What a mark carries (a breakpoint's condition) goes with it.
        let with = std::collections::BTreeMap::from([(2, "i > 3"), (4, "log")]);
        assert_eq!(
            follow_lines(&old, &lines("x\na\nb\nc\nd\ne"), &with),
            std::collections::BTreeMap::from([(3, "i > 3"), (5, "log")])
        );
    }

    #[test]
    fn a_burst_of_typing_is_one_step() {
        let snap = |t: &str| Snapshot {
            lines: lines(t),
            cursor: (0, t.len()),
        };
        let mut u = Undo::default();
        assert!(!u.continues(Some(Burst::Typing), (0, 0)));
        u.edited(Some(snap("")), Some(Burst::Typing), (0, 1));
        assert!(u.continues(Some(Burst::Typing), (0, 1)));
        assert!(
            !u.continues(Some(Burst::Typing), (0, 5)),
            "the cursor moved"
        );
        assert!(!u.continues(Some(Burst::Deleting), (0, 1)), "another kind");
        assert!(!u.continues(None, (0, 1)), "Enter and the like");
        u.edited(None, Some(Burst::Typing), (0, 2));
        u.moved();
        assert!(!u.continues(Some(Burst::Typing), (0, 2)));
        assert_eq!(u.undo(snap("ab")), Some(snap("")));
        assert_eq!(u.undo(snap("")), None);
        assert_eq!(u.redo(snap("")), Some(snap("ab")));
        assert_eq!(u.undo(snap("ab")), Some(snap("")));
        // A new edit after an undo drops what redo had.
        u.edited(Some(snap("")), None, (0, 0));
        assert_eq!(u.redo(snap("z")), None);
    }
}
