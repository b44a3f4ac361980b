//! Lua's `string.find`, `match`, `gmatch` and `gsub`, with a step budget.
//!
//! Lua's own pattern matcher is C code that never returns to the VM while
//! it backtracks, so no hook can stop `("a"):rep(1e5):find(".-.-.-b")`.
//! This is a matcher written for llmspell to the Lua 5.4 manual's pattern
//! rules; it counts its steps and asks the spell's limits every few
//! thousand, so a pathological pattern ends with `limit.time` (or
//! `limit.instructions`, or `cancelled`) like any other runaway spell.

use mlua::{Function, Lua, LuaString, MultiValue, Table, Value as LuaValue};

use crate::error::Error;

/// As Lua: at most 32 captures, and 200 nested matcher calls.
const MAX_CAPTURES: usize = 32;
const MAX_DEPTH: usize = 200;
/// The limits are asked every this many steps.
pub(crate) const CHECK_EVERY: u64 = 4096;
const SPECIALS: &[u8] = b"^$*+?.([%-";

#[derive(Clone, Copy)]
enum CapLen {
    Unfinished,
    Position,
    Len(usize),
}

/// Why a match could not go on.
pub(crate) enum Stop {
    /// A malformed pattern: a Lua error with this text.
    Pattern(String),
    /// The spell's limits said stop.
    Limit(Error),
}

type Res<T> = Result<T, Stop>;

/// Asked every [`CHECK_EVERY`] steps with the steps taken so far.
pub(crate) type Guard<'g> = &'g dyn Fn(u64) -> Result<(), Error>;

struct Matcher<'a> {
    src: &'a [u8],
    pat: &'a [u8],
    level: usize,
    caps: [(usize, CapLen); MAX_CAPTURES],
    depth: usize,
    steps: u64,
    guard: Guard<'a>,
}

fn malformed<T>(what: &str) -> Res<T> {
    Err(Stop::Pattern(format!("malformed pattern ({what})")))
}

fn class_matches(c: u8, class: u8) -> bool {
    let hit = match class.to_ascii_lowercase() {
        b'a' => c.is_ascii_alphabetic(),
        b'c' => c.is_ascii_control(),
        b'd' => c.is_ascii_digit(),
        b'g' => c.is_ascii_graphic(),
        b'l' => c.is_ascii_lowercase(),
        b'p' => c.is_ascii_punctuation(),
        b's' => matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'),
        b'u' => c.is_ascii_uppercase(),
        b'w' => c.is_ascii_alphanumeric(),
        b'x' => c.is_ascii_hexdigit(),
        b'z' => c == 0, // deprecated in Lua 5.4, still accepted there
        _ => return class == c,
    };
    if class.is_ascii_uppercase() {
        !hit
    } else {
        hit
    }
}

impl<'a> Matcher<'a> {
    fn new(src: &'a [u8], pat: &'a [u8], guard: Guard<'a>) -> Self {
        Matcher {
            src,
            pat,
            level: 0,
            caps: [(0, CapLen::Unfinished); MAX_CAPTURES],
            depth: 0,
            steps: 0,
            guard,
        }
    }

    fn reset(&mut self) {
        self.level = 0;
        self.depth = 0;
    }

    fn step(&mut self) -> Res<()> {
        self.steps += 1;
        if self.steps.is_multiple_of(CHECK_EVERY) {
            (self.guard)(self.steps).map_err(Stop::Limit)?;
        }
        Ok(())
    }

    /// The index just past the single-character class at `p`.
    fn class_end(&self, p: usize) -> Res<usize> {
        let pat = self.pat;
        match pat[p] {
            b'%' => {
                if p + 1 >= pat.len() {
                    return malformed("ends with '%'");
                }
                Ok(p + 2)
            }
            b'[' => {
                let mut q = p + 1;
                if q < pat.len() && pat[q] == b'^' {
                    q += 1;
                }
                // The first character of a set may be ']' itself.
                loop {
                    if q >= pat.len() {
                        return malformed("missing ']'");
                    }
                    let c = pat[q];
                    q += 1;
                    if c == b'%' && q < pat.len() {
                        q += 1;
                    }
                    if q < pat.len() && pat[q] == b']' {
                        return Ok(q + 1);
                    }
                }
            }
            _ => Ok(p + 1),
        }
    }

