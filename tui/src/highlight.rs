//! Syntax colours for the editor: syntect's Lua and JavaScript syntaxes,
//! and our own Rhai one (`assets/rhai.sublime-syntax`). Scopes map to a
//! few kinds the theme colours, so any theme file can restyle them.
//!
//! Each line's parser state is kept, so after an edit only the lines from
//! the first changed one are parsed again, and parsing stops as soon as a
//! line starts in the same state as before with the same text after it.

use std::ops::Range;
use std::sync::OnceLock;

use syntect::parsing::{
    ParseState, Scope, ScopeStack, ScopeStackOp, SyntaxDefinition, SyntaxReference, SyntaxSet,
    SyntaxSetBuilder,
};

const RHAI: &str = include_str!("../../assets/rhai.sublime-syntax");

/// What a piece of code is, as far as colour goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Plain,
    Keyword,
    String,
    Comment,
    Number,
    Function,
}

/// syntect's own syntaxes, Lua and JavaScript among them: read once from
/// its compressed dump (about a millisecond; each grammar's patterns are
/// compiled when first used).
fn defaults() -> &'static SyntaxSet {
    static SET: OnceLock<SyntaxSet> = OnceLock::new();
    SET.get_or_init(SyntaxSet::load_defaults_newlines)
}

/// Our Rhai syntax, in a set of its own: added to syntect's set it would
/// have all of that set's syntaxes linked again (about 175 ms).
fn rhai() -> &'static SyntaxSet {
    static SET: OnceLock<SyntaxSet> = OnceLock::new();
    SET.get_or_init(|| {
        let mut builder = SyntaxSetBuilder::new();
        // Our own file, tested to parse: a failure here is a build mistake.
        if let Ok(rhai) = SyntaxDefinition::load_from_str(RHAI, true, None) {
            builder.add(rhai);
        }
        builder.build()
    })
}

/// The syntax for files with this extension, and the set it belongs to.
fn syntax_for(ext: &str) -> Option<(&'static SyntaxSet, &'static SyntaxReference)> {
    let set = if ext == "rhai" { rhai() } else { defaults() };
    set.find_syntax_by_extension(ext)
        .map(|syntax| (set, syntax))
}

/// Scope prefixes and their kind; the innermost scope that matches wins.
fn kinds() -> &'static [(Scope, Kind)] {
    static KINDS: OnceLock<Vec<(Scope, Kind)>> = OnceLock::new();
    KINDS.get_or_init(|| {
        [
            ("comment", Kind::Comment),
            ("punctuation.definition.comment", Kind::Comment),
            ("string", Kind::String),
            ("punctuation.definition.string", Kind::String),
            ("constant.character", Kind::String),
            ("constant.numeric", Kind::Number),
            ("constant.language", Kind::Number),
            ("keyword.operator", Kind::Plain),
            ("keyword", Kind::Keyword),
            ("storage", Kind::Keyword),
            ("variable.language", Kind::Keyword),
            ("entity.name.function", Kind::Function),
            ("variable.function", Kind::Function),
            ("support.function", Kind::Function),
            ("meta.interpolation", Kind::Plain),
        ]
        .into_iter()
        .filter_map(|(s, k)| Scope::new(s).ok().map(|s| (s, k)))
        .collect()
    })
}

fn kind_of(stack: &ScopeStack) -> Kind {
    for scope in stack.as_slice().iter().rev() {
        if let Some((_, kind)) = kinds().iter().find(|(p, _)| p.is_prefix_of(*scope)) {
            return *kind;
        }
    }
    Kind::Plain
}

/// A file's colours, kept up to date with its lines.
#[derive(Clone, Default)]
pub struct Highlight {
    syntax: Option<(&'static SyntaxSet, &'static SyntaxReference)>,
    /// Per line from the top: its text, the parser state before it, and
    /// its pieces.
    lines: Vec<Styled>,
    /// How many lines the text had at the last update.
    total: usize,
}

#[derive(Clone)]
struct Styled {
    text: String,
    before: (ParseState, ScopeStack),
    pieces: Vec<(Range<usize>, Kind)>,
}

