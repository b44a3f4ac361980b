//! Reading a bridge call's arguments, with `args.invalid` errors that name
//! the function, the argument and what was expected.

use crate::error::{Error, Result};
use crate::value::{Callback, Map, Value};

/// A bridge call's argument list: up to four stay off the heap, which keeps
/// the dispatcher's fast path free of allocation.
pub type ArgList = smallvec::SmallVec<[Value; 2]>;

/// The arguments of one bridge call.
pub struct Args {
    name: &'static str,
    values: ArgList,
}

impl Args {
    #[inline]
    pub fn new(name: &'static str, values: ArgList) -> Self {
        Args { name, values }
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn into_vec(self) -> Vec<Value> {
        self.values.into_vec()
    }

    pub fn get(&self, i: usize) -> &Value {
        self.values.get(i).unwrap_or(&Value::Null)
    }

    /// Takes argument `i` out, leaving null behind.
    pub fn take(&mut self, i: usize) -> Value {
        self.values
            .get_mut(i)
            .map(std::mem::take)
            .unwrap_or_default()
    }

    fn wrong(&self, i: usize, what: &str, expected: &str) -> Error {
        Error::args(format!(
            "{}: argument {} ({what}) must be {expected}, got {}",
            self.name,
            i + 1,
            self.get(i).kind()
        ))
    }

    pub fn str(&self, i: usize, what: &str) -> Result<&str> {
        self.get(i)
            .as_str()
            .ok_or_else(|| self.wrong(i, what, "a string"))
    }

    pub fn opt_str(&self, i: usize, what: &str) -> Result<Option<String>> {
        match self.get(i) {
            Value::Null => Ok(None),
            Value::Str(s) => Ok(Some(s.clone())),
            _ => Err(self.wrong(i, what, "a string")),
        }
    }

    pub fn int(&self, i: usize, what: &str) -> Result<i64> {
        match self.get(i) {
            Value::Int(n) => Ok(*n),
            Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(*f as i64),
            _ => Err(self.wrong(i, what, "an integer")),
        }
    }

    pub fn func(&self, i: usize, what: &str) -> Result<Callback> {
        match self.get(i) {
            Value::Func(f) => Ok(f.clone()),
            _ => Err(self.wrong(i, what, "a function")),
        }
    }

    /// A map argument, or an empty map for null.
    pub fn opt_map(&self, i: usize, what: &str) -> Result<Map> {
        match self.get(i) {
            Value::Null => Ok(Map::new()),
            Value::Map(m) => Ok(m.clone()),
            // An empty Lua table arrives as an empty map; an empty JS array
            // as an empty array: both mean "no options".
            Value::Array(a) if a.is_empty() => Ok(Map::new()),
            _ => Err(self.wrong(i, what, "a map")),
        }
    }

    /// Argument `i` as pure data; a function inside is `value.invalid`
    /// with its path under the argument.
    pub fn json(&self, i: usize) -> Result<serde_json::Value> {
        self.get(i).to_json_in(crate::value::Path::argument(i))
    }

    pub fn error(&self, message: impl std::fmt::Display) -> Error {
        Error::args(format!("{}: {message}", self.name))
    }
}
