//! What crosses between Lua and the host: a Lua value into data (a
//! sequence is an array, string keys a map, a few holes nulls; anything
//! else is `value.invalid` with its path), metered against the spell's
//! limits; data back into Lua values; and mlua's errors as coded errors
//! with the spell's line. Never calls into the spell's code.

use std::ffi::c_void;

use mlua::{Function, Lua, Table, Value as LuaValue};

use super::split_location;

use crate::error::{Error, ErrorCode, Location, Result};
use crate::session::Session;
use crate::value::{Callback, Map, Meter, Path, Value};

/// The registry name of the metatable that marks an empty table as an array.
pub(super) const EMPTY_ARRAY: &str = "llmspell.empty_array";

/// The most bytes of a string argument read straight off Lua's stack
/// (see [`StackArg`]): its copy is made before the meter sees it, so it
/// must be small; a longer one is metered first, as any value is.
const STACK_STR_BYTES: usize = 256;

/// The one argument of a one-argument bridge, read straight off Lua's
/// stack: a short string as its own text, with none of the bookkeeping
/// mlua does for every `Value` it hands out (a reference to the string,
/// made and dropped), which was a fifth of `json.decode("1")`.
pub(super) enum StackArg {
    /// A short string: its text, or `None` when it is not UTF-8.
    Short(Option<String>),
    Other(LuaValue),
}

impl mlua::FromLua for StackArg {
    fn from_lua(v: LuaValue, _: &Lua) -> mlua::Result<Self> {
        Ok(StackArg::Other(v))
    }

    unsafe fn from_stack(idx: std::ffi::c_int, lua: &mlua::state::RawLua) -> mlua::Result<Self> {
        use mlua::ffi;
        let state = lua.state();
        // SAFETY: `idx` is a valid index of the callback's own stack (mlua
        // gives only those); a string's bytes stay put while it is there,
        // and are copied before this returns.
        unsafe {
            if ffi::lua_type(state, idx) == ffi::LUA_TSTRING {
                let mut len = 0;
                let data = ffi::lua_tolstring(state, idx, &mut len);
                if len <= STACK_STR_BYTES {
                    let bytes = std::slice::from_raw_parts(data.cast::<u8>(), len);
                    let text = std::str::from_utf8(bytes).ok().map(str::to_owned);
                    return Ok(StackArg::Short(text));
                }
            }
            LuaValue::from_stack(idx, lua).map(StackArg::Other)
        }
    }
}

impl StackArg {
    /// As data, metered as [`arg_from_lua`] meters it.
    pub(super) fn into_value(self, s: &Session) -> Result<Value> {
        match self {
            StackArg::Short(text) => string_value(text, &Path::argument(0), &mut s.meter()),
            StackArg::Other(v) => arg_from_lua(&v, 0, s),
        }
    }

    pub(super) fn is_nil(&self) -> bool {
        matches!(self, StackArg::Other(LuaValue::Nil))
    }
}

/// A Lua string as data (`None`: it is not UTF-8), metered before it is
/// copied (a `String` given is moved, not copied).
fn string_value<S: AsRef<str> + Into<String>>(
    text: Option<S>,
    path: &Path,
    meter: &mut Meter,
) -> Result<Value> {
    let text = text.ok_or_else(|| path.invalid("a string that is not valid UTF-8"))?;
    meter.charge_node(text.as_ref().len())?;
    Ok(Value::Str(text.into()))
}

/// A bridge argument from Lua; the path starts at the argument.
#[inline]
pub(super) fn arg_from_lua(v: &LuaValue, index: usize, s: &Session) -> Result<Value> {
    match v {
        // The fast path: scalars need no path bookkeeping.
        LuaValue::Nil => Ok(Value::Null),
        LuaValue::Boolean(b) => Ok(Value::Bool(*b)),
        LuaValue::Integer(i) => Ok(Value::Int(*i)),
        LuaValue::Number(n) => Ok(Value::Float(*n)),
        other => convert(
            other,
            &mut Path::argument(index),
            &mut Vec::new(),
            &mut s.meter(),
        ),
    }
}

/// A Lua value as data; the copy is metered against the spell's limits.
pub(crate) fn from_lua(v: &LuaValue, s: &Session) -> Result<Value> {
    convert(v, &mut Path::root(), &mut Vec::new(), &mut s.meter())
}

pub(super) fn convert(
    v: &LuaValue,
    path: &mut Path,
    seen: &mut Vec<*const c_void>,
    meter: &mut Meter,
) -> Result<Value> {
    Ok(match v {
        LuaValue::Nil => Value::Null,
        LuaValue::Boolean(b) => Value::Bool(*b),
        LuaValue::Integer(i) => Value::Int(*i),
        LuaValue::Number(n) => Value::Float(*n),
        LuaValue::String(s) => string_value(s.to_str().ok().as_deref(), path, meter)?,
        LuaValue::Table(t) => table(t, path, seen, meter)?,
        LuaValue::Function(f) => Value::Func(Callback::new(f.clone())),
        LuaValue::Error(e) => Value::Str(from_lua_error(e).to_string()),
        other => {
            return Err(path.invalid(format!(
                "a Lua {} cannot cross the bridge",
                other.type_name()
            )))
        }
    })
}

