//! Lua's library functions whose C loops run for as long as the spell
//! says, without ever returning to the VM (where the instruction hook
//! would see them): `string.rep` of an empty string, `table.insert`,
//! `remove`, `move`, `concat` and `sort` over a length that `__len`, or a
//! border of a table holding a few dozen keys (`t[1], t[2], t[4], ...`),
//! puts in the quintillions while the table holds nothing, and `utf8.len`
//! and `utf8.offset` over a long string. Lua's allocator is wrapped too
//! ([`AllocMeter`]): work that copies bytes meets the clock by the bytes.
//!
//! Each is Lua's own algorithm, over the same C API (so the same argument
//! checks, messages, metamethod calls and results), with one addition:
//! every [`TICK`] steps it asks the spell's limits, and a tripped limit
//! raises at once. They are real C functions, so an error names the
//! function as the caller called it and places itself at the caller's
//! line, exactly as Lua's do. Nothing here may hold a Rust value that
//! needs dropping across a call into Lua: an error leaves by `longjmp`.

use std::cell::Cell;
use std::ffi::{c_char, c_int, c_void};
use std::rc::Rc;

use mlua::ffi::{self, lua_Integer, lua_State, lua_Unsigned};
use mlua::{Lua, Table};

use crate::error::Error;

/// The limits are asked every this many steps of a loop.
const TICK: u32 = 1024;

/// What a loop asks, with the steps it took since it last asked: `Err`
/// once the spell must stop. The steps count as the spell's instructions.
pub(crate) type Guard = Box<dyn Fn(u64) -> Result<(), Error>>;

/// Where the guard's address sits in the registry.
const GUARD: &std::ffi::CStr = c"llmspell.guard";

/// Lua 5.4's `MAXSIZE` for `string.rep` on a 64-bit machine.
const MAXSIZE: usize = i32::MAX as usize;

/// Installs the functions over `string`, `table` and `utf8`, and the guard
/// their loops ask (kept alive by the Lua state itself).
pub(crate) fn install(
    lua: &Lua,
    [string, table, utf8]: [&Table; 3],
    guard: Guard,
) -> mlua::Result<()> {
    let boxed: Box<Guard> = Box::new(guard);
    let ptr = &*boxed as *const Guard as *mut c_void;
    lua.set_app_data(boxed);
    lua.set_named_registry_value(GUARD.to_str().unwrap_or_default(), mlua::LightUserData(ptr))?;
    // SAFETY: each is a well-formed lua_CFunction over the C API.
    unsafe {
        string.raw_set("rep", lua.create_c_function(str_rep)?)?;
        table.raw_set("insert", lua.create_c_function(tinsert)?)?;
        table.raw_set("remove", lua.create_c_function(tremove)?)?;
        table.raw_set("move", lua.create_c_function(tmove)?)?;
        table.raw_set("concat", lua.create_c_function(tconcat)?)?;
        table.raw_set("sort", lua.create_c_function(sort)?)?;
        utf8.raw_set("len", lua.create_c_function(utf8_len)?)?;
        utf8.raw_set("offset", lua.create_c_function(utf8_offset)?)?;
    }
    Ok(())
}

/// Counts a step; every [`TICK`] steps a tripped limit raises here.
#[inline]
unsafe fn tick(l: *mut lua_State, steps: &mut u32) {
    *steps = steps.wrapping_add(1);
    if (*steps).is_multiple_of(TICK) {
        check(l);
    }
}

#[cold]
unsafe fn check(l: *mut lua_State) {
    if let Some(guard) = guard(l) {
        if let Err(e) = guard(u64::from(TICK)) {
            raise_limit(l, e);
        }
    }
}

/// The spell's guard, when this Lua state has one.
pub(crate) unsafe fn guard<'a>(l: *mut lua_State) -> Option<&'a Guard> {
    ffi::lua_getfield(l, ffi::LUA_REGISTRYINDEX, GUARD.as_ptr());
    let guard = ffi::lua_touserdata(l, -1) as *const Guard;
    ffi::lua_pop(l, 1);
    guard.as_ref()
}

/// Raises a tripped limit. Its text carries the code; the limit is
/// already tripped, so no `pcall` keeps it (see the engine's prelude).
pub(crate) unsafe fn raise_limit(l: *mut lua_State, e: Error) -> ! {
    let text = e.to_string();
    drop(e);
    ffi::lua_pushlstring(l, text.as_ptr() as *const c_char, text.len());
    drop(text);
    ffi::lua_error(l)
}

/// Lua's `luaL_typeerror`: "bad argument #n to 'f' (T expected, got U)".
pub(crate) unsafe fn type_error(l: *mut lua_State, arg: c_int, expected: &std::ffi::CStr) -> ! {
    let got = if ffi::luaL_getmetafield(l, arg, c"__name".as_ptr()) == ffi::LUA_TSTRING {
        std::ffi::CStr::from_ptr(ffi::lua_tolstring(l, -1, std::ptr::null_mut()))
            .to_string_lossy()
            .into_owned()
    } else if ffi::lua_type(l, arg) == ffi::LUA_TLIGHTUSERDATA {
        "light userdata".to_owned()
    } else {
        std::ffi::CStr::from_ptr(ffi::luaL_typename(l, arg))
            .to_string_lossy()
            .into_owned()
    };
    let text = format!("{} expected, got {got}", expected.to_string_lossy());
    ffi::lua_pushlstring(l, text.as_ptr() as *const c_char, text.len());
    drop((got, text));
    let msg = ffi::lua_tolstring(l, -1, std::ptr::null_mut());
    ffi::luaL_argerror(l, arg, msg);
    unreachable!("luaL_argerror raises")
}