    /// Does `c` belong to the set `[...]` from `p` (the '[') to `end` (its ']')?
    fn in_set(&self, c: u8, p: usize, end: usize) -> bool {
        let pat = self.pat;
        let mut q = p + 1;
        let mut wanted = true;
        if q < end && pat[q] == b'^' {
            wanted = false;
            q += 1;
        }
        while q < end {
            if pat[q] == b'%' && q + 1 < end {
                if class_matches(c, pat[q + 1]) {
                    return wanted;
                }
                q += 2;
            } else if q + 2 < end && pat[q + 1] == b'-' {
                if pat[q] <= c && c <= pat[q + 2] {
                    return wanted;
                }
                q += 3;
            } else {
                if pat[q] == c {
                    return wanted;
                }
                q += 1;
            }
        }
        !wanted
    }

    fn single(&self, s: usize, p: usize, ep: usize) -> bool {
        let Some(&c) = self.src.get(s) else {
            return false;
        };
        match self.pat[p] {
            b'.' => true,
            b'%' => class_matches(c, self.pat[p + 1]),
            b'[' => self.in_set(c, p, ep - 1),
            other => other == c,
        }
    }

    /// Matches the pattern from `p` against the subject from `s`; the end of
    /// the match, if any.
    fn do_match(&mut self, s: usize, p: usize) -> Res<Option<usize>> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Stop::Pattern("pattern too complex".into()));
        }
        let out = self.match_here(s, p);
        self.depth -= 1;
        out
    }

    fn match_here(&mut self, mut s: usize, mut p: usize) -> Res<Option<usize>> {
        let pat = self.pat;
        loop {
            self.step()?;
            if p == pat.len() {
                return Ok(Some(s));
            }
            match pat[p] {
                b'(' => {
                    return if pat.get(p + 1) == Some(&b')') {
                        self.start_capture(s, p + 2, CapLen::Position)
                    } else {
                        self.start_capture(s, p + 1, CapLen::Unfinished)
                    };
                }
                b')' => return self.end_capture(s, p + 1),
                b'$' if p + 1 == pat.len() => {
                    return Ok((s == self.src.len()).then_some(s));
                }
                b'%' if pat.get(p + 1) == Some(&b'b') => match self.balance(s, p + 2)? {
                    Some(end) => {
                        s = end;
                        p += 4;
                        continue;
                    }
                    None => return Ok(None),
                },
                b'%' if pat.get(p + 1) == Some(&b'f') => {
                    p += 2;
                    if pat.get(p) != Some(&b'[') {
                        return Err(Stop::Pattern("missing '[' after '%f' in pattern".into()));
                    }
                    let ep = self.class_end(p)?;
                    let prev = if s == 0 { 0 } else { self.src[s - 1] };
                    let cur = self.src.get(s).copied().unwrap_or(0);
                    if !self.in_set(prev, p, ep - 1) && self.in_set(cur, p, ep - 1) {
                        p = ep;
                        continue;
                    }
                    return Ok(None);
                }
                b'%' if pat.get(p + 1).is_some_and(u8::is_ascii_digit) => {
                    match self.back_reference(s, pat[p + 1])? {
                        Some(end) => {
                            s = end;
                            p += 2;
                            continue;
                        }
                        None => return Ok(None),
                    }
                }
                _ => {}
            }
            let ep = self.class_end(p)?;
            let quantifier = pat.get(ep).copied();
            if !self.single(s, p, ep) {
                if matches!(quantifier, Some(b'*' | b'?' | b'-')) {
                    p = ep + 1;
                    continue;
                }
                return Ok(None);
            }
            match quantifier {
                Some(b'?') => {
                    if let Some(end) = self.do_match(s + 1, ep + 1)? {
                        return Ok(Some(end));
                    }
                    p = ep + 1;
                }
                Some(b'+') => return self.max_expand(s + 1, p, ep),
                Some(b'*') => return self.max_expand(s, p, ep),
                Some(b'-') => return self.min_expand(s, p, ep),
                _ => {
                    s += 1;
                    p = ep;
                }
            }
        }
    }

    fn max_expand(&mut self, s: usize, p: usize, ep: usize) -> Res<Option<usize>> {
        let mut n = 0;
        while self.single(s + n, p, ep) {
            n += 1;
            self.step()?;
        }
        loop {
            if let Some(end) = self.do_match(s + n, ep + 1)? {
                return Ok(Some(end));
            }
            if n == 0 {
                return Ok(None);
            }
            n -= 1;
        }
    }

    fn min_expand(&mut self, mut s: usize, p: usize, ep: usize) -> Res<Option<usize>> {
        loop {
            if let Some(end) = self.do_match(s, ep + 1)? {
                return Ok(Some(end));
            }
            if !self.single(s, p, ep) {
                return Ok(None);
            }
            s += 1;
        }
    }

    fn start_capture(&mut self, s: usize, p: usize, what: CapLen) -> Res<Option<usize>> {
        if self.level >= MAX_CAPTURES {
            return Err(Stop::Pattern("too many captures".into()));
        }
        self.caps[self.level] = (s, what);
        self.level += 1;
        let out = self.do_match(s, p)?;
        if out.is_none() {
            self.level -= 1;
        }
        Ok(out)
    }

    fn end_capture(&mut self, s: usize, p: usize) -> Res<Option<usize>> {
        let Some(l) = (0..self.level)
            .rev()
            .find(|&l| matches!(self.caps[l].1, CapLen::Unfinished))
        else {
            return Err(Stop::Pattern("invalid pattern capture".into()));
        };
        self.caps[l].1 = CapLen::Len(s - self.caps[l].0);
        let out = self.do_match(s, p)?;
        if out.is_none() {
            self.caps[l].1 = CapLen::Unfinished;
        }
        Ok(out)
    }

    fn balance(&mut self, s: usize, p: usize) -> Res<Option<usize>> {
        if p + 1 >= self.pat.len() {
            return malformed("missing arguments to '%b'");
        }
        let (open, close) = (self.pat[p], self.pat[p + 1]);
        if self.src.get(s) != Some(&open) {
            return Ok(None);
        }
        let mut depth = 1;
        for i in s + 1..self.src.len() {
            self.step()?;
            let c = self.src[i];
            if c == close {
                depth -= 1;
                if depth == 0 {
                    return Ok(Some(i + 1));
                }
            } else if c == open {
                depth += 1;
            }
        }
        Ok(None)
    }

    fn back_reference(&mut self, s: usize, digit: u8) -> Res<Option<usize>> {
        let l = usize::from(digit - b'0');
        let (start, len) = match l
            .checked_sub(1)
            .and_then(|i| self.caps[..self.level].get(i))
        {
            Some(&(start, CapLen::Len(len))) => (start, len),
            _ => return Err(Stop::Pattern(format!("invalid capture index %{l}"))),
        };
        let end = s + len;
        if end <= self.src.len() && self.src[start..start + len] == self.src[s..end] {
            Ok(Some(end))
        } else {
            Ok(None)
        }
    }

    /// Capture `i` of a match `s..e` (the whole match when there are none).
    fn capture(&self, lua: &Lua, i: usize, s: usize, e: usize) -> mlua::Result<LuaValue> {
        if i >= self.level {
            if i != 0 {
                return Err(mlua::Error::runtime(format!(
                    "invalid capture index %{}",
                    i + 1
                )));
            }
            return lua.create_string(&self.src[s..e]).map(LuaValue::String);
        }
        match self.caps[i] {
            (_, CapLen::Unfinished) => Err(mlua::Error::runtime("unfinished capture")),
            (start, CapLen::Position) => Ok(LuaValue::Integer(start as i64 + 1)),
            (start, CapLen::Len(len)) => lua
                .create_string(&self.src[start..start + len])
                .map(LuaValue::String),
        }
    }

    fn captures(&self, lua: &Lua, s: usize, e: usize, whole: bool) -> mlua::Result<MultiValue> {
        let n = if self.level == 0 && whole {
            1
        } else {
            self.level
        };
        (0..n).map(|i| self.capture(lua, i, s, e)).collect()
    }
}