pub(super) fn table(
    t: &Table,
    path: &mut Path,
    seen: &mut Vec<*const c_void>,
    meter: &mut Meter,
) -> Result<Value> {
    let ptr = t.to_pointer();
    if seen.contains(&ptr) {
        return Err(path.invalid("a cycle: this table contains itself"));
    }
    path.check_depth()?;
    meter.charge_node(0)?;
    let mut ints: Vec<(i64, LuaValue)> = Vec::new();
    let mut strs: Vec<(String, LuaValue)> = Vec::new();
    for pair in t.pairs::<LuaValue, LuaValue>() {
        let (k, v) = pair.map_err(|e| path.invalid(e))?;
        meter.charge(std::mem::size_of::<(i64, LuaValue)>())?;
        match k {
            LuaValue::Integer(i) if i >= 1 => ints.push((i, v)),
            LuaValue::String(s) => match s.to_str() {
                Ok(key) => strs.push((key.to_owned(), v)),
                Err(_) => return Err(path.invalid("a key that is not valid UTF-8")),
            },
            other => {
                return Err(path.invalid(format!(
                    "a {} key ({}); keys must be strings (a map) or 1..n (an array)",
                    other.type_name(),
                    other.to_string().unwrap_or_default()
                )))
            }
        }
    }
    if ints.is_empty() && strs.is_empty() {
        let marked = t
            .metatable()
            .is_some_and(|mt| mt.raw_get::<bool>(EMPTY_ARRAY).unwrap_or(false));
        return Ok(if marked {
            Value::Array(Vec::new())
        } else {
            Value::Map(Map::new())
        });
    }
    seen.push(ptr);
    let out = if !ints.is_empty() && !strs.is_empty() {
        return Err(path.invalid("a table with both array items and string keys"));
    } else if !ints.is_empty() {
        let count = ints.len();
        let max = ints.iter().map(|(i, _)| *i).max().unwrap_or(0) as usize;
        if max > (2 * count).max(10) {
            return Err(path.invalid(format!(
                "a sparse array ({count} items, highest index {max})"
            )));
        }
        meter.reserve(max)?;
        let mut items = vec![Value::Null; max];
        for (i, v) in ints {
            path.push_index(i as usize - 1);
            items[i as usize - 1] = convert(&v, path, seen, meter)?;
            path.pop();
        }
        Value::Array(items)
    } else {
        let mut map = Map::new();
        for (k, v) in strs {
            meter.charge(k.len())?;
            path.push_key(&k);
            let item = convert(&v, path, seen, meter)?;
            path.pop();
            map.insert(k, item);
        }
        Value::Map(map)
    };
    seen.pop();
    Ok(out)
}

#[inline]
pub(crate) fn to_lua(lua: &Lua, v: Value) -> mlua::Result<LuaValue> {
    Ok(match v {
        // Scalars first: the hot path of every trivial bridge call.
        Value::Int(i) => LuaValue::Integer(i),
        Value::Null => LuaValue::Nil,
        Value::Bool(b) => LuaValue::Boolean(b),
        Value::Float(f) => LuaValue::Number(f),
        Value::Str(s) => LuaValue::String(lua.create_string(s)?),
        Value::Array(items) if items.is_empty() => {
            // Marked, so an empty array goes back out as [] and not {}.
            let t = lua.create_table()?;
            t.set_metatable(Some(lua.named_registry_value::<Table>(EMPTY_ARRAY)?))?;
            LuaValue::Table(t)
        }
        Value::Array(items) => {
            let t = lua.create_table_with_capacity(items.len(), 0)?;
            for (i, item) in items.into_iter().enumerate() {
                t.raw_set(i + 1, to_lua(lua, item)?)?;
            }
            LuaValue::Table(t)
        }
        Value::Map(map) => {
            let t = lua.create_table_with_capacity(0, map.len())?;
            for (k, item) in map {
                t.raw_set(k, to_lua(lua, item)?)?;
            }
            LuaValue::Table(t)
        }
        Value::Func(cb) => match cb.downcast::<Function>() {
            Some(f) => LuaValue::Function(f.clone()),
            None => {
                return Err(mlua::Error::external(Error::new(
                    ErrorCode::ValueInvalid,
                    "a function from another engine cannot be called from Lua",
                )))
            }
        },
    })
}

