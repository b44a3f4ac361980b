//! Lua's `string.find`, `match`, `gmatch` and `gsub`, with a step budget.
//!
//! Lua's own pattern matcher is C code that never returns to the VM while
//! it backtracks, so no hook can stop `("a"):rep(1e5):find(".-.-.-b")`.
//! This is a matcher written for llmspell to the Lua 5.4 manual's pattern
//! rules; it counts its steps and asks the spell's limits every few
//! thousand, so a pathological pattern ends with `limit.time` (or
//! `limit.instructions`, or `cancelled`) like any other runaway spell.

use std::ffi::{c_char, c_int};

use mlua::ffi::{self, lua_Integer, lua_State};
use mlua::{Lua, Table};

use super::lua_lib::check_bytes;
use crate::error::Error;

/// As Lua: at most 32 captures, and 200 nested matcher calls.
const MAX_CAPTURES: usize = 32;
const MAX_DEPTH: usize = 200;
/// The limits are asked every this many steps.
const CHECK_EVERY: u64 = 4096;
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

/// Asked every [`CHECK_EVERY`] steps with the steps taken since.
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
            (self.guard)(CHECK_EVERY).map_err(Stop::Limit)?;
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
            if pat[q] == b'%' {
                // As Lua: the class letter may be the set's closing ']'.
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
            // A position capture has no text: it matches nothing, as in Lua.
            Some(&(_, CapLen::Position)) => return Ok(None),
            _ => {
                return Err(Stop::Pattern(format!(
                    "invalid capture index %{}",
                    i64::from(digit) - i64::from(b'0')
                )))
            }
        };
        let end = s + len;
        if end <= self.src.len() && self.src[start..start + len] == self.src[s..end] {
            Ok(Some(end))
        } else {
            Ok(None)
        }
    }

    /// The `i`th capture as Lua pushes it; whole match `s..e` when there
    /// are none. An error is a Lua error message.
    fn capture(&self, i: usize, s: usize, e: usize) -> Result<Capture, String> {
        if i >= self.level {
            if i != 0 {
                return Err(format!("invalid capture index %{}", i + 1));
            }
            return Ok(Capture::Text(s, e - s));
        }
        match self.caps[i] {
            (_, CapLen::Unfinished) => Err("unfinished capture".into()),
            (start, CapLen::Position) => Ok(Capture::Position(start as i64 + 1)),
            (start, CapLen::Len(len)) => Ok(Capture::Text(start, len)),
        }
    }

    /// How many values a match pushes: its captures, or the whole match.
    fn count(&self, whole: bool) -> usize {
        if self.level == 0 && whole {
            1
        } else {
            self.level
        }
    }
}

#[derive(Clone, Copy)]
enum Capture {
    Text(usize, usize),
    Position(i64),
}

/// A leading `^` anchors the match at the start position.
fn anchor(pat: &[u8]) -> (bool, &[u8]) {
    match pat.strip_prefix(b"^") {
        Some(body) => (true, body),
        None => (false, pat),
    }
}

/// Lua's `posrelatI`: a start position, negative counting from the end.
fn start_at(init: i64, len: usize) -> usize {
    let len = len as i64;
    match init {
        i if i > 0 => i as usize,
        0 => 1,
        i if i < -len => 1,
        i => (len + i + 1) as usize,
    }
}

/// Installs `find`, `match`, `gmatch` and `gsub` over `string`: C
/// functions over the C API, as Lua's own are, so their arguments, errors
/// (a plain string placed at the caller's line, or whatever a `gsub`
/// callback raised, unchanged) and results are Lua's. Only the matching
/// is ours, and it asks the limits (the guard [`super::lua_lib`] keeps).
pub(crate) fn install(lua: &Lua, string: &Table) -> mlua::Result<()> {
    // SAFETY: each is a well-formed lua_CFunction over the C API.
    unsafe {
        string.raw_set("find", lua.create_c_function(str_find)?)?;
        string.raw_set("match", lua.create_c_function(str_match)?)?;
        string.raw_set("gmatch", lua.create_c_function(gmatch)?)?;
        string.raw_set("gsub", lua.create_c_function(gsub)?)?;
    }
    Ok(())
}

