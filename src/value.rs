//! The JSON-like values that cross the bridge, plus script callbacks.
//!
//! Every engine converts its own values into [`Value`] and back; bridges only
//! ever see [`Value`]. A [`Value`] may hold a script function ([`Callback`]),
//! which only the engine that made it can call; anything that leaves the spell
//! (the event bus, the store, JSON text) goes through [`Value::to_json`], which
//! refuses functions with `value.invalid` and the path of the element.

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;

use crate::error::{Error, ErrorCode};

/// Values nested deeper than this cannot cross the bridge.
pub const MAX_DEPTH: usize = 128;

/// A map with string keys. Sorted, so every engine prints maps alike.
pub type Map = BTreeMap<String, Value>;

/// A JSON-like value, or a script function handed to a bridge.
#[derive(Clone, Default)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Array(Vec<Value>),
    Map(Map),
    Func(Callback),
}

/// A script function, owned by the engine that made it. Bridges keep it as
/// long as they need it (hooks, event handlers) and ask the engine to call it.
#[derive(Clone)]
pub struct Callback(pub Rc<dyn Any>);

impl Callback {
    pub fn new<T: Any>(inner: T) -> Self {
        Callback(Rc::new(inner))
    }

    pub fn downcast<T: Any>(&self) -> Option<&T> {
        self.0.downcast_ref::<T>()
    }
}

impl fmt::Debug for Callback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<function>")
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Func(_) => f.write_str("<function>"),
            other => match other.to_json() {
                Ok(j) => write!(f, "{j}"),
                Err(_) => f.write_str("<value with a function>"),
            },
        }
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a == b,
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::Array(a), Value::Array(b)) => a == b,
            (Value::Map(a), Value::Map(b)) => a == b,
            (Value::Func(a), Value::Func(b)) => Rc::ptr_eq(&a.0, &b.0),
            _ => false,
        }
    }
}

impl Value {
    pub fn str(s: impl Into<String>) -> Self {
        Value::Str(s.into())
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&Map> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The name of this value's kind, as error messages say it.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) => "integer",
            Value::Float(_) => "float",
            Value::Str(_) => "string",
            Value::Array(_) => "array",
            Value::Map(_) => "map",
            Value::Func(_) => "function",
        }
    }

    /// Pure data for the outside world; a function anywhere is `value.invalid`.
    pub fn to_json(&self) -> Result<serde_json::Value, Error> {
        to_json_at(self, &mut Path::root())
    }

    /// As [`Value::to_json`], naming `path` as where this value sits.
    pub fn to_json_in(&self, mut path: Path) -> Result<serde_json::Value, Error> {
        to_json_at(self, &mut path)
    }

    pub fn from_json(j: &serde_json::Value) -> Value {
        match j {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => Value::Str(s.clone()),
            serde_json::Value::Array(a) => Value::Array(a.iter().map(Value::from_json).collect()),
            serde_json::Value::Object(o) => Value::Map(
                o.iter()
                    .map(|(k, v)| (k.clone(), Value::from_json(v)))
                    .collect(),
            ),
        }
    }
}

/// JSON text of `v` (keys sorted; `pretty`: two-space indents), the text
/// metered as it grows: a value whose text would pass the memory cap, or a
/// deadline that passes while it is written, stops it.
/// `path` names where `v` sits in error messages.
pub fn encode(v: &Value, pretty: bool, mut path: Path, meter: &mut Meter) -> Result<String, Error> {
    check_data(v, &mut path)?;
    let mut out = MeteredText {
        text: Vec::new(),
        meter,
        failed: None,
    };
    let written = if pretty {
        serde::Serialize::serialize(
            v,
            &mut serde_json::Serializer::with_formatter(
                &mut out,
                serde_json::ser::PrettyFormatter::new(),
            ),
        )
    } else {
        serde::Serialize::serialize(v, &mut serde_json::Serializer::new(&mut out))
    };
    if let Some(e) = out.failed.take() {
        return Err(e);
    }
    written.map_err(|e| Error::new(ErrorCode::ValueInvalid, e.to_string()))?;
    // serde_json writes only UTF-8.
    String::from_utf8(out.text).map_err(|e| Error::new(ErrorCode::ValueInvalid, e.to_string()))
}

