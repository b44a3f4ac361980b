//! The Lua side of a debugger pause: the spell's frames, their variables
//! read and set through the raw C API (mlua has no safe way to them), and
//! code evaluated in a frame.
//!
//! A frame is a level of the running thread's stack whose function comes
//! from the spell's file (its chunk name starts with `@`); C functions
//! (the bridges, `exec_raw`'s own), the prelude and mlua's async wrapper
//! are passed over. Frame 0 is the innermost, as [`Inspect`] counts.

use std::ffi::{c_int, CStr};
use std::rc::Rc;

use mlua::{ffi, Lua, MultiValue, Table, Value as LuaValue};

use super::lua_values::{from_lua, from_lua_error, to_lua};
use crate::error::{Error, ErrorCode, Result};
use crate::session::debug::{self, Frame, Inspect, Local};
use crate::session::Session;
use crate::value::Value;

/// How many stack levels a debugger looks through: deep recursion shows
/// its innermost frames, and a debugger needs no more.
const LEVELS: i32 = 200;

/// The registry name of the prelude's `evaluate` (see `lua.rs`).
pub(super) const EVALUATE: &str = "llmspell.evaluate";

/// The spell's frames as a debugger sees them at a pause.
pub(super) struct Frames {
    pub lua: Lua,
    pub session: Rc<Session>,
}

/// One variable of a frame: a local (`slot` > 0, its index) or an upvalue
/// (`slot` < 0, minus its index).
struct Var {
    name: String,
    value: LuaValue,
    slot: i64,
}

impl Frames {
    /// A frame's variables, locals in the order they were declared and then
    /// the upvalues they do not shadow; an error when there is no such frame.
    fn vars(&self, frame: usize) -> Result<Vec<Var>> {
        // SAFETY: `push_vars` only reads the stack, checking there is room
        // for what it pushes.
        let pushed: MultiValue = unsafe { self.lua.exec_raw(frame as i64, |l| push_vars(l)) }
            .map_err(|e| internal(&e))?;
        let mut pushed = pushed.into_iter();
        if !matches!(pushed.next(), Some(LuaValue::Boolean(true))) {
            return Err(no_frame(frame));
        }
        let (mut locals, mut upvalues): (Vec<Var>, Vec<Var>) = (Vec::new(), Vec::new());
        let rest: Vec<LuaValue> = pushed.collect();
        for triple in rest.chunks(3) {
            let [value, LuaValue::String(name), LuaValue::Integer(slot)] = triple else {
                continue;
            };
            let name = name.to_string_lossy();
            // Lua's own temporaries, and the environment every chunk has.
            if name.starts_with('(') || name == "_ENV" || name == "?" || name.is_empty() {
                continue;
            }
            let var = Var {
                name,
                value: value.clone(),
                slot: *slot,
            };
            if *slot > 0 {
                // A later local of the same name shadows the earlier one.
                locals.retain(|v| v.name != var.name);
                locals.push(var);
            } else {
                upvalues.push(var);
            }
        }
        upvalues.retain(|u| !locals.iter().any(|l| l.name == u.name));
        locals.extend(upvalues);
        Ok(locals)
    }

    fn set_var(&self, frame: usize, slot: i64, value: LuaValue) -> Result<()> {
        // SAFETY: `set_var` finds the frame as `push_vars` does and sets
        // one of its variables, which it read the index of.
        let done: bool = unsafe {
            self.lua
                .exec_raw((frame as i64, slot, value), |l| set_var(l))
        }
        .map_err(|e| internal(&e))?;
        match done {
            true => Ok(()),
            false => Err(no_frame(frame)),
        }
    }

    fn shown(&self, value: &LuaValue) -> serde_json::Value {
        match from_lua(value, &self.session) {
            Ok(v) => debug::shown(&v),
            Err(_) => serde_json::Value::String(format!("<{}>", value.type_name())),
        }
    }

    /// What a failed evaluation raised, as a coded error; a limit it
    /// tripped ends the run.
    fn failure(&self, raised: &LuaValue, compiled: bool) -> Error {
        let err = match raised {
            LuaValue::Error(e) => from_lua_error(e),
            LuaValue::String(text) if text.to_string_lossy() == "not enough memory" => {
                Error::new(ErrorCode::LimitMemory, "not enough memory")
            }
            LuaValue::String(text) if !compiled => {
                Error::new(ErrorCode::SpellSyntax, text.to_string_lossy())
            }
            LuaValue::String(text) => Error::from_script(&text.to_string_lossy()),
            other => Error::from_script(&self.shown(other).to_string()),
        };
        if err.code.is_fatal() {
            return self.session.trip(err.code);
        }
        err
    }
}

