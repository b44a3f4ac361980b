//! Values between JavaScript and the host: any JS value into data as
//! `JSON.stringify` would see it, but refusing (with the path) what JSON
//! would lose silently, metered against the spell's limits; and data back
//! into JS values. Never runs spell code except a value's own `toJSON` or
//! getters.

use rquickjs::{Array, Ctx, Function, Object, Persistent, Value as JsValue};

use super::errors::{display, exception_to_error, throw};
use super::JsFunc;
use crate::error::{Error, ErrorCode, Result};
use crate::session::Session;
use crate::value::{Callback, Map, Path, Value};

pub(super) fn arg_from_js(v: &JsValue<'_>, index: usize, s: &Session) -> Result<Value> {
    use rquickjs::Type;
    // The fast path: scalars need no meter and no path.
    match v.type_of() {
        Type::Int => Ok(Value::Int(i64::from(v.as_int().unwrap_or(0)))),
        Type::Float => Ok(number(v.as_float().unwrap_or(f64::NAN))),
        Type::Bool => Ok(Value::Bool(v.as_bool().unwrap_or(false))),
        Type::Null | Type::Undefined => Ok(Value::Null),
        _ => FromJs::new(Some(s), Path::argument(index)).value(v),
    }
}

pub(super) fn from_js(v: &JsValue<'_>, s: &Session) -> Result<Value> {
    FromJs::new(Some(s), Path::root()).value(v)
}

/// Integral numbers within 2^53 are integers; everything else a float.
pub(super) fn number(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_992.0 {
        Value::Int(f as i64)
    } else {
        Value::Float(f)
    }
}

/// One JavaScript value into data, as `JSON.stringify` would see it
/// (`toJSON` is honoured, `undefined` properties are absent), except that
/// nothing is lost silently: built-ins JSON would turn into `{}` either
/// cross faithfully (a `Map` with string keys as a map, a `Set` and a
/// typed array as arrays, a `Date` as its ISO text, an `Error` as its name
/// and message, a `BigInt` as an integer) or are `value.invalid` with their
/// path. The copy is metered against the spell's limits, and a limit hit
/// in a getter or `toJSON` keeps its code.
pub(super) struct FromJs<'a, 'js> {
    session: Option<&'a Session>,
    path: Path,
    seen: Vec<Object<'js>>,
    meter: crate::value::Meter<'a>,
}

impl<'a, 'js> FromJs<'a, 'js> {
    pub(super) fn new(session: Option<&'a Session>, path: Path) -> Self {
        let meter = match session {
            Some(s) => s.meter(),
            None => crate::value::Meter::unlimited(),
        };
        FromJs {
            session,
            path,
            seen: Vec::new(),
            meter,
        }
    }

    pub(super) fn value(&mut self, v: &JsValue<'js>) -> Result<Value> {
        use rquickjs::Type;
        Ok(match v.type_of() {
            Type::Uninitialized | Type::Undefined | Type::Null => {
                self.meter.charge_node(0)?;
                Value::Null
            }
            Type::Bool => Value::Bool(v.as_bool().unwrap_or(false)),
            Type::Int => Value::Int(i64::from(v.as_int().unwrap_or(0))),
            Type::Float => number(v.as_float().unwrap_or(f64::NAN)),
            Type::String => match v.as_string().map(|s| s.to_string()) {
                Some(Ok(text)) => {
                    self.meter.charge_node(text.len())?;
                    Value::Str(text)
                }
                _ => {
                    return Err(self
                        .path
                        .invalid("a string that is not valid UTF-16 (a lone surrogate?)"))
                }
            },
            Type::BigInt => {
                // Its decimal text: to_i64 would wrap a BigInt past 64 bits.
                let text = v.get::<rquickjs::Coerced<String>>().map(|c| c.0);
                match text.ok().and_then(|t| t.parse::<i64>().ok()) {
                    Some(i) => Value::Int(i),
                    None => {
                        self.exception(v)?;
                        return Err(self
                            .path
                            .invalid("a BigInt beyond 64 bits cannot cross; send it as a string"));
                    }
                }
            }
            Type::Function | Type::Constructor => {
                let f = v
                    .as_function()
                    .cloned()
                    .ok_or_else(|| self.path.invalid("not a function"))?;
                Value::Func(Callback::new(Persistent::save(v.ctx(), f)))
            }
            Type::Array | Type::Object | Type::Exception | Type::Proxy => {
                let obj = v
                    .as_object()
                    .cloned()
                    .ok_or_else(|| self.path.invalid("not an object"))?;
                self.object(obj)?
            }
            Type::Promise => {
                return Err(self
                    .path
                    .invalid("a Promise cannot cross the bridge; await it first"))
            }
            other => {
                return Err(self.path.invalid(format!(
                    "a JavaScript {} cannot cross the bridge",
                    other.as_str()
                )))
            }
        })
    }

