//! `print`: a line of the spell's output.

use crate::session::{Bridge, Registry};
use crate::value::Value;

pub(super) fn register(r: &mut Registry) {
    r.add(Bridge::new(
        "print",
        "...values: any",
        "nil",
        "writes its arguments as one line of the spell's output",
        |call, args| {
            let line = args.opt_str(0, "text")?.unwrap_or_default();
            call.session.print_line(&line);
            Ok(Value::Null)
        },
    ));
}