/// An mlua error as a coded error, with the spell location when Lua gave one.
pub(super) fn from_lua_error(e: &mlua::Error) -> Error {
    match e {
        mlua::Error::CallbackError { cause, .. } => from_lua_error(cause),
        mlua::Error::WithContext { cause, .. } => from_lua_error(cause),
        mlua::Error::ExternalError(inner) => match inner.downcast_ref::<Error>() {
            Some(ours) => ours.clone(),
            None => Error::new(ErrorCode::SpellError, inner.to_string()),
        },
        mlua::Error::SyntaxError { message, .. } => {
            with_lua_location(ErrorCode::SpellSyntax, message)
        }
        mlua::Error::RuntimeError(message) => {
            // Lua's own traceback repeats what the location already says.
            let message = &message
                .split_once("\nstack traceback:")
                .map_or(message.as_str(), |(m, _)| m)
                .to_owned();
            // Recursion past Lua's stack (or its C stack, through
            // metamethods) is the depth limit; a C function refused room
            // for its values ("stack overflow (string slice too long)") is
            // an ordinary error, with Lua's message.
            if message.ends_with("stack overflow") {
                return Error::new(ErrorCode::LimitDepth, message.clone());
            }
            let mut err = with_lua_location(ErrorCode::SpellError, message);
            if err.code == ErrorCode::SpellError {
                err = Error::from_script(&err.message).at(err.location);
            }
            err
        }
        mlua::Error::MemoryError(_) => Error::new(ErrorCode::LimitMemory, "out of memory"),
        mlua::Error::BadArgument { cause, .. } => from_lua_error(cause),
        other => Error::new(ErrorCode::SpellError, other.to_string()),
    }
}

/// Splits Lua's `file:line: message` into a location and the message.
fn with_lua_location(code: ErrorCode, message: &str) -> Error {
    // short_src of a chunk named "@x.lua" is "x.lua"; find "NAME:LINE:".
    let first = message.lines().next().unwrap_or(message);
    if let Some(colon) = first.find(':') {
        let file = &first[..colon];
        if let Some((line, msg)) = split_location(message, file) {
            return Error::new(code, msg).at(Some(Location {
                file: file.to_owned(),
                line,
            }));
        }
    }
    Error::new(code, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lua_value(lua: &Lua, src: &str) -> LuaValue {
        lua.load(src).eval().unwrap()
    }

    fn convert_src(src: &str) -> Result<Value> {
        let lua = Lua::new();
        let mt = lua.create_table().unwrap();
        mt.raw_set(EMPTY_ARRAY, true).unwrap();
        lua.set_named_registry_value(EMPTY_ARRAY, mt).unwrap();
        convert(
            &lua_value(&lua, src),
            &mut Path::root(),
            &mut Vec::new(),
            &mut Meter::unlimited(),
        )
    }

    #[test]
    fn sequences_are_arrays_and_string_keys_are_maps() {
        let v = convert_src("return { 1, 'two', { a = true } }").unwrap();
        assert_eq!(
            v.to_json().unwrap(),
            serde_json::json!([1, "two", {"a": true}])
        );
        assert_eq!(
            convert_src("return {}").unwrap().to_json().unwrap(),
            serde_json::json!({})
        );
    }

    #[test]
    fn a_few_holes_become_nulls_and_sparse_tables_are_refused() {
        let v = convert_src("return { 1, nil, 3 }").unwrap();
        assert_eq!(v.to_json().unwrap(), serde_json::json!([1, null, 3]));
        let e = convert_src("return { [1] = 1, [1000] = 2 }").unwrap_err();
        assert_eq!(e.code, ErrorCode::ValueInvalid);
        assert!(e.message.contains("sparse"), "{}", e.message);
    }

    #[test]
    fn keys_that_are_not_strings_or_positions_are_refused_with_the_path() {
        let e = convert_src("return { list = { { [true] = 1 } } }").unwrap_err();
        assert_eq!(e.code, ErrorCode::ValueInvalid);
        assert!(e.message.contains("$.list[0]"), "{}", e.message);
        assert!(e.message.contains("boolean key"), "{}", e.message);
        let e = convert_src("return { 1, 2, x = 3 }").unwrap_err();
        assert!(
            e.message.contains("both array items and string keys"),
            "{}",
            e.message
        );
        let e = convert_src("return { [1.5] = 1 }").unwrap_err();
        assert!(e.message.contains("number key"), "{}", e.message);
    }

    #[test]
    fn strings_must_be_utf8() {
        let e = convert_src("return { s = '\\255' }").unwrap_err();
        assert!(e.message.contains("not valid UTF-8"), "{}", e.message);
    }

    #[test]
    fn lua_error_text_splits_into_place_and_message() {
        let e = from_lua_error(&mlua::Error::RuntimeError("spell.lua:7: boom".into()));
        assert_eq!(e.code, ErrorCode::SpellError);
        assert_eq!(e.message, "boom");
        assert_eq!(e.location.unwrap().line, 7);
        let e = from_lua_error(&mlua::Error::RuntimeError(
            "x.lua:2: state.io: disk gone\nstack traceback:\n\t[C]: in ?".into(),
        ));
        assert_eq!(e.code, ErrorCode::StateIo);
        assert_eq!(e.message, "disk gone");
    }
}