/// Raises `text` as Lua's `luaL_error` would: a string placed at the
/// caller's line. The Rust string is gone before Lua unwinds.
unsafe fn raise_text(l: *mut lua_State, text: String) -> ! {
    ffi::luaL_where(l, 1);
    ffi::lua_pushlstring(l, text.as_ptr() as *const c_char, text.len());
    drop(text);
    ffi::lua_concat(l, 2);
    ffi::lua_error(l)
}

unsafe fn raise(l: *mut lua_State, stop: Stop) -> ! {
    match stop {
        Stop::Pattern(text) => raise_text(l, text),
        Stop::Limit(e) => super::lua_lib::raise_limit(l, e),
    }
}

/// Where `pat` first occurs in `hay`: in linear time (Lua's own search
/// compares at each candidate, which is quadratic for a long needle), a
/// block at a time, with the limits asked between blocks.
unsafe fn find_plain(l: *mut lua_State, hay: &[u8], pat: &[u8]) -> Option<usize> {
    const BLOCK: usize = 1 << 20;
    if pat.len() > hay.len() {
        return None;
    }
    let finder = memchr::memmem::Finder::new(pat);
    let guard = spell_guard(l);
    let mut start = 0;
    loop {
        // Each block's window reaches a needle's length into the next.
        let end = (start + BLOCK + pat.len()).min(hay.len());
        if let Some(i) = finder.find(&hay[start..end]) {
            return Some(start + i);
        }
        if end == hay.len() {
            return None;
        }
        start += BLOCK;
        if let Err(e) = guard(BLOCK as u64 / 64) {
            raise(l, Stop::Limit(e));
        }
    }
}

/// Runs the matcher with the spell's guard, Lua's errors raised.
unsafe fn run_match(l: *mut lua_State, m: &mut Matcher<'_>, s: usize) -> Option<usize> {
    // Each start position is a step: a pattern that fails at once still
    // counts as it scans a long subject.
    if let Err(stop) = m.step() {
        raise(l, stop);
    }
    m.reset();
    match m.do_match(s, 0) {
        Ok(end) => end,
        Err(stop) => raise(l, stop),
    }
}

unsafe fn push_capture(l: *mut lua_State, m: &Matcher<'_>, i: usize, s: usize, e: usize) {
    match m.capture(i, s, e) {
        Ok(Capture::Text(start, len)) => {
            ffi::lua_pushlstring(l, m.src.as_ptr().add(start) as *const c_char, len);
        }
        Ok(Capture::Position(p)) => ffi::lua_pushinteger(l, p),
        Err(text) => raise_text(l, text),
    }
}

unsafe fn push_captures(
    l: *mut lua_State,
    m: &Matcher<'_>,
    s: usize,
    e: usize,
    whole: bool,
) -> c_int {
    let n = m.count(whole);
    ffi::luaL_checkstack(l, n as c_int, c"too many captures".as_ptr());
    for i in 0..n {
        push_capture(l, m, i, s, e);
    }
    n as c_int
}

/// The spell's guard, or one that never says stop in a Lua state
/// without a spell (the tests' reference states).
unsafe fn spell_guard<'a>(l: *mut lua_State) -> Guard<'a> {
    fn no_guard(_: u64) -> Result<(), Error> {
        Ok(())
    }
    match super::lua_lib::guard(l) {
        Some(g) => g,
        None => &no_guard,
    }
}

unsafe fn find_aux(l: *mut lua_State, find: bool) -> c_int {
    let src = check_bytes(l, 1);
    let pat = check_bytes(l, 2);
    let init = start_at(ffi::luaL_optinteger(l, 3, 1), src.len()) - 1;
    if init > src.len() {
        ffi::lua_pushnil(l);
        return 1;
    }
    if find && (ffi::lua_toboolean(l, 4) != 0 || !pat.iter().any(|c| SPECIALS.contains(c))) {
        let hay = &src[init..];
        let at = find_plain(l, hay, pat);
        if let Some(i) = at {
            ffi::lua_pushinteger(l, (init + i + 1) as lua_Integer);
            ffi::lua_pushinteger(l, (init + i + pat.len()) as lua_Integer);
            return 2;
        }
        ffi::lua_pushnil(l);
        return 1;
    }
    let guard = spell_guard(l);
    let (anchored, body) = anchor(pat);
    let mut m = Matcher::new(src, body, guard);
    let mut s1 = init;
    loop {
        if let Some(e) = run_match(l, &mut m, s1) {
            if find {
                ffi::lua_pushinteger(l, s1 as lua_Integer + 1);
                ffi::lua_pushinteger(l, e as lua_Integer);
                return push_captures(l, &m, 0, 0, false) + 2;
            }
            return push_captures(l, &m, s1, e, true);
        }
        s1 += 1;
        if anchored || s1 > src.len() {
            break;
        }
    }
    ffi::lua_pushnil(l);
    1
}

