//! Lua 5.4 (mlua, vendored): values, bridges, sandbox and limits.
//!
//! The sandbox: only the coroutine, table, string, utf8 and math libraries;
//! `io`, `os`, `debug`, `package`, `dofile`, `loadfile`, `require` and
//! `string.dump` raise `sandbox.denied`; `load` accepts source text only.
//! Limits run in a global instruction hook (which also covers coroutines
//! the spell makes) and in llmspell's own pattern matcher (Lua's never
//! returns to the VM while it backtracks); `pcall`, `xpcall` and
//! `coroutine.resume` are wrapped so that a tripped limit cannot be caught.

use std::rc::Rc;

use futures_util::future::LocalBoxFuture;
use mlua::debug::{Debug, DebugEvent};
use mlua::{
    chunk::ChunkMode, Function, HookTriggers, Lua, LuaOptions, MultiValue, StdLib, Table,
    Value as LuaValue, VmState, WeakLua,
};

use super::lua_debug::{self, Frames};
use super::lua_values::{arg_from_lua, from_lua, from_lua_error, to_lua, StackArg, EMPTY_ARRAY};
use super::skeleton::{self, denied, Guard, Layout};
use super::{lua_lib, lua_pattern, Engine};
use crate::error::{Error, ErrorCode, Location, Result};
use crate::session::debug::Inspect;
use crate::session::Session;
use crate::session::{ArgList, AsyncHost, BridgeId, ScriptHost};
use crate::value::{Callback, Value};

/// The hook runs every this many VM instructions.
const HOOK_EVERY: u32 = 1000;
/// The call depth is checked every this many hook runs (the clock at
/// every one: an instruction can be long, a comparison of two long
/// strings, so the clock is read every [`HOOK_EVERY`] instructions).
const DEPTH_CHECK_EVERY: u64 = 8;

const PRELUDE: &str = r#"
local fix, deny = ...
local function denied(lib, t)
  return setmetatable(t, {
    __index = function(_, k) deny(lib .. "." .. tostring(k)) end,
    __newindex = function(_, k) deny(lib .. "." .. tostring(k)) end,
    __metatable = false,
  })
end
for _, lib in ipairs({"io", "os", "debug"}) do _G[lib] = denied(lib, {}) end
-- package keeps only what loads nothing from outside: `loaded` (the
-- standard libraries a spell has) and `preload`. require looks there, as
-- Lua's does first; nothing else can be loaded.
local loaded = {string = string, table = table, math = math, utf8 = utf8, coroutine = coroutine, _G = _G}
package = denied("package", {loaded = loaded, preload = {}})
loaded.package = package
require = function(...)
  local name = ...
  if type(name) ~= "string" and type(name) ~= "number" then
    local got = select('#', ...) == 0 and 'no value' or type(name)
    error("bad argument #1 to 'require' (string expected, got " .. got .. ")", 2)
  end
  name = tostring(name)
  local lib = rawget(package, "loaded")[name]
  if lib then return lib end
  local load = rawget(package, "preload")[name]
  if load then
    local got = load(name, ":preload:")
    if got ~= nil then loaded[name] = got end
    if loaded[name] == nil then loaded[name] = true end
    return loaded[name], ":preload:"
  end
  deny("require(" .. name .. ")")
end
dofile = function() deny("dofile") end
loadfile = function() deny("loadfile") end
string.dump = function() deny("string.dump (bytecode)") end
-- pcall, xpcall and setmetatable are the host's (see lua_lib.rs).
local resume, close = coroutine.resume, coroutine.close
coroutine.resume = function(co, ...) return fix(resume(co, ...)) end
coroutine.close = function(...) return fix(close(...)) end
-- Bridges that wait yield the spell's own coroutine (so workflow branches
-- overlap), except where yielding is impossible (inside a callback the host
-- runs to its end) or would reach the spell's own coroutines: there they
-- block until done.
local user = setmetatable({}, {__mode = "k"})
local create, isyieldable, running = coroutine.create, coroutine.isyieldable, coroutine.running
coroutine.create = function(f) local co = create(f); user[co] = true; return co end
coroutine.wrap = function(...)
  local f = ...
  if type(f) ~= "function" then
    local got = select('#', ...) == 0 and 'no value' or type(f)
    error("bad argument #1 to 'wrap' (function expected, got " .. got .. ")", 2)
  end
  local co = coroutine.create(f)
  return function(...)
    local r = table.pack(coroutine.resume(co, ...))
    if r[1] then return table.unpack(r, 2, r.n) end
    local err = r[2]
    -- As Lua's: an error inside the coroutine closes its to-be-closed
    -- variables (whose own error then wins), and a text error gets the
    -- place of the call that resumed it.
    if coroutine.status(co) == "dead" then
      local ok, closing = coroutine.close(co)
      if not ok then err = closing end
    end
    error(err, 2)
  end