/// The value JSON text holds, each element metered as it is made.
pub fn decode(text: &str, meter: &mut Meter) -> Result<Value, Error> {
    use serde::de::DeserializeSeed;
    let failed = std::cell::RefCell::new(None);
    let meter = std::cell::RefCell::new(meter);
    let mut de = serde_json::Deserializer::from_str(text);
    let seed = Decode {
        meter: &meter,
        failed: &failed,
    };
    let out = seed.deserialize(&mut de).and_then(|v| de.end().map(|()| v));
    if let Some(e) = failed.into_inner() {
        return Err(e);
    }
    out.map_err(|e| Error::new(ErrorCode::ArgsInvalid, format!("not valid JSON: {e}")))
}

/// Fails with the path of the first element JSON cannot hold.
fn check_data(v: &Value, path: &mut Path) -> Result<(), Error> {
    match v {
        Value::Float(f) if !f.is_finite() => {
            Err(path.invalid(format!("{f} is not a finite number")))
        }
        Value::Func(_) => Err(path.invalid("a function cannot be used as data here")),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push_index(i);
                check_data(item, path)?;
                path.pop();
            }
            Ok(())
        }
        Value::Map(map) => {
            for (k, item) in map {
                path.push_key(k);
                check_data(item, path)?;
                path.pop();
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

impl serde::Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error as _, SerializeMap, SerializeSeq};
        match self {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Float(f) if f.is_finite() => s.serialize_f64(*f),
            Value::Float(f) => Err(S::Error::custom(format!("{f} is not a finite number"))),
            Value::Str(text) => s.serialize_str(text),
            Value::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Value::Map(map) => {
                let mut m = s.serialize_map(Some(map.len()))?;
                for (k, item) in map {
                    m.serialize_entry(k, item)?;
                }
                m.end()
            }
            Value::Func(_) => Err(S::Error::custom("a function cannot be used as data here")),
        }
    }
}

/// JSON text growing under a meter.
struct MeteredText<'m, 'a> {
    text: Vec<u8>,
    meter: &'m mut Meter<'a>,
    failed: Option<Error>,
}

impl std::io::Write for MeteredText<'_, '_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Err(e) = self.meter.charge(buf.len()) {
            self.failed = Some(e);
            return Err(std::io::Error::other("limit"));
        }
        self.text.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Decodes straight into [`Value`], charging the meter per element; the
/// meter's error is kept aside, since serde can only carry text.
#[derive(Clone, Copy)]
struct Decode<'r, 'm, 'a> {
    meter: &'r std::cell::RefCell<&'m mut Meter<'a>>,
    failed: &'r std::cell::RefCell<Option<Error>>,
}

impl Decode<'_, '_, '_> {
    fn charge<E: serde::de::Error>(&self, bytes: usize) -> Result<(), E> {
        self.meter.borrow_mut().charge_node(bytes).map_err(|e| {
            *self.failed.borrow_mut() = Some(e);
            E::custom("stopped by a limit")
        })
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for Decode<'_, '_, '_> {
    type Value = Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Decode<'_, '_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Value, E> {
        self.charge(0)?;
        Ok(Value::Null)
    }

    fn visit_bool<E: serde::de::Error>(self, b: bool) -> Result<Value, E> {
        self.charge(0)?;
        Ok(Value::Bool(b))
    }

    fn visit_i64<E: serde::de::Error>(self, i: i64) -> Result<Value, E> {
        self.charge(0)?;
        Ok(Value::Int(i))
    }

    fn visit_u64<E: serde::de::Error>(self, u: u64) -> Result<Value, E> {
        self.charge(0)?;
        Ok(i64::try_from(u).map_or(Value::Float(u as f64), Value::Int))
    }

    fn visit_f64<E: serde::de::Error>(self, f: f64) -> Result<Value, E> {
        self.charge(0)?;
        Ok(Value::Float(f))
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Value, E> {
        self.charge(text.len())?;
        Ok(Value::Str(text.to_owned()))
    }

    fn visit_string<E: serde::de::Error>(self, text: String) -> Result<Value, E> {
        self.charge(text.len())?;
        Ok(Value::Str(text))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.charge(0)?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.charge(0)?;
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            self.charge(key.len())?;
            let item = map.next_value_seed(self)?;
            out.insert(key, item);
        }
        Ok(Value::Map(out))
    }
}