impl Highlight {
    /// Colours for a file with this extension (`lua`, `js`, `rhai`); other
    /// files stay plain.
    pub fn for_extension(ext: &str) -> Highlight {
        Highlight {
            syntax: syntax_for(ext),
            lines: Vec::new(),
            total: 0,
        }
    }

    /// The pieces of line `row` (byte ranges and kinds); empty when plain.
    pub fn pieces(&self, row: usize) -> &[(Range<usize>, Kind)] {
        self.lines.get(row).map_or(&[], |l| &l.pieces)
    }

    /// Brings the colours of the first `upto` of `lines` up to date (the
    /// lines on screen and those above them: a parse goes top down, and
    /// lines further down wait until they are shown).
    pub fn update(&mut self, lines: &[String], upto: usize) {
        let Some((set, syntax)) = self.syntax else {
            return;
        };
        let upto = upto.min(lines.len());
        let first = self
            .lines
            .iter()
            .zip(lines)
            .position(|(old, new)| old.text != *new)
            .unwrap_or(self.lines.len().min(lines.len()));
        // Lines after an edit keep their place counted from the end.
        let shift = self.total as isize - lines.len() as isize;
        self.total = lines.len();
        let mut state = match self.lines.get(first) {
            Some(l) => l.before.clone(),
            // Styling goes on further down: from the last styled line.
            None if first > 0 && first == self.lines.len() => self.state_after(first, set),
            None => (ParseState::new(syntax), ScopeStack::new()),
        };
        let old: Vec<Styled> = self.lines.split_off(first);
        for (row, text) in lines.iter().enumerate().take(upto).skip(first) {
            let old_row = usize::try_from(row as isize + shift - first as isize).ok();
            let rest = old_row.and_then(|r| old.get(r..)).unwrap_or(&[]);
            let unchanged = !rest.is_empty()
                && rest.len() <= lines.len() - row
                && rest[0].before == state
                && rest.iter().zip(&lines[row..]).all(|(o, n)| o.text == *n);
            if unchanged {
                // The same text from the same state: the old colours hold.
                self.lines.extend_from_slice(rest);
                return;
            }
            let before = state.clone();
            let pieces = style_line(text, &mut state, set);
            self.lines.push(Styled {
                text: text.clone(),
                before,
                pieces,
            });
        }
    }

    /// The parser state after line `row - 1`, parsing it again.
    fn state_after(&self, row: usize, set: &SyntaxSet) -> (ParseState, ScopeStack) {
        let last = &self.lines[row - 1];
        let mut state = last.before.clone();
        style_line(&last.text, &mut state, set);
        state
    }
}

/// Parses one line on from `state`: its pieces.
fn style_line(
    text: &str,
    state: &mut (ParseState, ScopeStack),
    set: &SyntaxSet,
) -> Vec<(Range<usize>, Kind)> {
    let (parser, stack) = state;
    let line = format!("{text}\n");
    let ops = parser.parse_line(&line, set).unwrap_or_default();
    let mut pieces: Vec<(Range<usize>, Kind)> = Vec::new();
    let mut at = 0;
    let mut push = |range: Range<usize>, kind: Kind| {
        if range.is_empty() {
            return;
        }
        match pieces.last_mut() {
            Some((last, k)) if *k == kind && last.end == range.start => last.end = range.end,
            _ => pieces.push((range, kind)),
        }
    };
    for (pos, op) in &ops {
        let pos = (*pos).min(text.len());
        push(at..pos, kind_of(stack));
        at = at.max(pos);
        apply(stack, op);
    }
    push(at..text.len(), kind_of(stack));
    pieces
}

