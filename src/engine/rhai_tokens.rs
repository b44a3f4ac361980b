//! What Rhai's tokenizer is told, for every parse of a spell: a bridge's
//! member names after a `.` are plain names even where Rhai reserves them
//! (`log.debug`, `agent.new`), a bridge module's `call` is not Rhai's
//! function-pointer `call`, parsing counts against the spell's limits, and
//! the `${}` segments of interpolated strings are found (and refused in
//! `eval`). It never reads the spell's values and never runs its code.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use rhai::{Engine as Rhai, Position};

/// A place in a source: (line, column), from 1, in chars.
pub(super) type At = (usize, usize);
/// A `${}` segment's `{` and `}`.
pub(super) type Braces = (At, At);

/// What the parse under way is, for the `${}` segments in it.
#[derive(Clone, Copy, Default, PartialEq)]
pub(super) enum Parse {
    /// A source the spell hands Rhai's `eval`: it cannot be rewritten, so
    /// an interpolation in it is refused.
    #[default]
    Eval,
    /// [`RhaiEngine::interpolations`] finding the segments.
    Recording,
    /// The spell's own source, rewritten when it had segments.
    Rewritten,
}

/// The braces of each `${ ... }` segment, recorded by the token callback
/// while [`RhaiEngine::interpolations`] parses. Places are (line, column)
/// from 1, in chars, as Rhai gives them.
#[derive(Default)]
pub(super) struct Segments {
    pub(super) parse: Cell<Parse>,
    /// The token before was an interpolated string's text: the next `{`
    /// opens a segment.
    opening: Cell<bool>,
    /// Braces open now (`{` and `#{`).
    depth: Cell<usize>,
    /// Each open segment: the depth it began at and its `{`.
    open: RefCell<Vec<(usize, At)>>,
    /// Each segment's `{` and `}`.
    braces: RefCell<Vec<Braces>>,
}

impl Segments {
    /// Records `token`; a replacement for it when it must be refused.
    fn see(&self, token: &rhai::Token, pos: Position) -> Option<rhai::Token> {
        use rhai::Token;
        match self.parse.get() {
            Parse::Rewritten => return None,
            Parse::Eval => {
                return matches!(token, Token::InterpolatedString(_)).then(|| {
                    Token::LexError(Box::new(rhai::LexError::ImproperSymbol(
                        "`".into(),
                        "sandbox.denied: `${}` in a string given to eval; \
                         build the text outside eval and pass it in"
                            .into(),
                    )))
                })
            }
            Parse::Recording => {}
        }
        let at = (pos.line().unwrap_or(0), pos.position().unwrap_or(0));
        let opening = self.opening.replace(false);
        match token {
            Token::InterpolatedString(_) => self.opening.set(true),
            Token::LeftBrace | Token::MapStart => {
                if opening && matches!(token, Token::LeftBrace) {
                    self.open.borrow_mut().push((self.depth.get(), at));
                }
                self.depth.set(self.depth.get() + 1);
            }
            Token::RightBrace => {
                let depth = self.depth.get().saturating_sub(1);
                self.depth.set(depth);
                let mut open = self.open.borrow_mut();
                if open.last().is_some_and(|&(d, _)| d == depth) {
                    let (_, start) = open.pop().unwrap_or_default();
                    self.braces.borrow_mut().push((start, at));
                }
            }
            _ => {}
        }
        None
    }

    /// The segments recorded, and a clean slate for the next parse.
    pub(super) fn take(&self) -> Vec<Braces> {
        self.opening.set(false);
        self.depth.set(0);
        self.open.borrow_mut().clear();
        std::mem::take(&mut *self.braces.borrow_mut())
    }
}

