//! `json`: text to values and back.

use crate::error::ErrorCode;
use crate::session::{Bridge, Registry};
use crate::value::{Path, Value};

pub(super) fn register(r: &mut Registry) {
    r.add(Bridge::new(
        "json.encode",
        "value: any, opts?: {pretty?: boolean}",
        "string",
        "JSON text of a value; map keys come out sorted; opts.pretty indents by two spaces",
        |call, args| {
            let opts = args.opt_map(1, "opts")?;
            let pretty = matches!(opts.get("pretty"), Some(Value::Bool(true)));
            let mut meter = call.session.meter();
            crate::value::encode(args.get(0), pretty, Path::argument(0), &mut meter).map(Value::Str)
        },
    ));
    r.add(Bridge::new(
        "json.decode",
        "text: string",
        "any",
        "the value JSON text holds; integers stay integers",
        |call, args| {
            let text = args.str(0, "text")?;
            crate::value::decode(text, &mut call.session.meter()).map_err(|e| match e.code {
                ErrorCode::ArgsInvalid => args.error(e.message),
                _ => e,
            })
        },
    ));
}
