//! Line breakpoints with conditions, hit counts and log messages, as a
//! debugger sets them (the IDE, `llmspell dap`): what each asks, and how a
//! log message's `{expression}` parts are found.

use std::fmt;

/// A line breakpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Breakpoint {
    pub line: u32,
    /// Pause only when this expression, in the spell's language, is true
    /// there (`i > 3`). One that fails to evaluate pauses, and says why.
    pub condition: Option<String>,
    /// Pause only on the hits that this counts (hits counted when the line
    /// is reached and the condition is true): `3` or `==3` the third only,
    /// `>3`, `>=3`, `<3`, `<=3`, and `%3` every third.
    pub hits: Option<String>,
    /// Do not pause: print this message, with each `{expression}` part
    /// replaced by its value there (`{{` and `}}` are braces).
    pub log: Option<String>,
}

impl Breakpoint {
    pub fn at(line: u32) -> Breakpoint {
        Breakpoint {
            line,
            ..Breakpoint::default()
        }
    }

    /// Whether a debugger takes it; else what is wrong with its hit
    /// condition or its log message.
    pub fn check(&self) -> Result<(), String> {
        Kept::new(self.clone()).map(drop)
    }
}

/// A hit condition, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Hits {
    Equal(u64),
    Above(u64),
    AtLeast(u64),
    Below(u64),
    AtMost(u64),
    Every(u64),
}

impl Hits {
    /// Parses a hit condition; the error says what is wrong with it.
    pub(super) fn parse(text: &str) -> Result<Hits, String> {
        let t = text.trim();
        let (make, rest): (fn(u64) -> Hits, &str) = if let Some(r) = t.strip_prefix(">=") {
            (Hits::AtLeast, r)
        } else if let Some(r) = t.strip_prefix("<=") {
            (Hits::AtMost, r)
        } else if let Some(r) = t.strip_prefix("==") {
            (Hits::Equal, r)
        } else if let Some(r) = t.strip_prefix('>') {
            (Hits::Above, r)
        } else if let Some(r) = t.strip_prefix('<') {
            (Hits::Below, r)
        } else if let Some(r) = t.strip_prefix('%') {
            (Hits::Every, r)
        } else {
            (Hits::Equal, t)
        };
        match rest.trim().parse::<u64>() {
            Ok(0) if matches!(make(0), Hits::Every(_)) => {
                Err(format!("hit condition `{text}`: `%` needs a count above 0"))
            }
            Ok(n) => Ok(make(n)),
            Err(_) => Err(format!(
                "hit condition `{text}`: write a count such as `3`, `>=3` or `%3`"
            )),
        }
    }

    /// Whether hit number `n` (from 1) pauses.
    pub(super) fn allows(self, n: u64) -> bool {
        match self {
            Hits::Equal(k) => n == k,
            Hits::Above(k) => n > k,
            Hits::AtLeast(k) => n >= k,
            Hits::Below(k) => n < k,
            Hits::AtMost(k) => n <= k,
            Hits::Every(k) => n.is_multiple_of(k),
        }
    }
}

/// One piece of a log message.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Piece<'a> {
    Text(String),
    Expr(&'a str),
}

/// Splits a log message into its text and its `{expression}` parts. An
/// unclosed `{` is an error, so a typo shows when the breakpoint is set.
pub(super) fn pieces(message: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut rest = message;
    while let Some(i) = rest.find(['{', '}']) {
        text.push_str(&rest[..i]);
        let brace = &rest[i..];
        if let Some(r) = brace.strip_prefix("{{") {
            text.push('{');
            rest = r;
        } else if let Some(r) = brace.strip_prefix("}}") {
            text.push('}');
            rest = r;
        } else if let Some(r) = brace.strip_prefix('{') {
            let Some(end) = r.find('}') else {
                return Err(format!("log message `{message}`: a `{{` is not closed"));
            };
            if !text.is_empty() {
                out.push(Piece::Text(std::mem::take(&mut text)));
            }
            out.push(Piece::Expr(r[..end].trim()));
            rest = &r[end + 1..];
        } else {
            // A lone `}` is text.
            text.push('}');
            rest = &brace[1..];
        }
    }
    text.push_str(rest);
    if !text.is_empty() {
        out.push(Piece::Text(text));
    }
    Ok(out)
}

/// A breakpoint as the debugger keeps it: checked, with its hits so far.
#[derive(Debug, Clone)]
pub(super) struct Kept {
    pub bp: Breakpoint,
    pub hits: Option<Hits>,
    pub count: u64,
}

impl Kept {
    pub(super) fn new(bp: Breakpoint) -> Result<Kept, String> {
        let hits = bp.hits.as_deref().map(Hits::parse).transpose()?;
        if let Some(log) = &bp.log {
            pieces(log)?;
        }
        Ok(Kept { bp, hits, count: 0 })
    }
}

impl fmt::Display for Breakpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}", self.line)?;
        if let Some(c) = &self.condition {
            write!(f, " if {c}")?;
        }
        if let Some(h) = &self.hits {
            write!(f, " hits {h}")?;
        }
        if let Some(l) = &self.log {
            write!(f, " log \"{l}\"")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hit_conditions_parse_and_count_as_debuggers_do() {
        let on = |t: &str| {
            let h = Hits::parse(t).unwrap();
            (1..=7).filter(|&n| h.allows(n)).collect::<Vec<_>>()
        };
        assert_eq!(on("3"), [3]);
        assert_eq!(on(" == 3 "), [3]);
        assert_eq!(on(">5"), [6, 7]);
        assert_eq!(on(">=5"), [5, 6, 7]);
        assert_eq!(on("<3"), [1, 2]);
        assert_eq!(on("<=2"), [1, 2]);
        assert_eq!(on("%3"), [3, 6]);
        for bad in ["", "x", "%0", ">-1", "3.5", "= 3"] {
            let e = Hits::parse(bad).unwrap_err();
            assert!(e.contains(&format!("`{bad}`")), "{bad}: {e}");
        }
    }

    #[test]
    fn log_messages_split_into_text_and_expressions() {
        use Piece::*;
        assert_eq!(
            pieces("i is {i}, twice { i * 2 }").unwrap(),
            [
                Text("i is ".into()),
                Expr("i"),
                Text(", twice ".into()),
                Expr("i * 2")
            ]
        );
        assert_eq!(
            pieces("{{literal}} and }").unwrap(),
            [Text("{literal} and }".into())]
        );
        assert_eq!(pieces("{a}{b}").unwrap(), [Expr("a"), Expr("b")]);
        assert!(pieces("oops {i").unwrap_err().contains("not closed"));
    }
}