end
local function pick(async, block)
  return function(...)
    if isyieldable() and not user[running()] then return async(...) end
    return block(...)
  end
end
-- A bridge that returns an object (bot:run("hi")): its handle gets the
-- methods the registry declares, the bridges themselves (self first).
local function object(new, methods)
  local mt = {__index = methods}
  return function(...)
    local h = new(...)
    if type(h) == "table" then setmetatable(h, mt) end
    return h
  end
end
-- A debugger's evaluation at a pause (lua_debug.rs): runs `code` in a
-- coroutine of the spell's own (so the limits' hook runs in it even while
-- a line hook is paused, and bridges wait in place), seeing a frame's
-- variables (`boxes`: name to {value}) before the globals, and marking in
-- `changed` those it assigns. An expression gives its value; anything
-- else runs as statements. `nil, message` when it does not compile.
local G, load = _G, load
local function evaluate(code, boxes, changed)
  local env = setmetatable({}, {
    __index = function(_, k)
      local b = boxes[k]
      if b then return b[1] end
      return G[k]
    end,
    __newindex = function(_, k, v)
      local b = boxes[k]
      if b then b[1] = v; changed[k] = true else G[k] = v end
    end,
  })
  local f = load("return " .. code, "=eval", "t", env)
  if not f then
    local err
    f, err = load(code, "=eval", "t", env)
    if not f then return nil, err end
  end
  local co = create(f)
  user[co] = true
  return resume(co)
end
return pick, object, evaluate
"#;

pub(crate) struct LuaEngine {
    // Field order matters: the allocator meter goes before the state.
    alloc: lua_lib::AllocMeter,
    lua: Lua,
    session: Rc<Session>,
}

/// `math.random` draws from the run's seed, asked for at the first draw
/// (so a replayed run draws the same numbers, and a run that draws none
/// keeps no seed); `math.randomseed(x)` still sets one of the spell's own.
/// Not tail calls: an error names `random` as Lua's own does.
const SEEDED_RANDOM: &str = r#"
local seed = ...
local random, randomseed = math.random, math.randomseed
local seeded = false
math.random = function(...)
  if not seeded then seeded = true; randomseed(seed()) end
  local v = random(...)
  return v
end
math.randomseed = function(...)
  seeded = true
  local a, b = randomseed(...)
  return a, b
end
"#;

fn ext(e: Error) -> mlua::Error {
    mlua::Error::external(e)
}

impl LuaEngine {
    pub fn new(session: Rc<Session>) -> Result<Self> {
        let libs = StdLib::COROUTINE | StdLib::TABLE | StdLib::STRING | StdLib::UTF8 | StdLib::MATH;
        let lua = Lua::new_with(libs, LuaOptions::new()).map_err(|e| internal(&e))?;
        let used = Rc::new(std::cell::Cell::new(0));
        let heap = used.clone();
        session.set_heap(Box::new(move || heap.get()));
        let mut engine = LuaEngine {
            alloc: lua_lib::AllocMeter::default(),
            lua,
            session,
        };
        engine.setup().map_err(|e| internal(&e))?;
        // After setup: mlua reads its memory limit through its own allocator.
        let (stop, deadline) = (
            engine.session.stop_handle().clone(),
            engine.session.deadline().clone(),
        );
        engine.alloc = lua_lib::AllocMeter::install(
            &engine.lua,
            Box::new(move |read_clock| {
                if read_clock && deadline.passed() {
                    stop.trip(ErrorCode::LimitTime);
                }
                stop.is_stopped()
            }),
            used,
        );
        Ok(engine)
    }