fn lua_error(stop: Stop) -> mlua::Error {
    match stop {
        Stop::Pattern(text) => mlua::Error::runtime(text),
        Stop::Limit(e) => mlua::Error::external(e),
    }
}

/// A leading `^` anchors the match at the start position.
fn anchor(pat: &[u8]) -> (bool, &[u8]) {
    match pat.strip_prefix(b"^") {
        Some(body) => (true, body),
        None => (false, pat),
    }
}

/// Lua's rule for a start position: negative counts from the end.
fn start_at(init: Option<i64>, len: usize) -> usize {
    let len = len as i64;
    match init.unwrap_or(1) {
        i if i > 0 => i as usize,
        0 => 1,
        i if i < -len => 1,
        i => (len + i + 1) as usize,
    }
}

fn find_aux(
    lua: &Lua,
    guard: Guard<'_>,
    (s, p, init, plain): (LuaString, LuaString, Option<i64>, Option<bool>),
    find: bool,
) -> mlua::Result<MultiValue> {
    let (src, pat) = (s.as_bytes(), p.as_bytes());
    let (src, pat): (&[u8], &[u8]) = (&src, &pat);
    let init = start_at(init, src.len());
    let fail = || Ok(MultiValue::from_iter([LuaValue::Nil]));
    if init > src.len() + 1 {
        return fail();
    }
    if find && (plain == Some(true) || !pat.iter().any(|c| SPECIALS.contains(c))) {
        let hay = &src[init - 1..];
        let at = if pat.is_empty() {
            Some(0)
        } else {
            hay.windows(pat.len()).position(|w| w == pat)
        };
        return match at {
            Some(i) => {
                let start = init + i;
                Ok(MultiValue::from_iter([
                    LuaValue::Integer(start as i64),
                    LuaValue::Integer((start + pat.len() - 1) as i64),
                ]))
            }
            None => fail(),
        };
    }
    let (anchored, body) = anchor(pat);
    let mut m = Matcher::new(src, body, guard);
    let mut s1 = init - 1;
    loop {
        m.reset();
        if let Some(e) = m.do_match(s1, 0).map_err(lua_error)? {
            if find {
                let mut out = MultiValue::from_iter([
                    LuaValue::Integer(s1 as i64 + 1),
                    LuaValue::Integer(e as i64),
                ]);
                out.extend(m.captures(lua, s1, e, false)?);
                return Ok(out);
            }
            return m.captures(lua, s1, e, true);
        }
        s1 += 1;
        if anchored || s1 > src.len() {
            return fail();
        }
    }
}