    /// The error a failed getter, `toJSON` or iteration raised: a tripped
    /// limit wins, otherwise the script's own error keeps its message.
    fn exception(&self, v: &JsValue<'js>) -> Result<()> {
        let ctx = v.ctx();
        let caught = ctx.catch();
        if let Some(s) = self.session {
            s.check_stop()?;
        }
        if caught.is_undefined() {
            return Ok(());
        }
        let file = self.session.map_or("", |s| s.info.name.as_str());
        Err(exception_to_error(&caught, file))
    }

    /// A call into script code during the copy (`toJSON`, a getter).
    fn js<T>(&self, v: &JsValue<'js>, r: rquickjs::Result<T>) -> Result<T> {
        r.or_else(|e| {
            self.exception(v)?;
            Err(self.path.invalid(e))
        })
    }

    fn object(&mut self, obj: Object<'js>) -> Result<Value> {
        if self.seen.contains(&obj) {
            return Err(self.path.invalid("a cycle: this object contains itself"));
        }
        self.path.check_depth()?;
        self.meter.charge_node(0)?;
        self.seen.push(obj.clone());
        let out = self.kinds(&obj);
        self.seen.pop();
        out
    }

    fn kinds(&mut self, obj: &Object<'js>) -> Result<Value> {
        let v = obj.as_value().clone();
        let raw = v.as_raw();
        // SAFETY: each predicate only reads the class of a live value.
        let (is_array, is_date, is_error, is_map, is_set) = unsafe {
            use rquickjs::qjs;
            if qjs::JS_IsRegExp(raw) {
                return Err(self.path.invalid(
                    "a RegExp cannot cross the bridge; send its .source (and .flags) as text",
                ));
            }
            if qjs::JS_IsWeakMap(raw) || qjs::JS_IsWeakSet(raw) || qjs::JS_IsWeakRef(raw) {
                return Err(self
                    .path
                    .invalid("a WeakMap, WeakSet or WeakRef cannot cross the bridge"));
            }
            if qjs::JS_IsArrayBuffer(raw) || qjs::JS_IsDataView(raw) {
                return Err(self.path.invalid(
                    "an ArrayBuffer or DataView cannot cross the bridge; send a Uint8Array of it",
                ));
            }
            (
                qjs::JS_IsArray(raw),
                qjs::JS_IsDate(raw),
                qjs::JS_IsError(raw),
                qjs::JS_IsMap(raw),
                qjs::JS_IsSet(raw),
            )
        };
        if let Some(items) = self.typed_array(&v)? {
            return Ok(items);
        }
        if is_date {
            let iso: rquickjs::Result<String> = obj
                .get::<_, Function>("toISOString")
                .and_then(|f| f.call((rquickjs::function::This(v.clone()),)));
            return match iso {
                Ok(text) => {
                    self.meter.charge_node(text.len())?;
                    Ok(Value::Str(text))
                }
                Err(_) => {
                    // An invalid Date throws a RangeError: not a silent null.
                    let _ = v.ctx().catch();
                    if let Some(s) = self.session {
                        s.check_stop()?;
                    }
                    Err(self.path.invalid("an invalid Date cannot cross the bridge"))
                }
            };
        }
        if !is_array && !is_map && !is_set {
            let to_json: JsValue = self.js(&v, obj.get("toJSON"))?;
            if let Some(f) = to_json.as_function() {
                let key = self.path.last_key();
                let out: JsValue =
                    self.js(&v, f.call((rquickjs::function::This(v.clone()), key)))?;
                // What toJSON returned stands in for the object.
                return self.value(&out);
            }
        }
        if is_array {
            return self.array(obj);
        }
        if is_map || is_set {
            return self.collection(obj, is_map);
        }
        let mut map = Map::new();
        if is_error {
            for key in ["name", "message"] {
                let item: JsValue = self.js(&v, obj.get(key))?;
                if let Some(text) = item.as_string().and_then(|t| t.to_string().ok()) {
                    self.meter.charge_node(text.len())?;
                    map.insert(key.to_owned(), Value::Str(text));
                }
            }
        }
        for prop in obj.props::<String, JsValue>() {
            let (k, item) = self.js(&v, prop)?;
            // As JSON.stringify does: an undefined property is absent.
            if item.is_undefined() {
                continue;
            }
            self.entry(&mut map, k, &item)?;
        }
        Ok(Value::Map(map))
    }