    fn setup(&self) -> mlua::Result<()> {
        let lua = &self.lua;
        let s = &self.session;
        // Always a limit (none is usize::MAX): the allocator meter can fail
        // an allocation in any run, and mlua protects its own calls into
        // Lua against that only while a limit is set.
        lua.set_memory_limit(s.limits().memory_bytes().unwrap_or(usize::MAX))?;
        let g = lua.globals();
        let array_mt = lua.create_table()?;
        array_mt.raw_set(EMPTY_ARRAY, true)?;
        lua.set_named_registry_value(EMPTY_ARRAY, array_mt)?;

        let fix = {
            let s = s.clone();
            lua.create_function(move |lua, mut args: MultiValue| {
                s.check_stop().map_err(ext)?;
                if matches!(args.front(), Some(LuaValue::Boolean(false))) && args.len() > 1 {
                    args[1] = caught(lua, &s, &args[1])?;
                }
                Ok(args)
            })?
        };
        let errstr = {
            let s = s.clone();
            lua.create_function(move |lua, e: LuaValue| caught(lua, &s, &e))?
        };
        let deny = lua.create_function(|lua, what: String| -> mlua::Result<()> {
            Err(ext(denied(&what).at(location(lua))))
        })?;
        lua.set_named_registry_value(lua_lib::FIX.to_str().unwrap_or_default(), fix.clone())?;
        lua.set_named_registry_value(lua_lib::ERRSTR.to_str().unwrap_or_default(), errstr)?;
        lua_lib::install_base(lua, &g)?;
        let (pick, object, evaluate): (Function, Function, Function) =
            lua.load(PRELUDE).set_name("=prelude").call((fix, deny))?;
        lua.set_named_registry_value(lua_debug::EVALUATE, evaluate)?;
        let seed = {
            let s = s.clone();
            lua.create_function(move |_, ()| {
                let b = s.random_seed().map_err(ext)?;
                let half =
                    |i: usize| i64::from_le_bytes(b[i..i + 8].try_into().unwrap_or_default());
                Ok((half(0), half(8)))
            })?
        };
        lua.load(SEEDED_RANDOM)
            .set_name("=prelude")
            .call::<()>(seed)?;

        skeleton::install(
            s.registry(),
            &mut LuaLayout {
                engine: self,
                pick,
                object,
            },
        )?;
        g.raw_set("spell", to_lua(lua, s.info.to_value())?)?;
        if s.debugger().is_some() {
            fill_failure_pool(lua, FAILURE_POOL)?;
        }
        self.install_hook()
    }

    /// The limits, run by the instruction hook and by the pattern matcher;
    /// both count work in `ticks` of [`HOOK_EVERY`] instructions or steps.
    fn install_hook(&self) -> mlua::Result<()> {
        let s = self.session.clone();
        let guard = Guard::new(&s, u64::from(HOOK_EVERY));
        let string: Table = self.lua.globals().raw_get("string")?;
        let table: Table = self.lua.globals().raw_get("table")?;
        let utf8: Table = self.lua.globals().raw_get("utf8")?;
        // Work done in C (patterns, table loops) counts as instructions.
        let (gs, lib_guard) = (s.clone(), guard.clone());
        lua_lib::install(
            &self.lua,
            [&string, &table, &utf8],
            Box::new(move |steps| {
                lib_guard
                    .check(steps / u64::from(HOOK_EVERY))
                    .map(drop)
                    .map_err(|code| gs.stop_error(code))
            }),
        )?;
        lua_pattern::install(&self.lua, &string)?;
        let depth = s.limits().call_depth as usize;
        let mut triggers = HookTriggers::new().every_nth_instruction(HOOK_EVERY);
        // Line breakpoints: only a debugged run pays for a hook on every line.
        if s.debugger().is_some() {
            triggers = triggers.every_line();
        }
        self.lua.set_global_hook(triggers, move |lua, debug| {
            if debug.event() == DebugEvent::Line {
                return at_line(lua, &s, debug).map(|()| VmState::Continue);
            }
            let n = guard.check(1).map_err(|code| ext(s.stop_error(code)))?;
            if depth > 0
                && n.is_multiple_of(DEPTH_CHECK_EVERY)
                && lua.inspect_stack(depth, |_| ()).is_some()
            {
                return Err(ext(s.trip(ErrorCode::LimitDepth)));
            }
            Ok(VmState::Continue)
        })
    }