impl Inspect for Frames {
    fn stack(&mut self) -> Vec<Frame> {
        stack(&self.lua)
    }

    fn depth(&mut self) -> usize {
        let mut n = 0;
        for level in 0..LEVELS as usize {
            match self
                .lua
                .inspect_stack(level, |d| spell_source(d.source().source.as_deref()))
            {
                None => break,
                Some(true) => n += 1,
                Some(false) => {}
            }
        }
        n
    }

    fn locals(&mut self, frame: usize) -> Vec<Local> {
        let vars = self.vars(frame).unwrap_or_default();
        vars.iter()
            .map(|v| (v.name.clone(), self.shown(&v.value)))
            .collect()
    }

    fn evaluate(&mut self, frame: usize, code: &str) -> Result<serde_json::Value> {
        let lua = &self.lua;
        let vars = self.vars(frame)?;
        let (boxes, changed) = (table(lua)?, table(lua)?);
        for v in &vars {
            let b = table(lua)?;
            b.raw_set(1, v.value.clone()).map_err(|e| internal(&e))?;
            boxes
                .raw_set(v.name.as_str(), b)
                .map_err(|e| internal(&e))?;
        }
        let evaluate: mlua::Function = lua
            .named_registry_value(EVALUATE)
            .map_err(|e| internal(&e))?;
        let out = evaluate.call::<MultiValue>((code, boxes.clone(), changed.clone()));
        self.session.check_stop()?;
        let mut out = out
            .map_err(|e| self.failure(&LuaValue::Error(Box::new(e)), true))?
            .into_iter();
        let status = out.next();
        let value = out.next().unwrap_or(LuaValue::Nil);
        match status {
            Some(LuaValue::Boolean(true)) => {}
            Some(LuaValue::Boolean(false)) => return Err(self.failure(&value, true)),
            _ => return Err(self.failure(&value, false)),
        }
        for v in &vars {
            if changed.raw_get::<bool>(v.name.as_str()).unwrap_or(false) {
                let b: Table = boxes.raw_get(v.name.as_str()).map_err(|e| internal(&e))?;
                let now: LuaValue = b.raw_get(1).map_err(|e| internal(&e))?;
                self.set_var(frame, v.slot, now)?;
            }
        }
        Ok(self.shown(&value))
    }

    fn set_local(&mut self, frame: usize, name: &str, value: &serde_json::Value) -> Result<()> {
        let vars = self.vars(frame)?;
        let Some(var) = vars.iter().find(|v| v.name == name) else {
            return Err(debug::unsupported(&format!(
                "frame {frame} has no local or upvalue named `{name}`"
            )));
        };
        let value = to_lua(&self.lua, Value::from_json(value)).map_err(|e| internal(&e))?;
        self.set_var(frame, var.slot, value)
    }

    /// Lua's: everything but `nil` and `false`.
    fn truthy(&self, v: &serde_json::Value) -> Option<bool> {
        Some(!matches!(
            v,
            serde_json::Value::Null | serde_json::Value::Bool(false)
        ))
    }
}

fn table(lua: &Lua) -> Result<Table> {
    lua.create_table().map_err(|e| internal(&e))
}

fn internal(e: &mlua::Error) -> Error {
    from_lua_error(e)
}

fn no_frame(frame: usize) -> Error {
    debug::unsupported(&format!("the spell has no frame {frame} here"))
}

fn spell_source(source: Option<&str>) -> bool {
    source.unwrap_or_default().starts_with('@')
}

/// The spell's call stack, innermost first: its own functions only.
pub(super) fn stack(lua: &Lua) -> Vec<Frame> {
    let mut frames = Vec::new();
    for level in 0..LEVELS as usize {
        let Some(frame) = lua.inspect_stack(level, |d| {
            let src = d.source();
            if !spell_source(src.source.as_deref()) {
                return None;
            }
            let line = d.current_line()? as u32;
            let function = match src.what {
                "main" => "main".to_owned(),
                _ => d.names().name.map_or_else(
                    || format!("function at line {}", src.line_defined.unwrap_or(0)),
                    |n| n.into_owned(),
                ),
            };
            Some(Frame {
                function,
                file: src.short_src.as_deref().unwrap_or_default().to_owned(),
                line,
            })
        }) else {
            break;
        };
        frames.extend(frame);
    }
    frames
}