/// `source` with each segment's `{` made `{llmspell_text({` and its `}`
/// made `})}`: insertions only, on the same lines. `None` if any brace is
/// not where the parse said (then nothing is rewritten).
pub(super) fn rewrite_segments(source: &str, braces: &[Braces]) -> Option<String> {
    let mut edits: Vec<(At, char, &str)> = Vec::new();
    for &(open, close) in braces {
        edits.push((open, '{', "{llmspell_text({"));
        edits.push((close, '}', "})}"));
    }
    edits.sort_by_key(|&(at, ..)| at);
    let mut out = String::with_capacity(source.len() + edits.len() * 16);
    let mut edits = edits.into_iter().peekable();
    for (i, line) in source.split_inclusive('\n').enumerate() {
        for (col, c) in line.chars().enumerate() {
            match edits.peek() {
                Some(&(at, brace, with)) if at == (i + 1, col + 1) => {
                    if c != brace {
                        return None;
                    }
                    out.push_str(with);
                    edits.next();
                }
                _ => out.push(c),
            }
        }
    }
    edits.peek().is_none().then_some(out)
}

/// `log.debug(...)`, `agent.new(...)`: a bridge's name may be a Rhai
/// keyword that cannot be called as a method, so after a `.` the tokenizer
/// is told that any name in `members` (the registry's) is a plain name. And Rhai takes any `x.call(f, ...)` to mean "call
/// the function pointer f": after a bridge module that has a `call`
/// (`tool.call`), the name is changed to [`CALL_ALIAS`], which the bridge is
/// registered under as well.
///
/// The same callback sees every token of every parse, `eval`'s too, so it
/// is also where parsing counts against the spell's limits (`parsing`):
/// Rhai's parser never reaches `on_progress`, and a 50 MB source would
/// otherwise take seconds and gigabytes past them. And it records and
/// refuses `${}` segments for [`Segments`].
pub(super) fn allow_keyword_members(
    rhai: &mut Rhai,
    members: Vec<&'static str>,
    modules_with_call: Vec<&'static str>,
    parsing: Option<Box<dyn Fn() -> bool>>,
    segments: Option<Rc<Segments>>,
) {
    use rhai::Token;
    let after_dot = Cell::new(false);
    let module_before_dot = Cell::new(false);
    let module_now = Cell::new(false);
    let tokens = Cell::new(0u32);
    #[allow(deprecated)] // "volatile", not deprecated: see rhai's note
    rhai.on_parse_token(move |token, pos, _state| {
        if let Some(refused) = segments.as_ref().and_then(|s| s.see(&token, pos)) {
            return refused;
        }
        if let Some(over) = &parsing {
            let n = tokens.get().wrapping_add(1);
            tokens.set(n);
            if n & 1023 == 0 && over() {
                return Token::LexError(Box::new(rhai::LexError::Runtime(
                    "stopped by a limit".into(),
                )));
            }
        }
        let token = match token {
            Token::Reserved(name) | Token::Identifier(name)
                if after_dot.get() && module_before_dot.get() && name.as_str() == "call" =>
            {
                Token::Identifier(Box::new(CALL_ALIAS.into()))
            }
            // `call` after anything but a bridge module stays Rhai's own
            // (a function pointer's call).
            Token::Reserved(name)
                if after_dot.get()
                    && name.as_str() != "call"
                    && members.contains(&name.as_str()) =>
            {
                Token::Identifier(name)
            }
            other => other,
        };
        let is_period = matches!(token, Token::Period);
        if is_period {
            module_before_dot.set(module_now.get());
        }
        module_now
            .set(matches!(&token, Token::Identifier(n) if modules_with_call.contains(&n.as_str())));
        after_dot.set(is_period);
        token
    });
}

/// See [`allow_keyword_members`].
pub(super) const CALL_ALIAS: &str = "llmspell_call";

/// Every name a spell may write after a `.` for a bridge: the bridges'
/// own names within their modules and their objects' methods. Those that
/// Rhai reserves (`debug`, `new`) are told to the tokenizer as plain names.
pub(super) fn member_names(registry: &crate::session::Registry) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = registry.bridges().iter().map(|b| b.member()).collect();
    for b in registry.bridges() {
        if let Some(object) = b.object {
            names.extend(object.methods.iter().map(|m| m.name));
        }
    }
    names.sort_unstable();
    names.dedup();
    names
}

pub(super) fn modules_with_call(registry: &crate::session::Registry) -> Vec<&'static str> {
    registry
        .bridges()
        .iter()
        .filter(|b| b.member() == "call")
        .filter_map(|b| b.module())
        .collect()
}