    fn bridge_fn(&self, id: usize) -> mlua::Result<Function> {
        let s = self.session.clone();
        if s.registry().get(id).max_args() == Some(1) {
            // One value straight off the stack: no MultiValue to allocate.
            return self.lua.create_function(move |lua, a: StackArg| {
                let mut values = ArgList::new();
                if !a.is_nil() {
                    values.push(a.into_value(&s).map_err(|e| ext(e.at(location(lua))))?);
                }
                call_bridge(lua, &s, id, values)
            });
        }
        self.lua.create_function(move |lua, args: MultiValue| {
            let mut values = ArgList::new();
            for (i, a) in args.iter().enumerate() {
                values.push(arg_from_lua(a, i, &s).map_err(|e| ext(e.at(location(lua))))?);
            }
            call_bridge(lua, &s, id, values)
        })
    }

    /// A bridge that waits, as an async function: it yields the calling
    /// coroutine while the body waits.
    fn waiting_fn(&self, id: usize) -> mlua::Result<Function> {
        let s = self.session.clone();
        let later: Rc<dyn AsyncHost> = Rc::new(LuaAsync {
            lua: self.lua.weak(),
            session: s.clone(),
        });
        self.lua
            .create_async_function(move |lua: Lua, args: MultiValue| {
                let at = location(&lua);
                let mut values = ArgList::new();
                let converted = args.iter().enumerate().try_for_each(|(i, a)| {
                    values.push(arg_from_lua(a, i, &s)?);
                    Ok::<_, Error>(())
                });
                let fut = match converted {
                    Err(e) => Box::pin(std::future::ready(Err(e))),
                    Ok(()) => {
                        let mut host = CallSite {
                            lua: &lua,
                            later: &later,
                            frames: None,
                        };
                        s.dispatch_waiting(id, values, &mut host)
                    }
                };
                async move {
                    match fut.await {
                        Ok(v) => to_lua(&lua, v),
                        Err(e) => Err(ext(e.at(at))),
                    }
                }
            })
    }

    /// `print(...)`: Lua's own `tostring` of each argument, tab-separated.
    fn print_fn(&self, id: usize) -> mlua::Result<Function> {
        let s = self.session.clone();
        let tostring: Function = self.lua.globals().raw_get("tostring")?;
        self.lua.create_function(move |lua, args: MultiValue| {
            let mut line = Vec::new();
            for (i, a) in args.into_iter().enumerate() {
                if i > 0 {
                    line.push(b'\t');
                }
                let text: mlua::LuaString = tostring.call(a)?;
                line.extend_from_slice(&text.as_bytes());
            }
            let text = match String::from_utf8(line) {
                Ok(text) => text,
                Err(e) => {
                    let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
                    s.set_print_bytes(e.into_bytes());
                    text
                }
            };
            call_bridge(lua, &s, id, smallvec::smallvec![Value::Str(text)]).map(|_| ())
        })
    }

    fn chunk_result(&self, f: Function) -> Result<Value> {
        // On the main thread, as Lua runs a chunk: not yieldable, so its
        // waiting bridges wait in place; workflow branches run in
        // coroutines of their own, where they yield.
        let out = f.call::<LuaValue>(());
        match out {
            Ok(v) => from_lua(&v, &self.session).map_err(|e| e.at(None)),
            Err(e) => Err(self.error(&e)),
        }
    }

    fn error(&self, e: &mlua::Error) -> Error {
        let err = from_lua_error(e);
        if err.code.is_fatal() {
            // The reason the spell stopped wins over whatever it was doing.
            return self.session.trip(err.code);
        }
        err
    }