/// Installs the four functions in `string`; `guard` is asked as the
/// matcher works.
pub(crate) fn install(
    lua: &Lua,
    string: &Table,
    guard: impl Fn(u64) -> Result<(), Error> + Clone + 'static,
) -> mlua::Result<()> {
    let g = guard.clone();
    string.raw_set(
        "find",
        lua.create_function(move |lua, args| find_aux(lua, &g, args, true))?,
    )?;
    let g = guard.clone();
    string.raw_set(
        "match",
        lua.create_function(
            move |lua, (s, p, init): (LuaString, LuaString, Option<i64>)| {
                find_aux(lua, &g, (s, p, init, None), false)
            },
        )?,
    )?;
    let g = guard.clone();
    string.raw_set(
        "gmatch",
        lua.create_function(
            move |lua, (s, p, init): (LuaString, LuaString, Option<i64>)| {
                gmatch(lua, s, p, init, g.clone())
            },
        )?,
    )?;
    let g = guard;
    string.raw_set(
        "gsub",
        lua.create_function(
            move |lua, (s, p, repl, max): (LuaString, LuaString, LuaValue, Option<i64>)| {
                gsub(lua, &g, s, p, repl, max)
            },
        )?,
    )?;
    Ok(())
}

fn gmatch(
    lua: &Lua,
    s: LuaString,
    p: LuaString,
    init: Option<i64>,
    guard: impl Fn(u64) -> Result<(), Error> + 'static,
) -> mlua::Result<Function> {
    let src = s.as_bytes().to_vec();
    let pat = p.as_bytes().to_vec();
    let start = start_at(init, src.len()) - 1;
    let mut pos = start.min(src.len() + 1);
    let mut last: Option<usize> = None;
    lua.create_function_mut(move |lua, ()| {
        let mut m = Matcher::new(&src, &pat, &guard);
        while pos <= src.len() {
            m.reset();
            let here = pos;
            match m.do_match(here, 0).map_err(lua_error)? {
                Some(e) if Some(e) != last => {
                    pos = e;
                    last = Some(e);
                    return m.captures(lua, here, e, true);
                }
                _ => pos += 1,
            }
        }
        Ok(MultiValue::from_iter([LuaValue::Nil]))
    })
}