/// Finds spell frame number `frame` of the running thread into `ar`.
unsafe fn find_frame(l: *mut ffi::lua_State, frame: usize, ar: &mut ffi::lua_Debug) -> bool {
    let mut seen = 0;
    // The levels above the stack's own: this C function and the hook's.
    for level in 0..LEVELS + 4 {
        unsafe {
            if ffi::lua_getstack(l, level, ar) == 0 {
                return false;
            }
            ffi::lua_getinfo(l, c"S".as_ptr(), ar);
            if CStr::from_ptr(ar.source).to_bytes().starts_with(b"@") {
                if seen == frame {
                    return true;
                }
                seen += 1;
            }
        }
    }
    false
}

/// With a frame number as its argument, pushes whether the frame is there,
/// then each of its variables as value, name and slot: the locals
/// (`lua_getlocal`), then the upvalues (`lua_getupvalue`, slot negated).
unsafe fn push_vars(l: *mut ffi::lua_State) {
    unsafe {
        let frame = ffi::lua_tointeger(l, 1) as usize;
        ffi::lua_settop(l, 0);
        let mut ar: ffi::lua_Debug = std::mem::zeroed();
        let found = find_frame(l, frame, &mut ar);
        ffi::lua_pushboolean(l, c_int::from(found));
        if !found {
            return;
        }
        let mut n = 1;
        while ffi::lua_checkstack(l, 4) != 0 {
            let name = ffi::lua_getlocal(l, &ar, n);
            if name.is_null() {
                break;
            }
            ffi::lua_pushstring(l, name);
            ffi::lua_pushinteger(l, ffi::lua_Integer::from(n));
            n += 1;
        }
        // The function, for its upvalues; taken off again at the end.
        ffi::lua_getinfo(l, c"f".as_ptr(), &mut ar);
        let function = ffi::lua_gettop(l);
        let mut n = 1;
        while ffi::lua_checkstack(l, 4) != 0 {
            let name = ffi::lua_getupvalue(l, function, n);
            if name.is_null() {
                break;
            }
            ffi::lua_pushstring(l, name);
            ffi::lua_pushinteger(l, -ffi::lua_Integer::from(n));
            n += 1;
        }
        ffi::lua_remove(l, function);
    }
}

/// With a frame number, a slot (as [`push_vars`] gives it) and a value as
/// its arguments, sets that variable: leaves whether it did.
unsafe fn set_var(l: *mut ffi::lua_State) {
    unsafe {
        let frame = ffi::lua_tointeger(l, 1) as usize;
        let slot = ffi::lua_tointeger(l, 2);
        let mut ar: ffi::lua_Debug = std::mem::zeroed();
        let mut done = false;
        if find_frame(l, frame, &mut ar) && ffi::lua_checkstack(l, 2) != 0 {
            if slot > 0 {
                ffi::lua_pushvalue(l, 3);
                done = !ffi::lua_setlocal(l, &ar, slot as c_int).is_null();
                if !done {
                    ffi::lua_pop(l, 1);
                }
            } else {
                ffi::lua_getinfo(l, c"f".as_ptr(), &mut ar);
                ffi::lua_pushvalue(l, 3);
                done = !ffi::lua_setupvalue(l, -2, (-slot) as c_int).is_null();
                if !done {
                    ffi::lua_pop(l, 1);
                }
                ffi::lua_pop(l, 1);
            }
        }
        ffi::lua_settop(l, 0);
        ffi::lua_pushboolean(l, c_int::from(done));
    }
}

/// The lines of a Lua chunk that have code a line breakpoint can stop at,
/// every function's included; `None` when it does not compile. Read from
/// the chunk's own bytecode (its line table), as Lua 5.4 writes it: the
/// lines of its instructions, but for a vararg function's first
/// (`VARARGPREP`, whose line the line hook never reports).
pub(super) fn code_lines(source: &[u8]) -> Option<std::collections::BTreeSet<u32>> {
    let lua = Lua::new_with(mlua::StdLib::NONE, mlua::LuaOptions::new()).ok()?;
    let f = lua
        .load(source)
        .set_mode(mlua::chunk::ChunkMode::Text)
        .into_function()
        .ok()?;
    let dump = f.dump(false);
    let mut r = Bytecode {
        bytes: &dump,
        at: 0,
    };
    let mut lines = std::collections::BTreeSet::new();
    r.header()?;
    r.byte()?; // the main function's number of upvalues
    r.function(&mut lines)?;
    Some(lines)
}

