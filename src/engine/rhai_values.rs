//! Rhai values and errors as llmspell's: a value across the bridge (its
//! copy metered against the spell's limits) and back, and Rhai's errors as
//! coded ones with the spell's place.

use rhai::{Dynamic, EvalAltResult, FnPtr, ImmutableString, Position};

use super::skeleton;
use crate::error::{Error, ErrorCode, Location, Result};
use crate::session::Session;
use crate::value::{Callback, Map, Meter, Path, Value};

/// Rhai nests native frames per call level (over 20 KiB each in a debug
/// build); this many fit the spell thread's stack with room to spare.
pub(super) const MAX_CALL_LEVELS: usize = 1000;

/// A Rhai value as data; the copy is metered against the spell's limits.
pub(super) fn from_rhai(d: &Dynamic, s: &Session) -> Result<Value> {
    convert(d, &mut Path::root(), &mut s.meter())
}

pub(super) fn convert(d: &Dynamic, path: &mut Path, meter: &mut Meter) -> Result<Value> {
    if d.is_shared() {
        return convert(&d.flatten_clone(), path, meter);
    }
    if d.is_unit() {
        return Ok(Value::Null);
    }
    if let Ok(b) = d.as_bool() {
        return Ok(Value::Bool(b));
    }
    if let Ok(i) = d.as_int() {
        return Ok(Value::Int(i));
    }
    if let Ok(f) = d.as_float() {
        return Ok(Value::Float(f));
    }
    if let Ok(c) = d.as_char() {
        return Ok(Value::Str(c.to_string()));
    }
    if let Some(s) = d.read_lock::<ImmutableString>() {
        meter.charge_node(s.len())?;
        return Ok(Value::Str(s.to_string()));
    }
    if let Some(items) = d.read_lock::<rhai::Array>() {
        path.check_depth()?;
        meter.reserve(items.len())?;
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            path.push_index(i);
            out.push(convert(item, path, meter)?);
            path.pop();
        }
        return Ok(Value::Array(out));
    }
    if let Some(map) = d.read_lock::<rhai::Map>() {
        path.check_depth()?;
        meter.charge_node(0)?;
        let mut out = Map::new();
        for (k, item) in map.iter() {
            meter.charge_node(k.len())?;
            path.push_key(k);
            out.insert(k.to_string(), convert(item, path, meter)?);
            path.pop();
        }
        return Ok(Value::Map(out));
    }
    if let Some(blob) = d.read_lock::<rhai::Blob>() {
        meter.reserve(blob.len())?;
        return Ok(Value::Array(
            blob.iter().map(|b| Value::Int(i64::from(*b))).collect(),
        ));
    }
    if let Some(fp) = d.read_lock::<FnPtr>() {
        return Ok(Value::Func(Callback::new(fp.clone())));
    }
    Err(path.invalid(format!("a Rhai {} cannot cross the bridge", d.type_name())))
}

pub(super) fn to_rhai(v: Value) -> Dynamic {
    match v {
        Value::Null => Dynamic::UNIT,
        Value::Bool(b) => Dynamic::from_bool(b),
        Value::Int(i) => Dynamic::from_int(i),
        Value::Float(f) => Dynamic::from_float(f),
        Value::Str(s) => Dynamic::from(ImmutableString::from(s)),
        Value::Array(items) => Dynamic::from_array(items.into_iter().map(to_rhai).collect()),
        Value::Map(map) => Dynamic::from_map(
            map.into_iter()
                .map(|(k, v)| (k.into(), to_rhai(v)))
                .collect(),
        ),
        Value::Func(cb) => match cb.downcast::<FnPtr>() {
            Some(fp) => Dynamic::from(fp.clone()),
            None => Dynamic::UNIT,
        },
    }
}

pub(super) fn location(source: Option<&str>, pos: Position, fallback: &str) -> Option<Location> {
    pos.line().map(|line| Location {
        file: source.unwrap_or(fallback).to_owned(),
        line: line as u32,
    })
}

pub(super) fn parse_error(e: &rhai::ParseError, name: &str) -> Error {
    Error::new(ErrorCode::SpellSyntax, e.err_type().to_string()).at(location(
        None,
        e.position(),
        name,
    ))
}

pub(super) fn rhai_error(e: &EvalAltResult, s: &Session) -> Error {
    if let Some(code) = s.stop_handle().reason() {
        return s.stop_error(code);
    }
    let name = &s.info.name;
    match e {
        EvalAltResult::ErrorInFunctionCall(_, src, inner, pos) => {
            let mut err = rhai_error(inner, s);
            if err.location.is_none() {
                err.location = location(Some(src.as_str()).filter(|s| !s.is_empty()), *pos, name);
            }
            err
        }
        EvalAltResult::ErrorRuntime(v, pos) => {
            let text = if v.is_string() {
                v.to_string()
            } else {
                format!("{v:?}")
            };
            Error::from_script(&text).at(location(None, *pos, name))
        }
        EvalAltResult::ErrorParsing(p, pos) => {
            Error::new(ErrorCode::SpellSyntax, p.to_string()).at(location(None, *pos, name))
        }
        EvalAltResult::ErrorModuleNotFound(module, pos) => {
            skeleton::no_modules(&format!("import of {module:?}")).at(location(None, *pos, name))
        }
        EvalAltResult::ErrorStackOverflow(pos) => {
            let mut err = s.trip(ErrorCode::LimitDepth);
            let depth = s.limits().call_depth as usize;
            if depth == 0 || depth > MAX_CALL_LEVELS {
                err.message = format!("calls nested deeper than {MAX_CALL_LEVELS}, Rhai's most");
            }
            err.at(location(None, *pos, name))
        }
        EvalAltResult::ErrorDataTooLarge(what, pos) => {
            let mut err = s.trip(ErrorCode::LimitMemory);
            err.message = format!("{} ({what} too large)", err.message);
            err.at(location(None, *pos, name))
        }
        EvalAltResult::ErrorTerminated(token, pos) => {
            let code = token
                .clone()
                .into_immutable_string()
                .ok()
                .and_then(|t| ErrorCode::parse(&t))
                .unwrap_or(ErrorCode::Cancelled);
            s.stop_error(code).at(location(None, *pos, name))
        }
        other => {
            let mut text = other.to_string();
            // Rhai appends " (line N, position M)"; the location says it.
            if let Some(i) = text.rfind(" (line ") {
                text.truncate(i);
            }
            Error::new(ErrorCode::SpellError, text).at(location(None, other.position(), name))
        }
    }
}