fn gsub(
    lua: &Lua,
    guard: Guard<'_>,
    s: LuaString,
    p: LuaString,
    repl: LuaValue,
    max: Option<i64>,
) -> mlua::Result<(LuaString, i64)> {
    let (src, pat) = (s.as_bytes(), p.as_bytes());
    let (src, pat): (&[u8], &[u8]) = (&src, &pat);
    match &repl {
        LuaValue::String(_) | LuaValue::Integer(_) | LuaValue::Number(_) => {}
        LuaValue::Table(_) | LuaValue::Function(_) => {}
        other => {
            return Err(mlua::Error::runtime(format!(
                "bad argument #3 to 'gsub' (string/function/table expected, got {})",
                other.type_name()
            )))
        }
    }
    let repl_text = match &repl {
        LuaValue::String(t) => Some(t.as_bytes().to_vec()),
        LuaValue::Integer(_) | LuaValue::Number(_) => Some(repl.to_string()?.into_bytes()),
        _ => None,
    };
    let (anchored, body) = anchor(pat);
    let max = max.unwrap_or(src.len() as i64 + 1);
    let mut m = Matcher::new(src, body, guard);
    let mut out: Vec<u8> = Vec::with_capacity(src.len());
    let (mut at, mut n, mut last) = (0usize, 0i64, None);
    while n < max {
        m.reset();
        match m.do_match(at, 0).map_err(lua_error)? {
            Some(e) if Some(e) != last => {
                n += 1;
                add_value(lua, &m, at, e, &repl, repl_text.as_deref(), &mut out)?;
                at = e;
                last = Some(e);
            }
            _ if at < src.len() => {
                out.push(src[at]);
                at += 1;
            }
            _ => break,
        }
        if anchored {
            break;
        }
    }
    if at < src.len() {
        out.extend_from_slice(&src[at..]);
    }
    Ok((lua.create_string(&out)?, n))
}