    fn compile(&self, name: &str, source: &[u8]) -> Result<Function> {
        self.lua
            .load(source)
            .set_name(format!("@{name}"))
            .set_mode(ChunkMode::Text)
            .into_function()
            .map_err(|e| from_lua_error(&e))
    }
}

/// The registry in Lua: a table per module, a metatable'd handle per
/// object, and a waiting bridge as an async function inside coroutines.
struct LuaLayout<'a> {
    engine: &'a LuaEngine,
    /// The prelude's choice, at each call, between a waiting bridge's
    /// yielding and its in-place form.
    pick: Function,
    /// The prelude's object maker: `object(new, methods)`.
    object: Function,
}

impl Layout for LuaLayout<'_> {
    type Function = Function;
    type Error = mlua::Error;

    fn function(&mut self, id: BridgeId) -> mlua::Result<Function> {
        let e = self.engine;
        let bridge = e.session.registry().get(id);
        match (bridge.module(), bridge.body.is_some()) {
            // A global waits in place; `print` is Lua's own tostring.
            (None, _) if bridge.name == "print" => e.print_fn(id),
            (None, _) | (Some(_), false) => e.bridge_fn(id),
            (Some(_), true) => self.pick.call((e.waiting_fn(id)?, e.bridge_fn(id)?)),
        }
    }

    fn object(
        &mut self,
        _id: BridgeId,
        make: Function,
        methods: Vec<(&'static str, Function)>,
    ) -> mlua::Result<Function> {
        let lua = &self.engine.lua;
        let m = lua.create_table()?;
        for (name, f) in methods {
            m.raw_set(name, f)?;
        }
        self.object.call((make, m))
    }

    fn module(
        &mut self,
        name: &'static str,
        members: Vec<(&'static str, Function)>,
    ) -> mlua::Result<()> {
        let lua = &self.engine.lua;
        let t = lua.create_table()?;
        for (member, f) in members {
            t.raw_set(member, f)?;
        }
        lua.globals().raw_set(name, t)
    }

    fn global(&mut self, name: &'static str, f: Function) -> mlua::Result<()> {
        self.engine.lua.globals().raw_set(name, f)
    }
}

impl Engine for LuaEngine {
    fn run_main(&mut self, name: &str, source: &[u8]) -> Result<Value> {
        let f = self.compile(name, source)?;
        self.chunk_result(f)
    }

    fn eval(&mut self, source: &str) -> Result<Value> {
        // An expression prints its value; anything else runs as statements.
        let f = match self.compile("repl", format!("return {source}").as_bytes()) {
            Ok(f) => f,
            Err(_) => self.compile("repl", source.as_bytes())?,
        };
        self.chunk_result(f)
    }

    fn is_incomplete(&self, source: &str) -> bool {
        let as_expr = self.lua.load(format!("return {source}")).into_function();
        if as_expr.is_ok() {
            return false;
        }
        matches!(
            self.lua.load(source).into_function(),
            Err(mlua::Error::SyntaxError {
                incomplete_input: true,
                ..
            })
        )
    }

    fn emit(&mut self, topic: &str, data: Value) -> Result<()> {
        let mut host = LuaHost {
            lua: &self.lua,
            session: &self.session,
            frames: None,
        };
        self.session.emit(&mut host, topic, || data)
    }
}

impl Drop for LuaEngine {
    fn drop(&mut self) {
        self.session.release_callbacks();
    }
}

/// One bridge call from Lua: through the dispatcher, the result back as a
/// Lua value, an error raised with the calling line.
#[inline]
fn call_bridge(lua: &Lua, s: &Rc<Session>, id: usize, values: ArgList) -> mlua::Result<LuaValue> {
    let mut host = LuaHost {
        lua,
        session: s,
        frames: None,
    };
    match s.dispatch(id, values, &mut host) {
        Ok(v) => to_lua(lua, v),
        Err(e) => Err(ext(e.at(location(lua)))),
    }
}

/// What a caught error looks like to Lua: bridge errors become their
/// `code: message` text; a tripped limit is raised again instead.
fn caught(lua: &Lua, s: &Session, e: &LuaValue) -> mlua::Result<LuaValue> {
    s.check_stop().map_err(ext)?;
    match e {
        LuaValue::Error(inner) => {
            let err = from_lua_error(inner);
            if err.code.is_fatal() {
                return Err(ext(s.trip(err.code)));
            }
            Ok(LuaValue::String(lua.create_string(err.to_string())?))
        }
        LuaValue::String(text) => {
            let text = text.to_string_lossy();
            if text == "not enough memory" {
                return Err(ext(s.trip(ErrorCode::LimitMemory)));
            }
            // With no call_depth, Lua's own stack overflow is an ordinary
            // error, as in Lua (Lua's stack is on the heap, under the cap).
            if text.ends_with("stack overflow") && s.limits().call_depth > 0 {
                return Err(ext(s.trip(ErrorCode::LimitDepth)));
            }
            Ok(e.clone())
        }
        other => Ok(other.clone()),
    }
}

/// A line event: the debugger's line breakpoints and line steps.
fn at_line(lua: &Lua, s: &Rc<Session>, debug: &Debug) -> mlua::Result<()> {
    let Some(line) = debug.current_line() else {
        return Ok(());
    };
    let mut frames = Frames {
        lua: lua.clone(),
        session: s.clone(),
    };
    // Asked only when the line is one to pause at: only the spell's own
    // file has lines to break at.
    let file = || {
        let src = debug.source();
        src.source
            .as_deref()
            .unwrap_or_default()
            .starts_with('@')
            .then(|| src.short_src.as_deref().unwrap_or_default().to_owned())
    };
    crate::session::debug::at_line(s, line as u32, &mut frames, file).map_err(ext)
}

/// How deeply Rust callbacks may nest in a debugged run with the locals
/// at a line pause still right (see [`fill_failure_pool`]).
const FAILURE_POOL: usize = 128;

/// Works around mlua (0.12): before each Rust callback it sets aside room
/// for an error, from a pool; with the pool empty it makes the room at the
/// bottom of the current Lua frame, which inside a hook is the hooked
/// function's own, so while a line pause runs, that function's locals
/// read one slot off (a `workflow.map` function's first item showed
/// `item = "<function>", i = "a"`). A debugged run fills the pool first by
/// nesting `depth` callbacks once: each gives its room back to the pool as
/// it returns.
fn fill_failure_pool(lua: &Lua, depth: usize) -> mlua::Result<()> {
    let nest = lua.create_function(|_, (me, n): (Function, usize)| match n {
        0 => Ok(()),
        n => me.call::<()>((me.clone(), n - 1)),
    })?;
    nest.call::<()>((nest.clone(), depth))
}

/// The script line that called into Rust, from the Lua stack.
fn location(lua: &Lua) -> Option<Location> {
    (1..8).find_map(|level| {
        lua.inspect_stack(level, |d| {
            let line = d.current_line()?;
            let src = d.source();
            if !src.source.as_deref().unwrap_or_default().starts_with('@') {
                return None;
            }
            let file = src.short_src.as_deref()?.to_owned();
            Some(Location {
                file,
                line: line as u32,
            })
        })
        .flatten()
    })
}

struct LuaHost<'a> {
    lua: &'a Lua,
    session: &'a Rc<Session>,
    /// The spell's frames, made when a debugger asks for them.
    frames: Option<Frames>,
}