fn to_json_at(v: &Value, path: &mut Path) -> Result<serde_json::Value, Error> {
    Ok(match v {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Int(i) => serde_json::Value::from(*i),
        Value::Float(f) => match serde_json::Number::from_f64(*f) {
            Some(n) => serde_json::Value::Number(n),
            None => return Err(path.invalid(format!("{f} is not a finite number"))),
        },
        Value::Str(s) => serde_json::Value::String(s.clone()),
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                path.push_index(i);
                out.push(to_json_at(item, path)?);
                path.pop();
            }
            serde_json::Value::Array(out)
        }
        Value::Map(map) => {
            let mut out = serde_json::Map::new();
            for (k, item) in map {
                path.push_key(k);
                out.insert(k.clone(), to_json_at(item, path)?);
                path.pop();
            }
            serde_json::Value::Object(out)
        }
        Value::Func(_) => return Err(path.invalid("a function cannot be used as data here")),
    })
}

/// What a [`Meter`] asks when it counts: whether the spell must stop now,
/// and the error for passing its memory. The spell's session answers.
pub trait Limiter {
    /// The stop's reason once the spell was stopped or passed its deadline.
    fn check(&self) -> Result<(), Error>;
    /// Trips `limit.memory` and returns the error to raise.
    fn over_memory(&self) -> Error;
    /// The bytes the spell may still take, if it has a memory cap.
    fn memory_left(&self) -> Option<usize>;
}

/// Counts the host's work on a spell's value (converting it, encoding it,
/// decoding it) against the spell's own limits: every element costs its
/// bytes out of what the memory cap has left, and every few thousand
/// elements the stop flag and the deadline are read. So a value that is
/// small inside the engine but huge once copied (a shared table nested
/// twenty times, a JavaScript array with a length of 1e9) trips
/// `limit.memory` or `limit.time` instead of taking the host's memory.
pub struct Meter<'a> {
    limiter: Option<&'a dyn Limiter>,
    left: usize,
    steps: u32,
}

/// The stop flag and deadline are read every this many elements.
const METER_CHECK_MASK: u32 = 4095;

impl<'a> Meter<'a> {
    /// What the limiter's memory cap has left may be made before
    /// `limit.memory`.
    pub fn new(limiter: &'a dyn Limiter) -> Self {
        Meter {
            limiter: Some(limiter),
            left: limiter.memory_left().unwrap_or(usize::MAX),
            steps: 0,
        }
    }

    /// No limits at all (values the host made itself).
    pub fn unlimited() -> Meter<'static> {
        Meter {
            limiter: None,
            left: usize::MAX,
            steps: 0,
        }
    }

    /// One element of `bytes` bytes.
    #[inline]
    pub fn charge(&mut self, bytes: usize) -> Result<(), Error> {
        if bytes > self.left {
            self.left = 0;
            return Err(self.over());
        }
        self.left -= bytes;
        self.steps = self.steps.wrapping_add(1);
        if self.steps & METER_CHECK_MASK == 0 {
            if let Some(l) = self.limiter {
                l.check()?;
            }
        }
        Ok(())
    }

    /// One value's own cost: its node, plus its text for a string.
    #[inline]
    pub fn charge_node(&mut self, text_len: usize) -> Result<(), Error> {
        self.charge(NODE_BYTES.saturating_add(text_len))
    }

    /// `count` nodes at once, before a container of that many is made:
    /// a length the spell chose never sizes an allocation unchecked.
    pub fn reserve(&mut self, count: usize) -> Result<(), Error> {
        self.charge(count.saturating_mul(NODE_BYTES))
    }

    /// Bytes still allowed.
    pub fn left(&self) -> usize {
        self.left
    }

    fn over(&self) -> Error {
        match self.limiter {
            Some(l) => l.over_memory(),
            None => Error::new(ErrorCode::LimitMemory, "the value is too large to copy"),
        }
    }
}

/// What one [`Value`] costs the host, roughly: the enum itself plus a
/// share of its container.
pub const NODE_BYTES: usize = std::mem::size_of::<Value>() + 16;