fn add_value(
    lua: &Lua,
    m: &Matcher<'_>,
    s: usize,
    e: usize,
    repl: &LuaValue,
    text: Option<&[u8]>,
    out: &mut Vec<u8>,
) -> mlua::Result<()> {
    if let Some(text) = text {
        let mut i = 0;
        while i < text.len() {
            let c = text[i];
            i += 1;
            if c != b'%' {
                out.push(c);
                continue;
            }
            match text.get(i) {
                Some(b'%') => out.push(b'%'),
                Some(d @ b'0'..=b'9') => {
                    let v = if *d == b'0' {
                        LuaValue::String(lua.create_string(&m.src[s..e])?)
                    } else {
                        m.capture(lua, usize::from(d - b'1'), s, e)?
                    };
                    match v {
                        LuaValue::String(t) => out.extend_from_slice(&t.as_bytes()),
                        other => out.extend_from_slice(other.to_string()?.as_bytes()),
                    }
                }
                _ => {
                    return Err(mlua::Error::runtime(
                        "invalid use of '%' in replacement string",
                    ))
                }
            }
            i += 1;
        }
        return Ok(());
    }
    let value: LuaValue = match repl {
        LuaValue::Table(t) => t.get(m.capture(lua, 0, s, e)?)?,
        LuaValue::Function(f) => f.call(m.captures(lua, s, e, true)?)?,
        _ => LuaValue::Nil,
    };
    match value {
        LuaValue::Nil | LuaValue::Boolean(false) => out.extend_from_slice(&m.src[s..e]),
        LuaValue::String(t) => out.extend_from_slice(&t.as_bytes()),
        v @ (LuaValue::Integer(_) | LuaValue::Number(_)) => {
            out.extend_from_slice(v.to_string()?.as_bytes())
        }
        other => {
            return Err(mlua::Error::runtime(format!(
                "invalid replacement value (a {})",
                other.type_name()
            )))
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `code` in a Lua with its native string library and in one with
    /// ours; both must print the same.
    fn same_as_native(code: &str) {
        let run = |ours: bool| -> String {
            let lua = Lua::new();
            if ours {
                let string: Table = lua.globals().get("string").unwrap();
                install(&lua, &string, |_| Ok(())).unwrap();
            }
            let wrapped = format!(
                "local out = {{}}\n\
                 local function show(...) local t = table.pack(...) for i = 1, t.n do out[#out + 1] = tostring(t[i]) end out[#out + 1] = '|' end\n\
                 local ok, err = pcall(function()\n{code}\nend)\n\
                 if not ok then\n\
                   local text = tostring(err):match('^[^\\n]*'):gsub('^runtime error: ', ''):gsub('^.-:%d+: ', '')\n\
                   out[#out + 1] = 'error: ' .. text\n\
                 end\n\
                 return table.concat(out, ' ')"
            );
            lua.load(wrapped).eval::<String>().unwrap()
        };
        assert_eq!(run(true), run(false), "differs from Lua's own for:\n{code}");
    }

    #[test]
    fn find_and_match_agree_with_lua() {
        for (s, p) in [
            ("hello world", "o w"),
            ("hello world", "o"),
            ("hello world", "l+"),
            ("hello world", "^h"),
            ("hello world", "^w"),
            ("hello world", "d$"),
            ("hello world", "(h)(e)"),
            ("hello world", "()ll()"),
            ("  trim me  ", "^%s*(.-)%s*$"),
            ("key = value", "(%w+)%s*=%s*(%w+)"),
            ("THE (quick) fox", "%((%a+)%)"),
            ("f(a(b)c)d", "%b()"),
            ("THE (quick) fox", "%f[%a]%a+"),
            ("abcabc", "(abc)%1"),
            ("x = [[y]]", "[%[%]]+"),
            ("a-b-c", "[a-c%-]+"),
            ("a]b", "[]]"),
            ("a^b", "[%^]"),
            ("hello", "[^aeiou]+"),
            ("123abc", "%d*"),
            ("123abc", "%D+"),
            ("aaa", "a-b"),
            ("aaab", "a-b"),
            ("", ".*"),
            ("abc", ""),
            ("a.b", "."),
            ("a.b", "%."),
            ("a\\0b", "%z"),
            ("tab\\there", "%c"),
            ("x+y", "x+y"),
            ("hi", "(h)(i)()"),
            ("αβγ", "[\\x80-\\xff]+"),
            ("hello", "(l)(l)?"),
        ] {
            same_as_native(&format!(
                "show(string.find('{s}', '{p}')) show(string.match('{s}', '{p}'))"
            ));
        }
    }

    #[test]
    fn init_plain_and_negative_positions_agree_with_lua() {
        for args in [
            "'hello', 'l', 4",
            "'hello', 'l', -2",
            "'hello', 'l', -10",
            "'hello', 'l', 10",
            "'hello', 'l', 6",
            "'a.b', '.', 1, true",
            "'a+b', '+', 1, true",
            "'abc', '', 10",
            "'abc', '', 4",
        ] {
            same_as_native(&format!("show(string.find({args}))"));
        }
        same_as_native("show(string.match('hello', 'l+', -3))");
    }

    #[test]
    fn gmatch_and_gsub_agree_with_lua() {
        same_as_native(
            "for k, v in string.gmatch('a=1, b=2, c=3', '(%w+)=(%w+)') do show(k, v) end",
        );
        same_as_native("for w in ('one two  three'):gmatch('%a+') do show(w) end");
        same_as_native("for e in ('abc'):gmatch('') do show(e) end");
        same_as_native("for e in ('abc'):gmatch('x*') do show(e) end");
        same_as_native("for p in ('hello'):gmatch('()l') do show(p) end");
        same_as_native("for w in ('one two three'):gmatch('%a+', 5) do show(w) end");
        same_as_native("show(string.gsub('hello world', 'o', '0'))");
        same_as_native("show(string.gsub('hello world', 'o', '0', 1))");
        same_as_native("show(string.gsub('hello world', '(%w+)', '<%1>'))");
        same_as_native("show(string.gsub('hello world', '%w+', '%0 %0'))");
        same_as_native("show(string.gsub('abc', '', '-'))");
        same_as_native("show(string.gsub('abc', 'x*', '-'))");
        same_as_native("show(string.gsub('hello', '^h', 'H'))");
        same_as_native("show(string.gsub('$name is $age', '%$(%w+)', { name = 'ada', age = 36 }))");
        same_as_native("show(string.gsub('$name is $x', '%$(%w+)', { name = 'ada' }))");
        same_as_native("show(string.gsub('1 2 3', '%d', function(d) return d * 2 end))");
        same_as_native("show(string.gsub('1 2 3', '%d', function(d) if d == '2' then return false end return 'n' end))");
        same_as_native("show(string.gsub('a%b', '%%', '%%%%'))");
        same_as_native("show(string.gsub('hello', 'l', 7))");
        same_as_native("show(string.gsub('hello', '()l', '%1'))");
    }

    #[test]
    fn malformed_patterns_fail_like_lua() {
        for p in ["%", "[a", "(a", "a)", "%b", "%f", "%1", "(()", "[^"] {
            same_as_native(&format!("show(string.find('abc', '{p}'))"));
        }
        same_as_native("show(string.gsub('abc', 'b', '%2'))");
        same_as_native("show(string.gsub('abc', 'b', '%x'))");
        same_as_native("show(string.gsub('abc', 'b', true))");
        same_as_native("show(string.gsub('abc', 'b', function() return {} end))");
    }

    #[test]
    fn the_guard_stops_a_pathological_pattern() {
        let lua = Lua::new();
        let string: Table = lua.globals().get("string").unwrap();
        let calls = std::rc::Rc::new(std::cell::Cell::new(0u32));
        let seen = calls.clone();
        install(&lua, &string, move |_| {
            seen.set(seen.get() + 1);
            if seen.get() > 10 {
                Err(Error::new(crate::ErrorCode::LimitTime, "too long"))
            } else {
                Ok(())
            }
        })
        .unwrap();
        let err = lua
            .load("return string.find(string.rep('a', 5000), '.-.-.-.-b')")
            .exec()
            .unwrap_err();
        assert!(err.to_string().contains("too long"), "{err}");
        assert_eq!(calls.get(), 11);
    }
}