fn apply(stack: &mut ScopeStack, op: &ScopeStackOp) {
    // An op syntect cannot apply only loses colour, never text.
    let _ = stack.apply(op);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds_of(h: &Highlight, row: usize, text: &str) -> Vec<(String, Kind)> {
        h.pieces(row)
            .iter()
            .filter(|(_, k)| *k != Kind::Plain)
            .map(|(r, k)| (text[r.clone()].to_owned(), *k))
            .collect()
    }

    #[test]
    fn each_engine_gets_keywords_strings_comments_and_numbers() {
        for (ext, line, want) in [
            (
                "lua",
                "local x = \"hi\" -- note",
                vec![
                    ("local", Kind::Keyword),
                    ("\"hi\"", Kind::String),
                    ("-- note", Kind::Comment),
                ],
            ),
            (
                "js",
                "const n = 42; // note",
                vec![
                    ("const", Kind::Keyword),
                    ("42", Kind::Number),
                    ("// note", Kind::Comment),
                ],
            ),
            (
                "rhai",
                "let r = llm.chat(\"hi\"); // 1",
                vec![
                    ("let", Kind::Keyword),
                    ("chat", Kind::Function),
                    ("\"hi\"", Kind::String),
                    ("// 1", Kind::Comment),
                ],
            ),
        ] {
            let mut h = Highlight::for_extension(ext);
            h.update(&[line.to_owned()], 1);
            let got = kinds_of(&h, 0, line);
            for (text, kind) in want {
                assert!(
                    got.iter().any(|(t, k)| t.trim() == text && *k == kind),
                    "{ext}: {text:?} as {kind:?} in {got:?}"
                );
            }
        }
    }

    #[test]
    fn the_rhai_syntax_parses() {
        SyntaxDefinition::load_from_str(RHAI, true, None).unwrap();
        assert!(syntax_for("rhai").is_some());
        assert!(syntax_for("lua").is_some() && syntax_for("js").is_some());
    }

    #[test]
    fn an_edit_recolours_what_it_changed_and_no_more() {
        let lines = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let mut h = Highlight::for_extension("lua");
        h.update(
            &lines(&["local a = 1", "local b = 2", "return a"]),
            usize::MAX,
        );
        // Opening a long comment turns the lines after it into comment...
        h.update(
            &lines(&["--[[ local a = 1", "local b = 2", "return a"]),
            usize::MAX,
        );
        assert_eq!(
            kinds_of(&h, 2, "return a"),
            vec![("return a".into(), Kind::Comment)]
        );
        // ...and closing it gives them back their colours.
        h.update(
            &lines(&["--[[ a ]] local a = 1", "local b = 2", "return a"]),
            usize::MAX,
        );
        assert_eq!(
            kinds_of(&h, 2, "return a")[0],
            ("return".into(), Kind::Keyword)
        );
        // Lines added and removed in the middle.
        h.update(
            &lines(&["local a = 1", "-- new", "local b = 2", "return a"]),
            usize::MAX,
        );
        assert_eq!(
            kinds_of(&h, 1, "-- new"),
            vec![("-- new".into(), Kind::Comment)]
        );
        assert_eq!(
            kinds_of(&h, 3, "return a")[0],
            ("return".into(), Kind::Keyword)
        );
        h.update(&lines(&["local a = 1"]), usize::MAX);
        assert!(h.pieces(1).is_empty());
        // Only lines up to `upto` are styled; more as they are shown.
        let long: Vec<String> = (0..100).map(|i| format!("local x{i} = {i}")).collect();
        let mut lazy = Highlight::for_extension("lua");
        lazy.update(&long, 10);
        assert!(!lazy.pieces(9).is_empty() && lazy.pieces(10).is_empty());
        lazy.update(&long, 60);
        assert_eq!(
            kinds_of(&lazy, 59, &long[59])[0],
            ("local".into(), Kind::Keyword)
        );
        // An edit above keeps what is below it.
        let mut edited = long.clone();
        edited.insert(0, "-- top".into());
        lazy.update(&edited, 60);
        assert_eq!(
            kinds_of(&lazy, 60, &edited[60])[0],
            ("local".into(), Kind::Keyword)
        );
        // Plain text files stay plain.
        let mut plain = Highlight::for_extension("txt");
        plain.update(&lines(&["local a"]), 1);
        assert!(kinds_of(&plain, 0, "local a").is_empty());
    }
}
