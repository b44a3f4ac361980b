//! `log`: leveled messages with structured fields, as `log` events.

use crate::session::{Bridge, Registry};
use crate::value::Value;

pub(super) fn register(r: &mut Registry) {
    for (name, level) in [
        ("log.debug", "debug"),
        ("log.info", "info"),
        ("log.warn", "warn"),
        ("log.error", "error"),
    ] {
        r.add(Bridge::new(
            name,
            "message: string, fields?: map",
            "nil",
            "emits a `log` event {level, message, fields}; the command line prints it to \
             stderr when it is at or above [log] level",
            move |call, mut args| {
                let message = args.str(0, "message")?.to_owned();
                args.json(1)?;
                let fields = match args.take(1) {
                    Value::Null => Value::Null,
                    f @ Value::Map(_) => f,
                    Value::Array(a) if a.is_empty() => Value::Null,
                    other => {
                        return Err(
                            args.error(format!("fields must be a map, got {}", other.kind()))
                        )
                    }
                };
                call.session.log(call.host, level, &message, fields)?;
                Ok(Value::Null)
            },
        ));
    }
}