impl crate::session::ScriptHost for LuaHost<'_> {
    fn call(&mut self, f: &Callback, args: Vec<Value>) -> Result<Value> {
        let func = f
            .downcast::<Function>()
            .ok_or_else(|| Error::new(ErrorCode::ValueInvalid, "a function from another engine"))?;
        let mut lua_args = MultiValue::with_capacity(args.len());
        for a in args {
            lua_args.push_back(to_lua(self.lua, a).map_err(|e| internal(&e))?);
        }
        match func.call::<LuaValue>(lua_args) {
            Ok(v) => from_lua(&v, self.session),
            Err(e) => {
                let err = from_lua_error(&e);
                Err(if err.code.is_fatal() {
                    self.session.trip(err.code)
                } else {
                    err
                })
            }
        }
    }

    fn location(&mut self) -> Option<Location> {
        location(self.lua)
    }

    fn inspect(&mut self) -> Option<&mut dyn Inspect> {
        let (lua, session) = (self.lua, self.session);
        Some(self.frames.get_or_insert_with(|| Frames {
            lua: lua.clone(),
            session: session.clone(),
        }))
    }

    fn waiting(&self) -> Rc<dyn AsyncHost> {
        Rc::new(LuaAsync {
            lua: self.lua.weak(),
            session: self.session.clone(),
        })
    }
}

