//! `json`: text to values and back.

use super::{Bridge, Registry};
use crate::value::Value;

pub(super) fn register(r: &mut Registry) {
    r.add(Bridge::new(
        "json.encode",
        "value, opts?",
        "string",
        "JSON text of a value; map keys come out sorted; opts.pretty indents by two spaces",
        |_call, args| {
            let opts = args.opt_map(1, "opts")?;
            let json = args.json(0)?;
            let pretty = matches!(opts.get("pretty"), Some(Value::Bool(true)));
            let text = if pretty {
                serde_json::to_string_pretty(&json)
            } else {
                serde_json::to_string(&json)
            };
            text.map(Value::Str).map_err(|e| args.error(e))
        },
    ));
    r.add(Bridge::new(
        "json.decode",
        "text",
        "value",
        "the value JSON text holds; integers stay integers",
        |_call, args| {
            let text = args.str(0, "text")?;
            let json: serde_json::Value = serde_json::from_str(text)
                .map_err(|e| args.error(format!("not valid JSON: {e}")))?;
            Ok(Value::from_json(&json))
        },
    ));
}