unsafe extern "C-unwind" fn str_rep(l: *mut lua_State) -> c_int {
    let mut len = 0usize;
    let mut lsep = 0usize;
    let s = ffi::luaL_checklstring(l, 1, &mut len);
    let n = ffi::luaL_checkinteger(l, 2);
    let sep = ffi::luaL_optlstring(l, 3, c"".as_ptr(), &mut lsep);
    // An empty piece repeated any number of times is empty: Lua's own loop
    // would copy nothing n times, for ever.
    if n <= 0 || len + lsep == 0 {
        ffi::lua_pushstring(l, c"".as_ptr());
        return 1;
    }
    match len.checked_add(lsep) {
        Some(piece) if piece <= MAXSIZE / (n as usize) => {}
        _ => return ffi::luaL_error(l, c"resulting string too large".as_ptr()),
    }
    let total = (n as usize) * len + (n as usize - 1) * lsep;
    let mut b: ffi::luaL_Buffer = std::mem::zeroed();
    let mut p = ffi::luaL_buffinitsize(l, &mut b, total);
    let mut left = n;
    while left > 1 {
        std::ptr::copy_nonoverlapping(s, p, len);
        p = p.add(len);
        if lsep > 0 {
            std::ptr::copy_nonoverlapping(sep, p, lsep);
            p = p.add(lsep);
        }
        left -= 1;
    }
    std::ptr::copy_nonoverlapping(s, p, len);
    ffi::luaL_pushresultsize(&mut b, total);
    1
}

const TAB_R: c_int = 1;
const TAB_W: c_int = 2;
const TAB_L: c_int = 4;

unsafe fn checkfield(l: *mut lua_State, key: &std::ffi::CStr, n: c_int) -> bool {
    ffi::lua_pushstring(l, key.as_ptr());
    ffi::lua_rawget(l, -n) != ffi::LUA_TNIL
}

/// A table, or something with a metatable that makes it behave like one.
unsafe fn checktab(l: *mut lua_State, arg: c_int, what: c_int) {
    if ffi::lua_type(l, arg) != ffi::LUA_TTABLE {
        let mut n = 1;
        let ok = ffi::lua_getmetatable(l, arg) != 0
            && (what & TAB_R == 0 || {
                n += 1;
                checkfield(l, c"__index", n)
            })
            && (what & TAB_W == 0 || {
                n += 1;
                checkfield(l, c"__newindex", n)
            })
            && (what & TAB_L == 0 || {
                n += 1;
                checkfield(l, c"__len", n)
            });
        if ok {
            ffi::lua_pop(l, n);
        } else {
            ffi::luaL_checktype(l, arg, ffi::LUA_TTABLE);
        }
    }
}

unsafe fn aux_getn(l: *mut lua_State, n: c_int, what: c_int) -> lua_Integer {
    checktab(l, n, what | TAB_L);
    ffi::luaL_len(l, n)
}

unsafe extern "C-unwind" fn tinsert(l: *mut lua_State) -> c_int {
    let mut steps = 0u32;
    let e = aux_getn(l, 1, TAB_R | TAB_W).wrapping_add(1);
    let pos = match ffi::lua_gettop(l) {
        2 => e,
        3 => {
            let pos = ffi::luaL_checkinteger(l, 2);
            if (pos as lua_Unsigned).wrapping_sub(1) >= e as lua_Unsigned {
                ffi::luaL_argerror(l, 2, c"position out of bounds".as_ptr());
            }
            let mut i = e;
            while i > pos {
                tick(l, &mut steps);
                ffi::lua_geti(l, 1, i - 1);
                ffi::lua_seti(l, 1, i);
                i -= 1;
            }
            pos
        }
        _ => return ffi::luaL_error(l, c"wrong number of arguments to 'insert'".as_ptr()),
    };
    ffi::lua_seti(l, 1, pos);
    0
}

unsafe extern "C-unwind" fn tremove(l: *mut lua_State) -> c_int {
    let mut steps = 0u32;
    let size = aux_getn(l, 1, TAB_R | TAB_W);
    let mut pos = ffi::luaL_optinteger(l, 2, size);
    if pos != size && (pos as lua_Unsigned).wrapping_sub(1) > size as lua_Unsigned {
        ffi::luaL_argerror(l, 2, c"position out of bounds".as_ptr());
    }
    ffi::lua_geti(l, 1, pos);
    while pos < size {
        tick(l, &mut steps);
        ffi::lua_geti(l, 1, pos + 1);
        ffi::lua_seti(l, 1, pos);
        pos += 1;
    }
    ffi::lua_pushnil(l);
    ffi::lua_seti(l, 1, pos);
    1
}

