//! `state`: values that outlive the run, shared by the project's spells.
//!
//! Setting a key to null deletes it: scripts cannot tell a stored null from
//! a missing key in Lua, so no engine stores one.

use crate::error::{Error, ErrorCode, Result};
use crate::session::{Args, Bridge, Call, Registry};
use crate::value::{Map, Value};

/// How often `state.update` retries when other writers keep winning.
const UPDATE_ATTEMPTS: usize = 100;

pub(super) fn register(r: &mut Registry) {
    r.add(Bridge::new(
        "state.get",
        "key: string, fallback?: any",
        "any",
        "the stored value, or fallback (null when not given) when the key is not set",
        |call, mut args| {
            let key = key(&args)?;
            let store = call.session.store()?;
            match store.get_text(key)? {
                // Straight from the stored text into the spell's values.
                Some((text, _)) => {
                    crate::value::decode(&text, &mut call.session.meter()).map_err(|e| {
                        match e.code {
                            ErrorCode::ArgsInvalid => store.not_json(key, e.message),
                            _ => e,
                        }
                    })
                }
                None => Ok(args.take(1)),
            }
        },
    ));
    r.add(Bridge::new(
        "state.set",
        "key: string, value: any",
        "nil",
        "stores value under key (null deletes the key); emits state.set",
        |call, args| {
            let key = key(&args)?;
            if args.get(1).is_null() {
                delete(call, key)?;
                return Ok(Value::Null);
            }
            let text = crate::value::encode(
                args.get(1),
                false,
                crate::value::Path::argument(1),
                &mut call.session.meter(),
            )?;
            call.session.store()?.set_text(key, &text)?;
            // The event's value is only copied when someone listens.
            call.emit("state.set", || key_value(key, Some(args.get(1).clone())))?;
            Ok(Value::Null)
        },
    ));
    r.add(Bridge::new(
        "state.delete",
        "key: string",
        "boolean",
        "removes key; true when it was set; emits state.delete",
        |call, args| {
            let key = key(&args)?;
            Ok(Value::Bool(delete(call, key)?))
        },
    ));
    r.add(Bridge::new(
        "state.keys",
        "prefix?: string",
        "string[]",
        "the keys that start with prefix, sorted",
        |call, args| {
            let prefix = args.opt_str(0, "prefix")?.unwrap_or_default();
            let keys = call.session.store()?.keys(&prefix)?;
            Ok(Value::Array(keys.into_iter().map(Value::Str).collect()))
        },
    ));
    r.add(Bridge::new(
        "state.update",
        "key: string, fn: fun(old: any): any",
        "any",
        "atomically replaces the value with fn(old); fn may run again if another spell wrote \
         the key meanwhile, so keep it free of side effects; a null result deletes the key",
        |call, args| {
            let key = key(&args)?;
            let func = args.func(1, "fn")?;
            let store = call.session.store()?;
            for _ in 0..UPDATE_ATTEMPTS {
                let current = store.get(key)?;
                let old = current.as_ref().map_or(Value::Null, |e| Value::from_json(&e.value));
                let new = call.call_script(&func, vec![old])?;
                let json = if new.is_null() { None } else { Some(new.to_json()?) };
                let expected = current.map(|e| e.version);
                if store.compare_and_set(key, expected, json.as_ref())? {
                    if new.is_null() {
                        call.emit("state.delete", || key_value(key, None))?;
                    } else {
                        let event_value = new.clone();
                        call.emit("state.set", || key_value(key, Some(event_value)))?;
                    }
                    return Ok(new);
                }
            }
            Err(Error::new(
                ErrorCode::StateIo,
                format!("state.update of {key:?} lost to other writers {UPDATE_ATTEMPTS} times; try again"),
            ))
        },
    ));
}

fn key(args: &Args) -> Result<&str> {
    let key = args.str(0, "key")?;
    if key.is_empty() {
        return Err(args.error("the key must not be empty"));
    }
    Ok(key)
}

fn delete(call: &mut Call<'_>, key: &str) -> Result<bool> {
    let existed = call.session.store()?.delete(key)?;
    if existed {
        call.emit("state.delete", || key_value(key, None))?;
    }
    Ok(existed)
}

fn key_value(key: &str, value: Option<Value>) -> Value {
    let mut m = Map::new();
    m.insert("key".into(), Value::str(key));
    if let Some(v) = value {
        m.insert("value".into(), v);
    }
    Value::Map(m)
}
