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