unsafe extern "C-unwind" fn tmove(l: *mut lua_State) -> c_int {
    let mut steps = 0u32;
    let f = ffi::luaL_checkinteger(l, 2);
    let e = ffi::luaL_checkinteger(l, 3);
    let t = ffi::luaL_checkinteger(l, 4);
    let tt = if ffi::lua_isnoneornil(l, 5) == 0 {
        5
    } else {
        1
    };
    checktab(l, 1, TAB_R);
    checktab(l, tt, TAB_W);
    if e >= f {
        if !(f > 0 || e < lua_Integer::MAX.wrapping_add(f)) {
            ffi::luaL_argerror(l, 3, c"too many elements to move".as_ptr());
        }
        let n = e - f + 1;
        if t > lua_Integer::MAX - n + 1 {
            ffi::luaL_argerror(l, 4, c"destination wrap around".as_ptr());
        }
        if t > e || t <= f || (tt != 1 && ffi::lua_compare(l, 1, tt, ffi::LUA_OPEQ) == 0) {
            let mut i = 0;
            while i < n {
                tick(l, &mut steps);
                ffi::lua_geti(l, 1, f + i);
                ffi::lua_seti(l, tt, t + i);
                i += 1;
            }
        } else {
            let mut i = n - 1;
            while i >= 0 {
                tick(l, &mut steps);
                ffi::lua_geti(l, 1, f + i);
                ffi::lua_seti(l, tt, t + i);
                i -= 1;
            }
        }
    }
    ffi::lua_pushvalue(l, tt);
    1
}

unsafe fn addfield(l: *mut lua_State, b: *mut ffi::luaL_Buffer, i: lua_Integer) {
    ffi::lua_geti(l, 1, i);
    if ffi::lua_isstring(l, -1) == 0 {
        ffi::luaL_error(
            l,
            c"invalid value (%s) at index %I in table for 'concat'".as_ptr(),
            ffi::luaL_typename(l, -1),
            i,
        );
    }
    ffi::luaL_addvalue(b);
}

unsafe extern "C-unwind" fn tconcat(l: *mut lua_State) -> c_int {
    let mut steps = 0u32;
    let mut b: ffi::luaL_Buffer = std::mem::zeroed();
    let last = aux_getn(l, 1, TAB_R);
    let mut lsep = 0usize;
    let sep = ffi::luaL_optlstring(l, 2, c"".as_ptr(), &mut lsep);
    let mut i = ffi::luaL_optinteger(l, 3, 1);
    let last = ffi::luaL_optinteger(l, 4, last);
    ffi::luaL_buffinit(l, &mut b);
    while i < last {
        tick(l, &mut steps);
        addfield(l, &mut b, i);
        ffi::luaL_addlstring(&mut b, sep, lsep);
        i += 1;
    }
    if i == last {
        addfield(l, &mut b, i);
    }
    ffi::luaL_pushresult(&mut b);
    1
}

// Quicksort, as Lua's own: the same comparisons in the same order, so an
// inconsistent order function fails (or not) as it does in Lua.

/// Arrays larger than this may use randomized pivots.
const RANLIMIT: u32 = 100;

/// A "random" number to pick pivots with after a bad partition, from the
/// clock as Lua's own takes it.
fn randomize_pivot() -> u32 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (now.as_secs() as u32).wrapping_add(now.subsec_nanos())
}

unsafe fn set2(l: *mut lua_State, i: u32, j: u32) {
    ffi::lua_seti(l, 1, lua_Integer::from(i));
    ffi::lua_seti(l, 1, lua_Integer::from(j));
}

unsafe fn sort_comp(l: *mut lua_State, a: c_int, b: c_int) -> bool {
    if ffi::lua_isnil(l, 2) != 0 {
        ffi::lua_compare(l, a, b, ffi::LUA_OPLT) != 0
    } else {
        ffi::lua_pushvalue(l, 2);
        ffi::lua_pushvalue(l, a - 1);
        ffi::lua_pushvalue(l, b - 2);
        ffi::lua_call(l, 2, 1);
        let res = ffi::lua_toboolean(l, -1) != 0;
        ffi::lua_pop(l, 1);
        res
    }
}

unsafe fn invalid_order(l: *mut lua_State) {
    ffi::luaL_error(l, c"invalid order function for sorting".as_ptr());
}

unsafe fn partition(l: *mut lua_State, lo: u32, up: u32, steps: &mut u32) -> u32 {
    let mut i = lo;
    let mut j = up - 1;
    loop {
        loop {
            i = i.wrapping_add(1);
            ffi::lua_geti(l, 1, lua_Integer::from(i));
            if !sort_comp(l, -1, -2) {
                break;
            }
            if i == up - 1 {
                invalid_order(l);
            }
            ffi::lua_pop(l, 1);
            tick(l, steps);
        }
        loop {
            j = j.wrapping_sub(1);
            ffi::lua_geti(l, 1, lua_Integer::from(j));
            if !sort_comp(l, -3, -1) {
                break;
            }
            if j < i {
                invalid_order(l);
            }
            ffi::lua_pop(l, 1);
            tick(l, steps);
        }
        if j < i {
            ffi::lua_pop(l, 1);
            set2(l, up - 1, i);
            return i;
        }
        set2(l, i, j);
        tick(l, steps);
    }
}