unsafe extern "C-unwind" fn str_find(l: *mut lua_State) -> c_int {
    find_aux(l, true)
}

unsafe extern "C-unwind" fn str_match(l: *mut lua_State) -> c_int {
    find_aux(l, false)
}

/// Where a `gmatch` iterator is: kept in a userdata beside the strings.
#[repr(C)]
struct GmatchState {
    pos: usize,
    /// One past the end of the last match, or `usize::MAX` before any.
    last: usize,
}

unsafe extern "C-unwind" fn gmatch(l: *mut lua_State) -> c_int {
    let src = check_bytes(l, 1);
    check_bytes(l, 2);
    let mut init = start_at(ffi::luaL_optinteger(l, 3, 1), src.len()) - 1;
    if init > src.len() {
        init = src.len() + 1;
    }
    // The strings stay on the closure, so they outlive every call.
    ffi::lua_settop(l, 2);
    let state =
        ffi::lua_newuserdatauv(l, std::mem::size_of::<GmatchState>(), 0) as *mut GmatchState;
    state.write(GmatchState {
        pos: init,
        last: usize::MAX,
    });
    ffi::lua_pushcclosure(l, gmatch_aux, 3);
    1
}

unsafe extern "C-unwind" fn gmatch_aux(l: *mut lua_State) -> c_int {
    let mut len = 0usize;
    let sp = ffi::lua_tolstring(l, ffi::lua_upvalueindex(1), &mut len);
    let src = std::slice::from_raw_parts(sp as *const u8, len);
    let pp = ffi::lua_tolstring(l, ffi::lua_upvalueindex(2), &mut len);
    let pat = std::slice::from_raw_parts(pp as *const u8, len);
    let state = ffi::lua_touserdata(l, ffi::lua_upvalueindex(3)) as *mut GmatchState;
    let guard = spell_guard(l);
    let mut m = Matcher::new(src, pat, guard);
    let mut at = (*state).pos;
    while at <= src.len() {
        if let Some(e) = run_match(l, &mut m, at) {
            if e != (*state).last {
                (*state).pos = e;
                (*state).last = e;
                return push_captures(l, &m, at, e, true);
            }
        }
        at += 1;
    }
    (*state).pos = at;
    0
}

unsafe extern "C-unwind" fn gsub(l: *mut lua_State) -> c_int {
    let src = check_bytes(l, 1);
    let pat = check_bytes(l, 2);
    let tr = ffi::lua_type(l, 3);
    let max_s = ffi::luaL_optinteger(l, 4, src.len() as lua_Integer + 1);
    if !matches!(
        tr,
        ffi::LUA_TNUMBER | ffi::LUA_TSTRING | ffi::LUA_TFUNCTION | ffi::LUA_TTABLE
    ) {
        super::lua_lib::type_error(l, 3, c"string/function/table");
    }
    let guard = spell_guard(l);
    let mut b: ffi::luaL_Buffer = std::mem::zeroed();
    ffi::luaL_buffinit(l, &mut b);
    let (anchored, body) = anchor(pat);
    let mut m = Matcher::new(src, body, guard);
    let mut at = 0usize;
    let mut last = usize::MAX;
    let mut n: lua_Integer = 0;
    let mut changed = false;
    while n < max_s {
        match run_match(l, &mut m, at) {
            Some(e) if e != last => {
                n += 1;
                changed |= add_value(l, &m, &mut b, at, e, tr);
                at = e;
                last = e;
            }
            _ if at < src.len() => {
                ffi::luaL_addchar(&mut b, src[at] as c_char);
                at += 1;
            }
            _ => break,
        }
        if anchored {
            break;
        }
    }
    if changed {
        ffi::luaL_addlstring(
            &mut b,
            src.as_ptr().add(at) as *const c_char,
            src.len() - at,
        );
        ffi::luaL_pushresult(&mut b);
    } else {
        // Nothing replaced: the subject itself, as Lua returns it.
        ffi::lua_pushvalue(l, 1);
    }
    ffi::lua_pushinteger(l, n);
    2
}