/// A reader of Lua 5.4 bytecode (`ldump.c`).
struct Bytecode<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Bytecode<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let got = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(got)
    }

    fn byte(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    /// A size: 7 bits a byte, the most significant first; the last byte
    /// has its top bit set.
    fn size(&mut self) -> Option<usize> {
        let mut x: usize = 0;
        loop {
            let b = self.byte()?;
            x = x.checked_mul(128)? | usize::from(b & 0x7f);
            if b & 0x80 != 0 {
                return Some(x);
            }
        }
    }

    fn string(&mut self) -> Option<()> {
        match self.size()? {
            0 => Some(()),
            n => self.take(n - 1).map(drop),
        }
    }

    /// The signature, the format, and the sizes this Lua was built with.
    fn header(&mut self) -> Option<()> {
        let head = self.take(4 + 1 + 1 + 6)?;
        if &head[..5] != b"\x1bLua\x54" {
            return None;
        }
        let (instruction, integer, number) = (self.byte()?, self.byte()?, self.byte()?);
        if instruction != 4 {
            return None;
        }
        self.take(usize::from(integer) + usize::from(number))
            .map(drop)
    }

    fn function(&mut self, lines: &mut std::collections::BTreeSet<u32>) -> Option<()> {
        self.string()?; // source
        let defined = self.size()?;
        self.size()?; // last line defined
        self.byte()?; // parameters
        let vararg = self.byte()? != 0;
        self.byte()?; // stack size
        let code = self.size()?;
        self.take(code.checked_mul(4)?)?;
        for _ in 0..self.size()? {
            match self.byte()? {
                // A float, an integer.
                3 | 19 => drop(self.take(8)?),
                // A short or long string.
                4 | 20 => self.string()?,
                // nil, false, true.
                _ => {}
            }
        }
        let upvalues = self.size()?;
        self.take(upvalues.checked_mul(3)?)?;
        for _ in 0..self.size()? {
            self.function(lines)?;
        }
        let n = self.size()?;
        let deltas: Vec<i8> = self.take(n)?.iter().map(|&b| b as i8).collect();
        let mut absolute = Vec::new();
        for _ in 0..self.size()? {
            absolute.push((self.size()?, self.size()?));
        }
        for _ in 0..self.size()? {
            self.string()?;
            self.size()?;
            self.size()?;
        }
        for _ in 0..self.size()? {
            self.string()?;
        }
        // Each instruction's line: a delta from the one before, or (where
        // the delta is -128) the line the absolute table holds for it.
        let mut line = defined as i64;
        for (pc, delta) in deltas.iter().enumerate() {
            line = match delta {
                -128 => absolute.iter().find(|(at, _)| *at == pc)?.1 as i64,
                d => line + i64::from(*d),
            };
            if (pc > 0 || !vararg) && line > 0 {
                lines.insert(u32::try_from(line).ok()?);
            }
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lua's own answer, from its debug library: the lines of every
    /// function the chunk makes (it returns them) with code on them.
    fn active_lines(source: &str) -> std::collections::BTreeSet<u32> {
        // SAFETY: a test's own Lua, with the debug library, nothing else.
        let lua = unsafe { Lua::unsafe_new_with(mlua::StdLib::DEBUG, mlua::LuaOptions::new()) };
        let main = lua.load(source).into_function().unwrap();
        let mut functions: Vec<mlua::Function> =
            main.call::<mlua::Variadic<_>>(()).unwrap().to_vec();
        functions.push(main);
        let getinfo: mlua::Function = lua.load("return debug.getinfo").eval().unwrap();
        let mut lines = std::collections::BTreeSet::new();
        for f in functions {
            let info: Table = getinfo.call((f, "L")).unwrap();
            let active: Table = info.get("activelines").unwrap();
            for pair in active.pairs::<u32, bool>() {
                lines.insert(pair.unwrap().0);
            }
        }
        lines
    }

    #[test]
    fn the_lines_with_code_are_the_ones_lua_itself_finds() {
        for source in [
            "local a = 1\n\n-- a comment\nlocal b = a + 1\nreturn",
            "local function f(x)\n  local y = x + 1\n\n  return y\nend\n\
             local t = {\n  g = function(...) return select('#', ...) end,\n}\n\
             --[[ a\nlong comment ]]\nreturn f, t.g",
            "local s = [[\nlong\nstring]]\nfor i = 1, 3 do\n  s = s .. i\nend\nreturn",
            // Far apart lines, past what one delta holds.
            &format!("local a = 1{}local b = 2\nreturn", "\n".repeat(300)),
        ] {
            let ours = code_lines(source.as_bytes()).unwrap();
            assert_eq!(ours, active_lines(source), "{source}");
        }
        assert!(code_lines(b"local = 1").is_none());
    }
}