fn choose_pivot(lo: u32, up: u32, rnd: u32) -> u32 {
    let r4 = (up - lo) / 4;
    rnd % (r4 * 2) + (lo + r4)
}

unsafe fn auxsort(l: *mut lua_State, mut lo: u32, mut up: u32, mut rnd: u32, steps: &mut u32) {
    while lo < up {
        tick(l, steps);
        ffi::lua_geti(l, 1, lua_Integer::from(lo));
        ffi::lua_geti(l, 1, lua_Integer::from(up));
        if sort_comp(l, -1, -2) {
            set2(l, lo, up);
        } else {
            ffi::lua_pop(l, 2);
        }
        if up - lo == 1 {
            return;
        }
        let mut p = if up - lo < RANLIMIT || rnd == 0 {
            (lo + up) / 2
        } else {
            choose_pivot(lo, up, rnd)
        };
        ffi::lua_geti(l, 1, lua_Integer::from(p));
        ffi::lua_geti(l, 1, lua_Integer::from(lo));
        if sort_comp(l, -2, -1) {
            set2(l, p, lo);
        } else {
            ffi::lua_pop(l, 1);
            ffi::lua_geti(l, 1, lua_Integer::from(up));
            if sort_comp(l, -1, -2) {
                set2(l, p, up);
            } else {
                ffi::lua_pop(l, 2);
            }
        }
        if up - lo == 2 {
            return;
        }
        ffi::lua_geti(l, 1, lua_Integer::from(p));
        ffi::lua_pushvalue(l, -1);
        ffi::lua_geti(l, 1, lua_Integer::from(up - 1));
        set2(l, p, up - 1);
        p = partition(l, lo, up, steps);
        let n;
        if p - lo < up - p {
            auxsort(l, lo, p - 1, rnd, steps);
            n = p - lo;
            lo = p + 1;
        } else {
            auxsort(l, p + 1, up, rnd, steps);
            n = up - p;
            up = p - 1;
        }
        if (up.wrapping_sub(lo)) / 128 > n {
            rnd = randomize_pivot();
        }
    }
}

unsafe extern "C-unwind" fn sort(l: *mut lua_State) -> c_int {
    let mut steps = 0u32;
    let n = aux_getn(l, 1, TAB_R | TAB_W);
    if n > 1 {
        if n >= lua_Integer::from(i32::MAX) {
            ffi::luaL_argerror(l, 1, c"array too big".as_ptr());
        }
        if ffi::lua_isnoneornil(l, 2) == 0 {
            ffi::luaL_checktype(l, 2, ffi::LUA_TFUNCTION);
        }
        ffi::lua_settop(l, 2);
        auxsort(l, 1, n as u32, 0, &mut steps);
    }
    0
}

// Lua's `pcall`, `xpcall` and `setmetatable`, as C functions with Lua's
// own checks and messages, plus what the sandbox needs: a caught error
// goes through the prelude's `fix` (a bridge's error becomes its
// `code: message` text; a tripped limit is raised again, so no `pcall`
// keeps it), a message handler sees the error as `pcall` would give it,
// and a metatable with `__gc` is refused (Lua runs finalizers with hooks
// off, where no limit could stop them). `pcall` and `xpcall` stay
// yieldable (a continuation), as Lua's are.

/// Where the prelude's `fix` and `errstr` sit in the registry.
pub(crate) const FIX: &std::ffi::CStr = c"llmspell.fix";
pub(crate) const ERRSTR: &std::ffi::CStr = c"llmspell.errstr";

/// Installs `pcall`, `xpcall`, `setmetatable` and `load` over `globals`.
pub(crate) fn install_base(lua: &Lua, globals: &Table) -> mlua::Result<()> {
    // SAFETY: each is a well-formed lua_CFunction over the C API.
    unsafe {
        globals.raw_set("pcall", lua.create_c_function(pcall)?)?;
        globals.raw_set("xpcall", lua.create_c_function(xpcall)?)?;
        globals.raw_set("setmetatable", lua.create_c_function(setmetatable)?)?;
        globals.raw_set("load", lua.create_c_function(load)?)?;
    }
    Ok(())
}

unsafe extern "C-unwind" fn pcall(l: *mut lua_State) -> c_int {
    ffi::luaL_checkany(l, 1);
    ffi::lua_pushboolean(l, 1);
    ffi::lua_insert(l, 1);
    let n = ffi::lua_gettop(l) - 2;
    let status = ffi::lua_pcallk(l, n, ffi::LUA_MULTRET, 0, 0, Some(finish_pcall));
    finish_pcall(l, status, 0)
}

unsafe extern "C-unwind" fn finish_pcall(
    l: *mut lua_State,
    status: c_int,
    extra: ffi::lua_KContext,
) -> c_int {
    if status != ffi::LUA_OK && status != ffi::LUA_YIELD {
        fixed(l);
        return 2;
    }
    ffi::lua_gettop(l) - extra as c_int
}