/// Adds the replacement of the match `s..e`; true if the text changed.
unsafe fn add_value(
    l: *mut lua_State,
    m: &Matcher<'_>,
    b: *mut ffi::luaL_Buffer,
    s: usize,
    e: usize,
    tr: c_int,
) -> bool {
    match tr {
        ffi::LUA_TFUNCTION => {
            ffi::lua_pushvalue(l, 3);
            let n = push_captures(l, m, s, e, true);
            ffi::lua_call(l, n, 1);
        }
        ffi::LUA_TTABLE => {
            push_capture(l, m, 0, s, e);
            ffi::lua_gettable(l, 3);
        }
        _ => {
            add_s(l, m, b, s, e);
            return true;
        }
    }
    if ffi::lua_toboolean(l, -1) == 0 {
        ffi::lua_pop(l, 1);
        ffi::luaL_addlstring(b, m.src.as_ptr().add(s) as *const c_char, e - s);
        false
    } else if ffi::lua_isstring(l, -1) == 0 {
        let text = format!(
            "invalid replacement value (a {})",
            std::ffi::CStr::from_ptr(ffi::luaL_typename(l, -1)).to_string_lossy()
        );
        raise_text(l, text)
    } else {
        ffi::luaL_addvalue(b);
        true
    }
}

/// A string (or number) replacement, with `%0`-`%9` and `%%`.
unsafe fn add_s(l: *mut lua_State, m: &Matcher<'_>, b: *mut ffi::luaL_Buffer, s: usize, e: usize) {
    let mut len = 0usize;
    let p = ffi::lua_tolstring(l, 3, &mut len);
    let news = std::slice::from_raw_parts(p as *const u8, len);
    let mut i = 0;
    while i < news.len() {
        let Some(at) = news[i..].iter().position(|&c| c == b'%') else {
            break;
        };
        ffi::luaL_addlstring(b, news.as_ptr().add(i) as *const c_char, at);
        let k = i + at + 1;
        match news.get(k).copied() {
            Some(b'%') => ffi::luaL_addchar(b, b'%' as c_char),
            Some(b'0') => ffi::luaL_addlstring(b, m.src.as_ptr().add(s) as *const c_char, e - s),
            Some(d) if d.is_ascii_digit() => match m.capture(usize::from(d - b'1'), s, e) {
                Ok(Capture::Text(start, len)) => {
                    ffi::luaL_addlstring(b, m.src.as_ptr().add(start) as *const c_char, len)
                }
                Ok(Capture::Position(pos)) => {
                    ffi::lua_pushinteger(l, pos);
                    ffi::luaL_addvalue(b);
                }
                Err(text) => raise_text(l, text),
            },
            _ => raise_text(l, "invalid use of '%' in replacement string".into()),
        }
        i = k + 1;
    }
    if i < news.len() {
        ffi::luaL_addlstring(b, news.as_ptr().add(i) as *const c_char, news.len() - i);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `code` run in a Lua with its own string library and in one with
    /// ours: both must give exactly the same text (errors, places and
    /// error values included).
    fn run(code: &str, ours: bool) -> String {
        let lua = Lua::new();
        if ours {
            let string: Table = lua.globals().get("string").unwrap();
            install(&lua, &string).unwrap();
        }
        let wrapped = format!(
            "local out = {{}}\n\
             local function show(...) local t = table.pack(...) out[#out + 1] = t.n .. ':' for i = 1, t.n do local k = type(t[i]) out[#out + 1] = (k == 'table' or k == 'function' or k == 'userdata') and k or tostring(t[i]) end out[#out + 1] = '|' end\n\
             local function try(...) show(pcall(...)) end\n\
             {code}\n\
             return table.concat(out, ' ')"
        );
        lua.load(wrapped)
            .set_name("=t")
            .eval::<String>()
            .unwrap_or_else(|e| format!("raised: {e}"))
    }

    fn same_as_native(code: &str) {
        assert_eq!(
            run(code, true),
            run(code, false),
            "differs from Lua's own for:\n{code}"
        );
    }

    #[test]
    fn find_and_match_agree_with_lua() {
        for (s, p) in [
            ("hello world", "o w"),
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
            ("abc", "()%1"),
            ("x = [[y]]", "[%[%]]+"),
            ("a-b-c", "[a-c%-]+"),
            ("a]b", "[]]"),
            ("a%]b", "[%]"),
            ("a^b", "[%^]"),
            ("hello", "[^aeiou]+"),
            ("aaab", "a-b"),
            ("", ".*"),
            ("abc", ""),
            ("a\\0b", "%z"),
            ("αβγ", "[\\x80-\\xff]+"),
            ("hello", "(l)(l)?"),
        ] {
            same_as_native(&format!(
                "try(string.find, '{s}', '{p}') try(string.match, '{s}', '{p}') show(('{s}'):find('{p}'))"
            ));
        }
    }

    #[test]
    fn arguments_positions_and_errors_agree_with_lua() {
        for args in [
            "'hello', 'l', 4",
            "'hello', 'l', -2",
            "'hello', 'l', -10",
            "'hello', 'l', 10",
            "'hello', 'l', 6",
            "'a.b', '.', 1, true",
            "'abc', '', 10",
            "'abc', '', 4",
            "'hello', 'l', 2.5",
            "'hello', 'l', '2'",
            "'hello', 'l', 'x'",
            "",
            "'a'",
            "{}, 'a'",
            "'a', {}",
            "12345, 3",
            "'a', 'a', nil, 1",
        ] {
            same_as_native(&format!(
                "try(string.find, {args}) try(string.match, {args}) try(string.gmatch, {args})"
            ));
        }
        for p in [
            "%", "[a", "(a", "a)", "%b", "%ba", "%f", "%fx", "%1", "%0", "(()", "[^", "[%", "(%1)",
        ] {
            same_as_native(&format!(
                "try(string.find, 'abc', '{p}') try(string.find, '', '{p}') try(string.gsub, 'abc', '{p}', 'x')\n\
                 local ok, e = pcall(function() return ('abc'):find('{p}') end) show(ok, e)"
            ));
        }
        same_as_native("try(string.find, ('a'):rep(300), ('(a)'):rep(33))");
        same_as_native("try(string.find, ('a'):rep(300), ('a?'):rep(250) .. ('a'):rep(250))");
    }

    #[test]
    fn gmatch_and_gsub_agree_with_lua() {
        for code in [
            "for k, v in string.gmatch('a=1, b=2, c=3', '(%w+)=(%w+)') do show(k, v) end",
            "for w in ('one two  three'):gmatch('%a+') do show(w) end",
            "for e in ('abc'):gmatch('') do show(e) end",
            "for e in ('abc'):gmatch('x*') do show(e) end",
            "for p in ('hello'):gmatch('()l') do show(p) end",
            "for w in ('one two three'):gmatch('%a+', 5) do show(w) end",
            "for w in ('one two three'):gmatch('%a+', -5) do show(w) end",
            "local it = ('a'):gmatch('a') show(it()) show(it()) show(it())",
            "show(string.gsub('hello world', 'o', '0'))",
            "show(string.gsub('hello world', 'o', '0', 1))",
            "show(string.gsub('hello world', 'o', '0', 0))",
            "show(string.gsub('hello world', 'o', '0', -1))",
            "show(string.gsub('hello world', '(%w+)', '<%1>'))",
            "show(string.gsub('hello world', '%w+', '%0 %0'))",
            "show(string.gsub('abc', '', '-'))",
            "show(string.gsub('abc', 'x*', '-'))",
            "show(string.gsub('hello', '^h', 'H'))",
            "show(string.gsub('$name is $age', '%$(%w+)', { name = 'ada', age = 36 }))",
            "show(string.gsub('$name is $x', '%$(%w+)', { name = 'ada' }))",
            "show(string.gsub('1 2 3', '%d', function(d) return d * 2 end))",
            "show(string.gsub('1 2 3', '%d', function(d) if d == '2' then return false end return 'n' end))",
            "show(string.gsub('a%b', '%%', '%%%%'))",
            "show(string.gsub('hello', 'l', 7))",
            "show(string.gsub('a', 'a', 2.0))",
            "show(string.gsub('hello', '()l', '%1'))",
            "local s = 'xyz' show(rawequal(string.gsub(s, 'q', 'r'), s), (string.gsub(s, 'q', 'r')))",
            "try(string.gsub, 'abc', 'b', '%2')",
            "try(string.gsub, 'abc', 'b', '%x')",
            "try(string.gsub, 'abc', 'b', 'x%')",
            "try(string.gsub, 'abc', 'b', true)",
            "try(string.gsub, 'abc', 'b', function() return {} end)",
            "try(string.gsub, 'abc', 'b')",
            "try(string.gsub, 'abc', 'b', 'x', 1.5)",
            "local ok, e = pcall(string.gsub, 'abc', 'b', function() error({code = 7}) end) show(ok, type(e), e.code)",
            "local ok, e = pcall(string.gsub, 'abc', 'b', function() error('boom') end) show(ok, e)",
            "local ok, e = pcall(string.gsub, 'abc', 'b', function() error('boom', 2) end) show(ok, e)",
            "local ok, e = pcall(string.gsub, 'abc', 'b', setmetatable({}, {__index = function() error('idx') end})) show(ok, e)",
            "local t = setmetatable({}, {__tostring = function() error({1}) end}) local ok, e = pcall(string.gsub, 'a', 'a', function() return tostring(t) end) show(ok, type(e))",
        ] {
            same_as_native(code);
        }
    }

    /// Twenty thousand generated calls, each compared with Lua's own.
    #[test]
    fn generated_pattern_calls_agree_with_lua() {
        let subjects = [
            "",
            "a",
            "abc",
            "aXbX",
            "hello world",
            "(a)[b]%c",
            "aaa",
            "x=1, y=22",
            "\\0a\\0",
        ];
        let atoms = [
            "a", "b", ".", "%a", "%d", "%s", "%w", "%p", "%x", "%u", "%l", "%A", "%D", "[ab]",
            "[^a]", "[a-c]", "[%a_]", "[]]", "%(", "%)", "(", ")", "()", "%b()", "%f[%a]", "%1",
            "^", "$", "*", "+", "-", "?", "%", "[", "%%", "X", "=", "%z",
        ];
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let mut code = String::new();
        let mut calls = 0;
        while calls < 20_000 {
            let s = subjects[next(subjects.len())];
            let mut p = String::new();
            for _ in 0..1 + next(5) {
                p.push_str(atoms[next(atoms.len())]);
            }
            let p = p.replace('\'', "");
            let init = ["", ", 1", ", -2", ", 3", ", 0"][next(5)];
            code.push_str(&format!(
                "try(string.find, '{s}', '{p}'{init}) try(string.match, '{s}', '{p}'{init}) \
                 try(string.gsub, '{s}', '{p}', '<%0>') \
                 try(function() local r = {{}} for a, b in ('{s}'):gmatch('{p}') do r[#r + 1] = tostring(a) .. tostring(b) end return table.concat(r, ',') end)\n"
            ));
            calls += 4;
            if code.len() > 40_000 {
                same_as_native(&code);
                code.clear();
            }
        }
        same_as_native(&code);
    }

    #[test]
    fn the_guard_stops_a_pathological_pattern() {
        let lua = Lua::new();
        let string: Table = lua.globals().get("string").unwrap();
        let table: Table = lua.globals().get("table").unwrap();
        let utf8: Table = lua.globals().get("utf8").unwrap();
        let calls = std::rc::Rc::new(std::cell::Cell::new(0u32));
        let seen = calls.clone();
        super::super::lua_lib::install(
            &lua,
            [&string, &table, &utf8],
            Box::new(move |_| {
                seen.set(seen.get() + 1);
                if seen.get() > 10 {
                    Err(Error::new(crate::error::ErrorCode::LimitTime, "too long"))
                } else {
                    Ok(())
                }
            }),
        )
        .unwrap();
        install(&lua, &string).unwrap();
        let err = lua
            .load("return string.find(string.rep('a', 5000), '.-.-.-.-b')")
            .exec()
            .unwrap_err();
        assert!(err.to_string().contains("too long"), "{err}");
        assert_eq!(calls.get(), 11);
    }
}