/// Where a waiting bridge was called from: the Lua state, for the place
/// and locals a debugger shows, and the engine its body will use.
struct CallSite<'a> {
    lua: &'a Lua,
    later: &'a Rc<dyn AsyncHost>,
    frames: Option<Frames>,
}

impl crate::session::ScriptHost for CallSite<'_> {
    fn call(&mut self, f: &Callback, args: Vec<Value>) -> Result<Value> {
        self.later.call(f, args)
    }

    fn location(&mut self) -> Option<Location> {
        location(self.lua)
    }

    fn inspect(&mut self) -> Option<&mut dyn Inspect> {
        let (lua, session) = (self.lua, self.later.session());
        Some(self.frames.get_or_insert_with(|| Frames {
            lua: lua.clone(),
            session: session.clone(),
        }))
    }

    /// Live: when the call returns, its coroutine is the running thread again.
    fn keep(&mut self) -> Option<Box<dyn Inspect>> {
        Some(Box::new(Frames {
            lua: self.lua.clone(),
            session: self.later.session().clone(),
        }))
    }

    fn waiting(&self) -> Rc<dyn AsyncHost> {
        self.later.clone()
    }
}

/// The Lua engine as a waiting bridge's body sees it. Weak: bodies live in
/// Lua's own coroutines, which must not keep the state alive.
struct LuaAsync {
    lua: WeakLua,
    session: Rc<Session>,
}

impl LuaAsync {
    fn lua(&self) -> Result<Lua> {
        self.lua
            .try_upgrade()
            .ok_or_else(|| Error::new(ErrorCode::Cancelled, "the spell has ended"))
    }
}

impl AsyncHost for LuaAsync {
    fn session(&self) -> &Rc<Session> {
        &self.session
    }

    /// Lua counts from 1.
    fn position(&self, index: usize) -> Value {
        Value::Int(index as i64 + 1)
    }

    fn call(&self, f: &Callback, args: Vec<Value>) -> Result<Value> {
        let lua = self.lua()?;
        LuaHost {
            lua: &lua,
            session: &self.session,
            frames: None,
        }
        .call(f, args)
    }

    fn call_waiting(
        &self,
        f: &Callback,
        args: Vec<Value>,
    ) -> LocalBoxFuture<'static, Result<Value>> {
        let prepared = (|| {
            let lua = self.lua()?;
            let func = f.downcast::<Function>().cloned().ok_or_else(|| {
                Error::new(ErrorCode::ValueInvalid, "a function from another engine")
            })?;
            let mut lua_args = MultiValue::with_capacity(args.len());
            for a in args {
                lua_args.push_back(to_lua(&lua, a).map_err(|e| internal(&e))?);
            }
            Ok(func.call_async::<LuaValue>(lua_args))
        })();
        let session = self.session.clone();
        Box::pin(async move {
            match prepared?.await {
                Ok(v) => from_lua(&v, &session),
                Err(e) => {
                    let err = from_lua_error(&e);
                    Err(if err.code.is_fatal() {
                        session.trip(err.code)
                    } else {
                        err
                    })
                }
            }
        })
    }
}

fn internal(e: &mlua::Error) -> Error {
    Error::new(ErrorCode::SpellError, format!("Lua engine: {e}"))
}

/// Compiles without running.
pub(crate) fn check(name: &str, source: &[u8]) -> Result<()> {
    let lua = Lua::new_with(StdLib::NONE, LuaOptions::new()).map_err(|e| internal(&e))?;
    lua.load(source)
        .set_name(format!("@{name}"))
        .set_mode(ChunkMode::Text)
        .into_function()
        .map(|_| ())
        .map_err(|e| from_lua_error(&e))
}