    /// `map[k]` = the copy of `item`, at its path.
    fn entry(&mut self, map: &mut Map, k: String, item: &JsValue<'js>) -> Result<()> {
        self.meter.charge(k.len())?;
        self.path.push_key(&k);
        let item = self.value(item)?;
        self.path.pop();
        map.insert(k, item);
        Ok(())
    }

    fn array(&mut self, obj: &Object<'js>) -> Result<Value> {
        let v = obj.as_value().clone();
        let len: f64 = self.js(&v, obj.get("length"))?;
        let len = len.max(0.0) as usize;
        // The length is the spell's to choose (`a[1e9] = 1`): it is paid
        // for before anything is allocated by it.
        self.meter.reserve(len)?;
        let mut items = Vec::with_capacity(len);
        for i in 0..len {
            let item: JsValue = self.js(&v, obj.get(i as u32))?;
            self.path.push_index(i);
            items.push(self.value(&item)?);
            self.path.pop();
        }
        Ok(Value::Array(items))
    }

    /// A `Map` (string keys only) as a map, a `Set` as an array.
    fn collection(&mut self, obj: &Object<'js>, is_map: bool) -> Result<Value> {
        let v = obj.as_value().clone();
        let ctx = v.ctx().clone();
        let from: rquickjs::Result<Array> = ctx
            .globals()
            .get::<_, Object>("Array")
            .and_then(|a| a.get::<_, Function>("from"))
            .and_then(|from| from.call((v.clone(),)));
        let items = self.js(&v, from)?;
        if !is_map {
            return self.array(items.as_object());
        }
        let mut map = Map::new();
        for i in 0..items.len() {
            let pair: Array = self.js(&v, items.get(i))?;
            let key: JsValue = self.js(&v, pair.get(0))?;
            let Some(k) = key.as_string().and_then(|k| k.to_string().ok()) else {
                return Err(self.path.invalid(format!(
                    "a Map with the key {} (a {}); only a Map with string keys can cross, as a map",
                    display(&key),
                    key.type_of().as_str()
                )));
            };
            let item: JsValue = self.js(&v, pair.get(1))?;
            self.entry(&mut map, k, &item)?;
        }
        Ok(Value::Map(map))
    }