/// `fix(false, err)` over the error on top: pushes false and the error as
/// a spell sees it, or raises the limit again.
unsafe fn fixed(l: *mut lua_State) {
    ffi::lua_getfield(l, ffi::LUA_REGISTRYINDEX, FIX.as_ptr());
    ffi::lua_pushboolean(l, 0);
    ffi::lua_pushvalue(l, -3);
    ffi::lua_call(l, 2, 2);
}

unsafe extern "C-unwind" fn xpcall(l: *mut lua_State) -> c_int {
    let n = ffi::lua_gettop(l);
    ffi::luaL_checktype(l, 2, ffi::LUA_TFUNCTION);
    ffi::lua_pushvalue(l, 2);
    ffi::lua_pushcclosure(l, message_handler, 1);
    ffi::lua_replace(l, 2);
    ffi::lua_pushboolean(l, 1);
    ffi::lua_pushvalue(l, 1);
    ffi::lua_rotate(l, 3, 2);
    let status = ffi::lua_pcallk(l, n - 2, ffi::LUA_MULTRET, 2, 2, Some(finish_pcall));
    finish_pcall(l, status, 2)
}

/// The spell's message handler, given the error as `pcall` would give it.
unsafe extern "C-unwind" fn message_handler(l: *mut lua_State) -> c_int {
    ffi::lua_settop(l, 1);
    ffi::lua_getfield(l, ffi::LUA_REGISTRYINDEX, ERRSTR.as_ptr());
    ffi::lua_insert(l, 1);
    ffi::lua_call(l, 1, 1);
    ffi::lua_pushvalue(l, ffi::lua_upvalueindex(1));
    ffi::lua_insert(l, 1);
    ffi::lua_call(l, 1, 1);
    1
}

unsafe extern "C-unwind" fn setmetatable(l: *mut lua_State) -> c_int {
    let t = ffi::lua_type(l, 2);
    ffi::luaL_checktype(l, 1, ffi::LUA_TTABLE);
    if t != ffi::LUA_TNIL && t != ffi::LUA_TTABLE {
        type_error(l, 2, c"nil or table");
    }
    if ffi::luaL_getmetafield(l, 1, c"__metatable".as_ptr()) != ffi::LUA_TNIL {
        return ffi::luaL_error(l, c"cannot change a protected metatable".as_ptr());
    }
    if t == ffi::LUA_TTABLE {
        ffi::lua_pushstring(l, c"__gc".as_ptr());
        if ffi::lua_rawget(l, 2) != ffi::LUA_TNIL {
            return ffi::luaL_error(
                l,
                c"sandbox.denied: __gc (finalizers) is not available to spells; the host is reached only through the bridges".as_ptr(),
            );
        }
        ffi::lua_pop(l, 1);
    }
    ffi::lua_settop(l, 2);
    ffi::lua_setmetatable(l, 1);
    1
}

/// Lua's `load`, source text only: a string or a reader function, Lua's
/// chunk names (`[string "..."]`, `=(load)`), Lua's `(nil, message)` on a
/// syntax error or a chunk its mode refuses, and `env` as Lua sets it. A
/// binary chunk that its mode would allow is refused the same way, with
/// `sandbox.denied` as the message.
unsafe extern "C-unwind" fn load(l: *mut lua_State) -> c_int {
    const RESERVED: c_int = 5;
    let mut len = 0usize;
    let s = ffi::lua_tolstring(l, 1, &mut len);
    let mut mode_len = 0usize;
    let mode = ffi::luaL_optlstring(l, 3, c"bt".as_ptr(), &mut mode_len);
    let binary_allowed = std::slice::from_raw_parts(mode as *const u8, mode_len).contains(&b'b');
    let env = if ffi::lua_isnone(l, 4) == 0 { 4 } else { 0 };
    let mut watch = Watch::FirstByte;
    let status = if !s.is_null() {
        if binary_allowed && len > 0 && *s as u8 == BYTECODE_SIGNATURE {
            return deny_bytecode(l);
        }
        let name = ffi::luaL_optlstring(l, 2, s, std::ptr::null_mut());
        ffi::luaL_loadbufferx(l, s, len, name, mode)
    } else {
        let name = ffi::luaL_optlstring(l, 2, c"=(load)".as_ptr(), std::ptr::null_mut());
        ffi::luaL_checktype(l, 1, ffi::LUA_TFUNCTION);
        ffi::lua_settop(l, RESERVED);
        let seen: *mut Watch = if binary_allowed {
            &mut watch
        } else {
            std::ptr::null_mut()
        };
        ffi::lua_load(l, reader, seen.cast(), name, mode)
    };
    if watch == Watch::Binary {
        return deny_bytecode(l);
    }
    if status == ffi::LUA_OK {
        if env != 0 {
            ffi::lua_pushvalue(l, env);
            if ffi::lua_setupvalue(l, -2, 1).is_null() {
                ffi::lua_pop(l, 1);
            }
        }
        1
    } else if status == ffi::LUA_ERRMEM {
        // The memory cap: a limit, raised again by fix, never a result.
        fixed(l);
        ffi::lua_pushnil(l);
        ffi::lua_replace(l, -3);
        2
    } else {
        ffi::lua_pushnil(l);
        ffi::lua_insert(l, -2);
        2
    }
}