impl Value {
    /// What this value costs the host, roughly, as a [`Meter`] counts it.
    pub fn weight(&self) -> usize {
        NODE_BYTES
            + match self {
                Value::Str(s) => s.len(),
                Value::Array(items) => items.iter().map(Value::weight).sum(),
                Value::Map(map) => map.iter().map(|(k, v)| k.len() + v.weight()).sum(),
                _ => 0,
            }
    }
}

/// Where an element sits inside a value, for `value.invalid` messages:
/// `$`, `$.messages[2].role`.
#[derive(Debug, Clone, Default)]
pub struct Path {
    /// Set when the value is a bridge call's argument (zero-based).
    arg: Option<usize>,
    parts: Vec<PathPart>,
}

#[derive(Debug, Clone)]
enum PathPart {
    Key(String),
    Index(usize),
}

impl Path {
    pub fn root() -> Self {
        Path::default()
    }

    /// The root of argument `index` (zero-based) of a bridge call.
    pub fn argument(index: usize) -> Self {
        Path {
            arg: Some(index),
            parts: Vec::new(),
        }
    }

    pub fn depth(&self) -> usize {
        self.parts.len()
    }

    pub fn push_key(&mut self, key: &str) {
        self.parts.push(PathPart::Key(key.to_owned()));
    }

    /// Zero-based; engines with one-based arrays convert before pushing.
    pub fn push_index(&mut self, index: usize) {
        self.parts.push(PathPart::Index(index));
    }

    pub fn pop(&mut self) {
        self.parts.pop();
    }

    /// The key or index this element sits at, as text (`""` at the root),
    /// as `JSON.stringify` passes it to `toJSON`.
    pub fn last_key(&self) -> String {
        match self.parts.last() {
            Some(PathPart::Key(k)) => k.clone(),
            Some(PathPart::Index(i)) => i.to_string(),
            None => String::new(),
        }
    }

    /// Fails with `value.invalid` when one more level would pass [`MAX_DEPTH`].
    pub fn check_depth(&self) -> Result<(), Error> {
        if self.parts.len() >= MAX_DEPTH {
            Err(self.invalid(format!("nesting deeper than {MAX_DEPTH} levels (a cycle?)")))
        } else {
            Ok(())
        }
    }

    pub fn invalid(&self, what: impl fmt::Display) -> Error {
        Error::new(ErrorCode::ValueInvalid, format!("at {self}: {what}"))
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(i) = self.arg {
            write!(f, "argument {}", i + 1)?;
            if self.parts.is_empty() {
                return Ok(());
            }
            f.write_str(", ")?;
        }
        f.write_str("$")?;
        for part in &self.parts {
            match part {
                PathPart::Key(k) if is_ident(k) => write!(f, ".{k}")?,
                PathPart::Key(k) => write!(f, "[{k:?}]")?,
                PathPart::Index(i) => write!(f, "[{i}]")?,
            }
        }
        Ok(())
    }
}

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_keeps_integers_apart_from_floats() {
        let j: serde_json::Value =
            serde_json::from_str(r#"{"a":[1,2.5,null,"x"],"b":true}"#).unwrap();
        let v = Value::from_json(&j);
        let Value::Map(m) = &v else {
            panic!("map expected")
        };
        let Value::Array(a) = &m["a"] else {
            panic!("array expected")
        };
        assert!(matches!(a[0], Value::Int(1)));
        assert!(matches!(a[1], Value::Float(f) if f == 2.5));
        assert_eq!(v.to_json().unwrap(), j);
    }

    #[test]
    fn functions_and_nan_are_refused_with_their_path() {
        let mut m = Map::new();
        m.insert(
            "list".into(),
            Value::Array(vec![Value::Int(1), Value::Func(Callback::new(()))]),
        );
        let err = Value::Map(m.clone()).to_json().unwrap_err();
        assert_eq!(err.code, ErrorCode::ValueInvalid);
        assert!(err.message.contains("$.list[1]"), "{}", err.message);

        m.insert("list".into(), Value::Float(f64::NAN));
        let err = Value::Map(m).to_json().unwrap_err();
        assert!(err.message.contains("$.list"), "{}", err.message);
    }

    #[test]
    fn paths_quote_keys_that_are_not_identifiers() {
        let mut p = Path::root();
        p.push_key("a b");
        p.push_index(3);
        p.push_key("ok");
        assert_eq!(p.to_string(), r#"$["a b"][3].ok"#);
    }
}
