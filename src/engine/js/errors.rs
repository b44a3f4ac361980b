//! Errors between JavaScript and the host: a coded error raised as a JS
//! `Error` with `.code` (or as the value a callback threw), and whatever a
//! spell throws read back as a coded error with its spell line. A tripped
//! limit always wins over what the script says.

use rquickjs::{Ctx, Exception, Value as JsValue};

use super::event_loop::Shared;
use super::skeleton;
use crate::error::{Error, ErrorCode, Location};
use crate::session::Session;

/// A coded error as a JS `Error` with `.code`.
pub(super) fn error_object<'js>(ctx: &Ctx<'js>, e: &Error) -> rquickjs::Result<JsValue<'js>> {
    let ex = Exception::from_message(ctx.clone(), &e.to_string())?;
    ex.set("code", e.code.as_str())?;
    Ok(ex.into_value())
}

/// What script code gets for a coded error: the very value a script threw,
/// where the error began as one (see [`crate::error::Thrown`]); an `Error`
/// with `.code` (and that value as its `cause`) otherwise.
pub(super) fn error_value<'js>(
    ctx: &Ctx<'js>,
    shared: &Shared,
    e: &Error,
) -> rquickjs::Result<JsValue<'js>> {
    let kept = shared.kept(ctx, e);
    match (kept, e.thrown) {
        (Some(v), Some(t)) if !t.as_cause => Ok(v),
        (kept, _) => {
            let ex = error_object(ctx, e)?;
            if let (Some(v), Some(obj)) = (kept, ex.as_object()) {
                obj.set("cause", v)?;
            }
            Ok(ex)
        }
    }
}

/// Raises a coded error as a JS `Error` with `.code`.
pub(super) fn throw(ctx: &Ctx<'_>, e: &Error) -> rquickjs::Error {
    match error_object(ctx, e) {
        Ok(v) => ctx.throw(v),
        Err(err) => err,
    }
}

/// Raises a coded error as [`error_value`] makes it.
pub(super) fn throw_value(ctx: &Ctx<'_>, shared: &Shared, e: &Error) -> rquickjs::Error {
    match error_value(ctx, shared, e) {
        Ok(v) => ctx.throw(v),
        Err(err) => err,
    }
}

/// The pending exception a callback a bridge called threw, as a coded
/// error that keeps the value (see [`Shared::keep`]).
pub(super) fn callback_error(ctx: &Ctx<'_>, s: &Session, shared: &Shared) -> Error {
    let v = ctx.catch();
    if let Some(code) = s.stop_handle().reason() {
        return s.stop_error(code);
    }
    let mut err = exception_to_error(&v, &s.info.name);
    shared.keep(ctx, v, &mut err);
    err
}

/// The pending exception as a coded error; a tripped limit wins.
pub(super) fn js_error(ctx: &Ctx<'_>, s: &Session) -> Error {
    let v = ctx.catch();
    if let Some(code) = s.stop_handle().reason() {
        return s.stop_error(code);
    }
    exception_to_error(&v, &s.info.name)
}

pub(super) fn exception_to_error(v: &JsValue<'_>, file: &str) -> Error {
    let Some(obj) = v.as_object() else {
        let text = if v.is_null() || v.is_undefined() {
            "a null or undefined value was thrown".to_owned()
        } else {
            display(v)
        };
        return Error::from_script(&text);
    };
    // Not an error (`throw {code: 42}`): the value itself, as JSON.
    let is_error = obj
        .get::<_, JsValue>("message")
        .is_ok_and(|m| m.is_string());
    if !is_error {
        let mut err = Error::from_script(&thrown(v, 0));
        err.location = obj
            .get::<_, String>("stack")
            .ok()
            .and_then(|stack| stack_location(&stack, file));
        return err;
    }
    let message: String = obj.get("message").unwrap_or_default();
    let name: String = obj.get("name").unwrap_or_default();
    // An error's causes (`new Error("outer", {cause})`), each on a line.
    let message = match obj.get::<_, JsValue>("cause") {
        Ok(cause) if !cause.is_undefined() => {
            format!("{message}\ncaused by: {}", thrown(&cause, 1))
        }
        _ => message,
    };
    let stack: String = obj.get("stack").unwrap_or_default();
    let code: Option<String> = obj.get("code").ok().flatten();
    let mut err = match code.as_deref().and_then(ErrorCode::parse) {
        Some(code) => {
            let prefix = format!("{}: ", code.as_str());
            Error::new(code, message.strip_prefix(&prefix).unwrap_or(&message))
        }
        None if message.contains("could not load module") => skeleton::no_modules(&message),
        None if name == "SyntaxError" => Error::new(ErrorCode::SpellSyntax, message.clone()),
        None if name.is_empty() || name == "Error" => Error::from_script(&message),
        None if message.contains("stack overflow")
            || message.contains("call stack size exceeded") =>
        {
            Error::new(
                ErrorCode::LimitDepth,
                "calls nested too deep (stack overflow)",
            )
        }
        None => Error::from_script(&format!("{name}: {message}")),
    };
    err.location = stack_location(&stack, file);
    err
}