/// The first byte of a precompiled chunk (`"\x1bLua"`).
const BYTECODE_SIGNATURE: u8 = 0x1b;

/// `load`'s answer to bytecode: `nil` and the reason, as Lua answers any
/// chunk it cannot load (`assert(load(...))` raises it).
unsafe fn deny_bytecode(l: *mut lua_State) -> c_int {
    ffi::lua_pushnil(l);
    ffi::lua_pushstring(
        l,
        c"sandbox.denied: loading precompiled bytecode is not available to spells; the host is reached only through the bridges".as_ptr(),
    );
    2
}

/// `load`'s reader: calls the spell's function for each piece. With a
/// [`Watch`] (the mode allows binary), a chunk whose first byte is
/// bytecode's ends the read at once and is marked, so no bytecode ever
/// reaches Lua's undumper.
unsafe extern "C-unwind" fn reader(
    l: *mut lua_State,
    watch: *mut std::ffi::c_void,
    size: *mut usize,
) -> *const c_char {
    const RESERVED: c_int = 5;
    ffi::luaL_checkstack(l, 2, c"too many nested functions".as_ptr());
    ffi::lua_pushvalue(l, 1);
    ffi::lua_call(l, 0, 1);
    if ffi::lua_isnil(l, -1) != 0 {
        ffi::lua_pop(l, 1);
        *size = 0;
        return std::ptr::null();
    }
    if ffi::lua_isstring(l, -1) == 0 {
        ffi::luaL_error(l, c"reader function must return a string".as_ptr());
    }
    ffi::lua_replace(l, RESERVED);
    let piece = ffi::lua_tolstring(l, RESERVED, size);
    let watch = watch.cast::<Watch>();
    if !watch.is_null() && *size > 0 && *watch == Watch::FirstByte {
        // Only the chunk's first byte tells; later pieces pass as they are.
        if *piece as u8 == BYTECODE_SIGNATURE {
            *watch = Watch::Binary;
            *size = 0;
            return std::ptr::null();
        }
        *watch = Watch::Text;
    }
    piece
}

/// What `load`'s reader has seen of a chunk whose mode allows binary.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Watch {
    FirstByte,
    Text,
    Binary,
}

/// Lua's `u_posrelat`: a negative position counts back from the end.
fn posrelat(pos: lua_Integer, len: usize) -> lua_Integer {
    if pos >= 0 {
        pos
    } else if pos.unsigned_abs() > len as u64 {
        0
    } else {
        len as lua_Integer + pos + 1
    }
}

/// The byte at `i` of a Lua string, which ends in a `'\0'` Lua reads.
fn byte_at(s: &[u8], i: usize) -> u32 {
    u32::from(s.get(i).copied().unwrap_or(0))
}

fn is_cont(s: &[u8], i: usize) -> bool {
    byte_at(s, i) & 0xC0 == 0x80
}

/// Lua's `utf8_decode`: the index just past the sequence at `i`, or
/// `None` for an invalid one (with `strict`, also for surrogates and
/// code points past U+10FFFF).
fn utf8_decode(s: &[u8], i: usize, strict: bool) -> Option<usize> {
    const LIMITS: [u32; 6] = [!0, 0x80, 0x800, 0x1_0000, 0x20_0000, 0x400_0000];
    let mut c = byte_at(s, i);
    let mut res: u32;
    let mut count = 0usize;
    if c < 0x80 {
        res = c;
    } else if c >= 0xfe {
        return None;
    } else {
        res = 0;
        while c & 0x40 != 0 {
            count += 1;
            let cc = byte_at(s, i + count);
            if cc & 0xC0 != 0x80 {
                return None;
            }
            res = (res << 6) | (cc & 0x3F);
            c <<= 1;
        }
        res |= (c & 0x7F) << (count * 5);
        if res > 0x7FFF_FFFF || res < LIMITS[count] {
            return None;
        }
    }
    if strict && (res > 0x10_FFFF || (0xD800..=0xDFFF).contains(&res)) {
        return None;
    }
    Some(i + count + 1)
}

/// The bytes of the string at `idx` (checked as Lua's library checks).
pub(crate) unsafe fn check_bytes<'a>(l: *mut lua_State, idx: c_int) -> &'a [u8] {
    let mut len = 0usize;
    let p = ffi::luaL_checklstring(l, idx, &mut len);
    std::slice::from_raw_parts(p as *const u8, len)
}