    /// A typed array's numbers as an array, or `None` for other objects.
    fn typed_array(&mut self, v: &JsValue<'js>) -> Result<Option<Value>> {
        let Some(obj) = v.as_object() else {
            return Ok(None);
        };
        // SAFETY: reads the class of a live value.
        if unsafe { rquickjs::qjs::JS_GetTypedArrayType(v.as_raw()) } < 0 {
            return Ok(None);
        }
        macro_rules! each {
            ($($t:ty => $conv:expr),* $(,)?) => {$(
                if let Some(t) = obj.as_typed_array::<$t>() {
                    let Some(raw) = t.as_raw() else {
                        return Err(self.path.invalid("a typed array whose buffer was detached"));
                    };
                    // SAFETY: the bytes stay put while no script runs, and
                    // none runs in this loop.
                    let bytes = unsafe { raw.as_ref() };
                    let size = std::mem::size_of::<$t>();
                    let n = bytes.len() / size;
                    self.meter.reserve(n)?;
                    let conv = $conv;
                    let items = (0..n)
                        .map(|i| {
                            // SAFETY: i * size + size <= bytes.len().
                            let x = unsafe {
                                std::ptr::read_unaligned(bytes.as_ptr().add(i * size).cast::<$t>())
                            };
                            conv(x)
                        })
                        .collect();
                    return Ok(Some(Value::Array(items)));
                }
            )*};
        }
        each!(
            u8 => |x: u8| Value::Int(i64::from(x)),
            i8 => |x: i8| Value::Int(i64::from(x)),
            u16 => |x: u16| Value::Int(i64::from(x)),
            i16 => |x: i16| Value::Int(i64::from(x)),
            u32 => |x: u32| Value::Int(i64::from(x)),
            i32 => |x: i32| Value::Int(i64::from(x)),
            f32 => |x: f32| Value::Float(f64::from(x)),
            f64 => |x: f64| Value::Float(x),
            i64 => Value::Int,
            u64 => |x: u64| i64::try_from(x).map_or(Value::Float(x as f64), Value::Int),
        );
        // Other kinds (Uint8ClampedArray, Float16Array): element by element.
        self.array(obj).map(Some)
    }
}

pub(super) fn to_js<'js>(ctx: &Ctx<'js>, v: Value) -> rquickjs::Result<JsValue<'js>> {
    Ok(match v {
        Value::Null => JsValue::new_null(ctx.clone()),
        Value::Bool(b) => JsValue::new_bool(ctx.clone(), b),
        Value::Int(i) => match i32::try_from(i) {
            Ok(small) => JsValue::new_int(ctx.clone(), small),
            Err(_) => JsValue::new_float(ctx.clone(), i as f64),
        },
        Value::Float(f) => JsValue::new_float(ctx.clone(), f),
        Value::Str(s) => rquickjs::String::from_str(ctx.clone(), &s)?.into_value(),
        Value::Array(items) => {
            let arr = Array::new(ctx.clone())?;
            for (i, item) in items.into_iter().enumerate() {
                arr.set(i, to_js(ctx, item)?)?;
            }
            arr.into_value()
        }
        Value::Map(map) => {
            let obj = Object::new(ctx.clone())?;
            for (k, item) in map {
                obj.set(k, to_js(ctx, item)?)?;
            }
            obj.into_value()
        }
        Value::Func(cb) => match cb.downcast::<JsFunc>() {
            Some(f) => f.clone().restore(ctx)?.into_value(),
            None => {
                return Err(throw(
                    ctx,
                    &Error::new(ErrorCode::ValueInvalid, "a function from another engine"),
                ))
            }
        },
    })
}

#[cfg(test)]
mod tests {
    use rquickjs::{Context, Runtime};

    use super::*;

    fn convert_src(src: &str) -> Result<Value> {
        let rt = Runtime::new().unwrap();
        let ctx = Context::full(&rt).unwrap();
        ctx.with(|ctx| {
            let v: JsValue = ctx.eval(src).unwrap();
            FromJs::new(None, Path::root()).value(&v)
        })
    }

    #[test]
    fn integral_numbers_are_integers_and_undefined_properties_are_absent() {
        let v =
            convert_src("({ a: 2.0, b: 2.5, c: undefined, d: -0, e: 2 ** 60, f: [undefined] })")
                .unwrap();
        assert_eq!(
            v.to_json().unwrap(),
            serde_json::json!({"a": 2, "b": 2.5, "d": 0, "e": 1152921504606846976.0, "f": [null]})
        );
    }

    #[test]
    fn cycles_promises_and_symbols_are_refused_with_the_path() {
        let e = convert_src("const a = { x: [] }; a.x.push(a); a").unwrap_err();
        assert!(
            e.message.contains("$.x[0]") && e.message.contains("cycle"),
            "{}",
            e.message
        );
        let e = convert_src("({ p: Promise.resolve(1) })").unwrap_err();
        assert!(e.message.contains("await it first"), "{}", e.message);
        let e = convert_src("[Symbol('s')]").unwrap_err();
        assert!(e.message.contains("$[0]"), "{}", e.message);
    }
}