/// A thrown value as a report shows it: an error as `Name: message` with
/// its causes, anything else as JSON (or its text); `depth` causes deep.
pub(super) fn thrown(v: &JsValue<'_>, depth: usize) -> String {
    const DEEPEST: usize = 8;
    let Some(obj) = v.as_object() else {
        return display(v);
    };
    let message = obj
        .get::<_, JsValue>("message")
        .ok()
        .filter(JsValue::is_string);
    let Some(message) = message.map(|m| display(&m)) else {
        return v
            .ctx()
            .json_stringify(v.clone())
            .ok()
            .flatten()
            .and_then(|s| s.to_string().ok())
            .unwrap_or_else(|| display(v));
    };
    let name: String = obj.get("name").unwrap_or_default();
    let mut text = match name.is_empty() {
        true => message,
        false => format!("{name}: {message}"),
    };
    if let Ok(cause) = obj.get::<_, JsValue>("cause") {
        if !cause.is_undefined() && depth < DEEPEST {
            text.push_str(&format!("\ncaused by: {}", thrown(&cause, depth + 1)));
        }
    }
    text
}

/// The first `file:line` of the spell in a QuickJS stack trace.
pub(super) fn stack_location(stack: &str, file: &str) -> Option<Location> {
    let needle = format!("{file}:");
    let at = stack.find(&needle)?;
    let rest = &stack[at + needle.len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some(Location {
        file: file.to_owned(),
        line: digits.parse().ok()?,
    })
}

/// The spell's frames in a QuickJS stack trace, innermost first: each
/// `at NAME (FILE:LINE:COL)` line in the spell's own file. A function with
/// no name (an arrow) is `<anonymous>`, as QuickJS says, but for the
/// outermost (the module's top level), which is `main`; after an `await`, the trace begins at the function that
/// awaited (QuickJS keeps no async stack).
pub(super) fn stack_frames(stack: &str, file: &str) -> Vec<crate::session::debug::Frame> {
    let mut frames: Vec<crate::session::debug::Frame> = stack
        .lines()
        .filter_map(|l| {
            let rest = l.trim().strip_prefix("at ")?;
            let (name, place) = rest.split_once(" (")?;
            let place = place
                .strip_suffix(')')?
                .strip_prefix(file)?
                .strip_prefix(':')?;
            let line: String = place.chars().take_while(char::is_ascii_digit).collect();
            Some(crate::session::debug::Frame {
                function: name.to_owned(),
                file: file.to_owned(),
                line: line.parse().ok()?,
            })
        })
        .collect();
    // The module's top level has no name in QuickJS: it is `main`, as in
    // the other engines.
    if let Some(last) = frames.last_mut().filter(|f| f.function == "<anonymous>") {
        last.function = "main".into();
    }
    frames
}

pub(super) fn display(v: &JsValue<'_>) -> String {
    if let Some(s) = v.as_string() {
        return s.to_string().unwrap_or_default();
    }
    v.get::<rquickjs::Coerced<String>>()
        .map(|c| c.0)
        .unwrap_or_else(|_| format!("<{}>", v.type_name()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_locations_name_the_spell_line() {
        let stack = "    at f (spell.js:12:5)\n    at <anonymous> (spell.js:20:1)\n";
        assert_eq!(stack_location(stack, "spell.js").unwrap().line, 12);
        assert!(stack_location(stack, "other.js").is_none());
    }

    #[test]
    fn stack_frames_are_the_spells_own_innermost_first() {
        let stack = "    at <eval> (eval_script:1:1)\n    at inner (spell.js:2:14)\n    \
                     at map (native)\n    at outer (spell.js:4:34)\n    at <anonymous> (spell.js:6:7)\n";
        let frames: Vec<_> = stack_frames(stack, "spell.js")
            .into_iter()
            .map(|f| (f.function, f.line))
            .collect();
        assert_eq!(
            frames,
            [("inner".into(), 2), ("outer".into(), 4), ("main".into(), 6)]
        );
        assert!(stack_frames(stack, "spell.jsx").is_empty());
    }
}