/// Lua's `utf8.len`, asking the limits as it walks a long string.
unsafe extern "C-unwind" fn utf8_len(l: *mut lua_State) -> c_int {
    let s = check_bytes(l, 1);
    let len = s.len() as lua_Integer;
    let mut posi = posrelat(ffi::luaL_optinteger(l, 2, 1), s.len());
    let mut posj = posrelat(ffi::luaL_optinteger(l, 3, -1), s.len());
    let lax = ffi::lua_toboolean(l, 4) != 0;
    if !(1 <= posi && {
        posi -= 1;
        posi <= len
    }) {
        ffi::luaL_argerror(l, 2, c"initial position out of bounds".as_ptr());
    }
    posj -= 1;
    if posj >= len {
        ffi::luaL_argerror(l, 3, c"final position out of bounds".as_ptr());
    }
    let mut n: lua_Integer = 0;
    let mut steps = 0u32;
    while posi <= posj {
        tick(l, &mut steps);
        match utf8_decode(s, posi as usize, !lax) {
            Some(next) => posi = next as lua_Integer,
            None => {
                ffi::lua_pushnil(l);
                ffi::lua_pushinteger(l, posi + 1);
                return 2;
            }
        }
        n += 1;
    }
    ffi::lua_pushinteger(l, n);
    1
}

/// Lua's `utf8.offset`, asking the limits as it walks a long string.
unsafe extern "C-unwind" fn utf8_offset(l: *mut lua_State) -> c_int {
    let s = check_bytes(l, 1);
    let len = s.len() as lua_Integer;
    let mut n = ffi::luaL_checkinteger(l, 2);
    let default = if n >= 0 { 1 } else { len + 1 };
    let mut posi = posrelat(ffi::luaL_optinteger(l, 3, default), s.len());
    if !(1 <= posi && {
        posi -= 1;
        posi <= len
    }) {
        ffi::luaL_argerror(l, 3, c"position out of bounds".as_ptr());
    }
    let mut steps = 0u32;
    let cont = |p: lua_Integer| is_cont(s, p as usize);
    if n == 0 {
        while posi > 0 && cont(posi) {
            tick(l, &mut steps);
            posi -= 1;
        }
    } else {
        if cont(posi) {
            return ffi::luaL_error(l, c"initial position is a continuation byte".as_ptr());
        }
        if n < 0 {
            while n < 0 && posi > 0 {
                loop {
                    tick(l, &mut steps);
                    posi -= 1;
                    if !(posi > 0 && cont(posi)) {
                        break;
                    }
                }
                n += 1;
            }
        } else {
            n -= 1;
            while n > 0 && posi < len {
                loop {
                    tick(l, &mut steps);
                    posi += 1;
                    if !cont(posi) {
                        break;
                    }
                }
                n -= 1;
            }
        }
    }
    if n == 0 {
        ffi::lua_pushinteger(l, posi + 1);
    } else {
        ffi::lua_pushnil(l);
    }
    1
}

/// How much a spell may allocate between two looks at the clock.
const ALLOC_CHECK_BYTES: usize = 1 << 20;

/// Lua's allocator, wrapped so that work measured in bytes meets the
/// limits: one VM instruction or one library call can copy megabytes (`s ..
/// s`, `s:upper()`, `string.format`, `load` of a long source), so a loop
/// of such steps runs thousands of times longer between two instruction
/// hooks than a loop of small ones. Every [`ALLOC_CHECK_BYTES`] allocated,
/// the deadline is read; once the run is stopped (a limit, the stop key)
/// every allocation that would grow memory fails, which Lua raises as its
/// memory error at that very step, and the engine reports as the stop's
/// reason. Frees and shrinks always go through, as Lua requires. Dropping
/// the meter gives the state back its own allocator.
pub(crate) struct AllocMeter {
    state: *mut lua_State,
    meter: *mut Meter,
}

impl Default for AllocMeter {
    /// No meter (yet).
    fn default() -> Self {
        AllocMeter {
            state: std::ptr::null_mut(),
            meter: std::ptr::null_mut(),
        }
    }
}

/// Whether the run is stopped; with `true`, after reading the clock (and
/// tripping the time limit when it has passed).
pub(crate) type Stopped = Box<dyn Fn(bool) -> bool>;

struct Meter {
    inner: ffi::lua_Alloc,
    inner_ud: *mut c_void,
    stopped: Stopped,
    since: usize,
    /// The bytes the state holds, kept as it allocates: reading it costs
    /// nothing, where asking Lua (`lua_gc` with `LUA_GCCOUNT`) costs two
    /// calls into the VM each time a value crosses the bridge.
    used: Rc<Cell<usize>>,
}

impl AllocMeter {
    /// Wraps the allocator of `lua`'s state; `used` then follows the bytes
    /// the state holds.
    pub(crate) fn install(lua: &Lua, stopped: Stopped, used: Rc<Cell<usize>>) -> AllocMeter {
        used.set(lua.used_memory());
        let mut installed = AllocMeter::default();
        // SAFETY: the state is alive and on this thread; the meter lives
        // until Drop puts the original allocator back.
        let _ = unsafe {
            lua.exec_raw::<()>((), |state| {
                // The main thread lives as long as the state does.
                ffi::lua_rawgeti(state, ffi::LUA_REGISTRYINDEX, ffi::LUA_RIDX_MAINTHREAD);
                let main = ffi::lua_tothread(state, -1);
                ffi::lua_pop(state, 1);
                let mut inner_ud = std::ptr::null_mut();
                let inner = ffi::lua_getallocf(main, &mut inner_ud);
                let meter = Box::into_raw(Box::new(Meter {
                    inner,
                    inner_ud,
                    stopped,
                    since: 0,
                    used,
                }));
                ffi::lua_setallocf(main, metered_alloc, meter.cast());
                installed = AllocMeter { state: main, meter };
            })
        };
        installed
    }
}

impl Drop for AllocMeter {
    fn drop(&mut self) {
        if self.meter.is_null() {
            return;
        }
        // SAFETY: the state outlives this meter (the engine drops the
        // meter first); after this no call reaches `metered_alloc`.
        unsafe {
            let meter = Box::from_raw(self.meter);
            ffi::lua_setallocf(self.state, meter.inner, meter.inner_ud);
        }
    }
}

unsafe extern "C" fn metered_alloc(
    ud: *mut c_void,
    ptr: *mut c_void,
    osize: usize,
    nsize: usize,
) -> *mut c_void {
    let meter = &mut *ud.cast::<Meter>();
    // With no block, `osize` names the kind of object, not a size.
    let old = if ptr.is_null() { 0 } else { osize };
    let grows = nsize.saturating_sub(old);
    if grows > 0 {
        meter.since += grows;
        let read_clock = meter.since >= ALLOC_CHECK_BYTES;
        if read_clock {
            meter.since = 0;
        }
        if (meter.stopped)(read_clock) {
            return std::ptr::null_mut();
        }
    }
    let out = (meter.inner)(meter.inner_ud, ptr, osize, nsize);
    if nsize == 0 || !out.is_null() {
        meter.used.set(meter.used.get().saturating_sub(old) + nsize);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `code` in a Lua with its own `utf8` library and in one with ours:
    /// the same text out (results, errors and their messages).
    fn run(code: &str, ours: bool) -> String {
        let lua = Lua::new();
        if ours {
            let g = lua.globals();
            let tables: [Table; 3] = ["string", "table", "utf8"].map(|n| g.get(n).unwrap());
            install(
                &lua,
                [&tables[0], &tables[1], &tables[2]],
                Box::new(|_| Ok(())),
            )
            .unwrap();
        }
        let wrapped = format!(
            "local out = {{}}\n\
             local function show(...) local t = table.pack(...) for i = 1, t.n do out[#out + 1] = tostring(t[i]) end out[#out + 1] = '|' end\n\
             {code}\n\
             return table.concat(out, ' ')"
        );
        lua.load(wrapped).set_name("=t").eval::<String>().unwrap()
    }

    #[test]
    fn utf8_len_and_offset_agree_with_lua_on_generated_calls() {
        let subjects = [
            "",
            "abc",
            "h\u{e9}llo",
            "\u{20ac}\u{1f600}x",
            "\u{10ffff}",
            "\\xff",
            "a\\x80b",
            "\\xed\\xa0\\x80",
            "\\xf4\\x90\\x80\\x80",
            "\\xc0\\x80",
            "\\xfd\\xbf\\xbf\\xbf\\xbf\\xbf",
            "\\xe2\\x82",
            "\u{e9}\\x80",
        ];
        let positions = [
            "nil", "1", "2", "3", "-1", "-2", "0", "5", "7", "100", "-100",
        ];
        let mut code = String::new();
        for s in subjects {
            for i in positions {
                for j in ["nil", "-1", "2", "0", "9"] {
                    for lax in ["nil", "true"] {
                        code.push_str(&format!(
                            "show(pcall(utf8.len, \"{s}\", {i}, {j}, {lax}))\n"
                        ));
                    }
                }
                for n in ["0", "1", "2", "3", "-1", "-2", "-3", "10", "-10"] {
                    code.push_str(&format!("show(pcall(utf8.offset, \"{s}\", {n}, {i}))\n"));
                }
            }
        }
        code.push_str(
            "show(pcall(utf8.len)) show(pcall(utf8.len, {})) show(pcall(utf8.offset, 'a'))\n",
        );
        code.push_str("show(pcall(utf8.offset, 'a', 1.5)) show(pcall(utf8.len, 'abc', 'x'))\n");
        let (ours, theirs) = (run(&code, true), run(&code, false));
        assert_eq!(ours, theirs);
        assert!(ours.matches('|').count() > 1000, "{ours}");
    }

    #[test]
    fn utf8_len_over_a_long_string_asks_the_guard() {
        let lua = Lua::new();
        let g = lua.globals();
        let tables: [Table; 3] = ["string", "table", "utf8"].map(|n| g.get(n).unwrap());
        let asked = std::rc::Rc::new(std::cell::Cell::new(0u64));
        let seen = asked.clone();
        let guard: Guard = Box::new(move |steps| {
            seen.set(seen.get() + steps);
            Ok(())
        });
        install(&lua, [&tables[0], &tables[1], &tables[2]], guard).unwrap();
        let n: i64 = lua
            .load("return utf8.len(string.rep('\u{e9}', 100000)) + utf8.offset(string.rep('a', 50000), 40000)")
            .eval()
            .unwrap();
        assert_eq!(n, 140_000);
        assert!(asked.get() >= 100_000, "{}", asked.get());
    }
}
