//! Type definitions of the whole spell API for editors, written from the
//! registry: LuaLS `---@meta` annotations for Lua and a TypeScript
//! declaration file for JavaScript (`llmspell api --types lua|ts`).

use super::registry::{Bridge, Registry};
use super::types::{self, Param, Type};

/// A language that editors check spells in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Definitions {
    Lua,
    Ts,
}

impl Definitions {
    pub fn parse(name: &str) -> Option<Definitions> {
        match name {
            "lua" => Some(Definitions::Lua),
            "ts" | "js" => Some(Definitions::Ts),
            _ => None,
        }
    }

    /// The file name `llmspell init` writes them to.
    pub fn file_name(self) -> &'static str {
        match self {
            Definitions::Lua => "llmspell.d.lua",
            Definitions::Ts => "llmspell.d.ts",
        }
    }
}

/// What the first lines of every definitions file hold: `llmspell init`
/// knows a file it may write again by it.
pub const GENERATED: &str = "written by `llmspell api --types`";

/// What follows [`GENERATED`] in a definitions file's first lines.
const HEADER: &str =
    "from the bridge registry: do not edit; write it again after upgrading llmspell";

/// Text safe inside a JSDoc comment.
fn jsdoc(doc: &str, indent: &str) -> String {
    format!("{indent}/** {} */\n", doc.replace("*/", "* /"))
}

/// A doc as `---` lines.
fn luadoc(doc: &str) -> String {
    format!("---{}\n", doc.replace('\n', " "))
}

/// Parses everything the registry declares; an error names the function
/// or shape whose notation is wrong, or a name nothing declares.
fn checked(r: &Registry) -> Result<Checked<'_>, String> {
    let mut shapes = Vec::new();
    for s in r.shapes() {
        let fields = types::parse_params(s.fields).map_err(|e| format!("{}: {e}", s.name))?;
        shapes.push((s, fields));
    }
    let mut bridges = Vec::new();
    for b in r.bridges() {
        let (params, returns) = b.signature()?;
        bridges.push((b, params, returns));
    }
    let mut values = Vec::new();
    for v in r.values() {
        values.push((
            v,
            types::parse_type(v.ty).map_err(|e| format!("{}: {e}", v.name))?,
        ));
    }
    let known = |n: &str| types::PRIMITIVES.contains(&n) || r.shapes().iter().any(|s| s.name == n);
    let mut names = Vec::new();
    for (_, fields) in &shapes {
        fields.iter().for_each(|f| f.ty.names(&mut names));
    }
    for (_, params, returns) in &bridges {
        params.iter().for_each(|p| p.ty.names(&mut names));
        returns.names(&mut names);
    }
    values.iter().for_each(|(_, t)| t.names(&mut names));
    if let Some(unknown) = names.iter().find(|n| !known(n)) {
        return Err(format!("the type {unknown:?} is not declared"));
    }
    Ok(Checked {
        shapes,
        bridges,
        values,
    })
}

struct Checked<'a> {
    shapes: Vec<(&'a super::registry::Shape, Vec<Param>)>,
    bridges: Vec<(&'a Bridge, Vec<Param>, Type)>,
    values: Vec<(&'a super::registry::GlobalDoc, Type)>,
}

impl Checked<'_> {
    /// The methods of the object a shape names, when a bridge returns it:
    /// each method's bridge, with the handle (its first parameter) taken off.
    fn methods(
        &self,
        r: &Registry,
        shape: &str,
    ) -> Vec<(&'static str, &Bridge, Vec<Param>, &Type)> {
        let maker = self.bridges.iter().position(|(b, _, ret)| {
            b.object.is_some() && matches!(ret, Type::Name(n) if n == shape)
        });
        let methods = maker.and_then(|id| r.methods(id)).unwrap_or_default();
        methods
            .into_iter()
            .map(|(name, id)| {
                let (b, params, ret) = &self.bridges[id];
                (name, *b, params.iter().skip(1).cloned().collect(), ret)
            })
            .collect()
    }
}

impl Registry {
    /// The API's type definitions in `lang`; an error when a declaration's
    /// notation is wrong (a bug of the registry, caught by its tests).
    pub fn definitions(&self, lang: Definitions) -> Result<String, String> {
        let c = checked(self)?;
        Ok(match lang {
            Definitions::Ts => ts(self, &c),
            Definitions::Lua => lua(self, &c),
        })
    }
}

/// A member's name in a TypeScript object type: `new` would be a
/// constructor there.
fn ts_member(name: &str) -> String {
    match name {
        "new" => format!("{name:?}"),
        _ => name.to_owned(),
    }
}

/// A bridge's parameters in TypeScript. A call that waits takes an
/// AbortSignal in JavaScript, in its options (`{signal}`): its `opts`, or
/// one more argument when it has none.
fn ts_params(b: &Bridge, params: &[Param]) -> String {
    if !b.waits {
        return types::ts_params(params);
    }
    let mut out: Vec<String> = params
        .iter()
        .map(|p| match p.name.as_str() {
            "opts" => format!(
                "{}{}: ({}) & Cancellable",
                p.name,
                if p.optional { "?" } else { "" },
                p.ty.without_nil().ts()
            ),
            _ => p.ts(),
        })
        .collect();
    if !params.iter().any(|p| p.name == "opts") {
        out.push("opts?: Cancellable".into());
    }
    out.join(", ")
}

fn ts_returns(b: &Bridge, ret: &Type) -> String {
    let ret = types::ts_return(Some(ret));
    match b.waits {
        true => format!("Promise<{ret}>"),
        false => ret,
    }
}

/// A bridge as a TypeScript member or function: `name(params): returns`,
/// after its doc.
fn ts_signature(indent: &str, name: &str, b: &Bridge, params: &[Param], ret: &Type) -> String {
    format!(
        "{}{indent}{name}({}): {};\n",
        jsdoc(b.doc, indent),
        ts_params(b, params),
        ts_returns(b, ret)
    )
}

fn ts(r: &Registry, c: &Checked<'_>) -> String {
    let mut out = format!("// The llmspell spell API for JavaScript, {GENERATED} {HEADER}.\n");
    out.push_str(
        "\n/** what a call that waits takes in its options: a signal that cancels it */\n\
         interface Cancellable {\n  signal?: AbortSignal;\n}\n",
    );
    for (shape, fields) in &c.shapes {
        out.push('\n');
        out.push_str(&jsdoc(shape.doc, ""));
        out.push_str(&format!("interface {} {{\n", shape.name));
        for f in fields {
            out.push_str(&format!("  {};\n", f.ts()));
        }
        for (name, b, params, ret) in c.methods(r, shape.name) {
            out.push_str(&ts_signature("  ", &ts_member(name), b, &params, ret));
        }
        out.push_str("}\n");
    }
    for (v, ty) in &c.values {
        out.push('\n');
        out.push_str(&jsdoc(v.doc, ""));
        out.push_str(&format!("declare const {}: {};\n", v.name, ty.ts()));
    }
    for (id, b) in r.functions() {
        let (_, params, ret) = &c.bridges[id];
        out.push('\n');
        let name = format!("declare function {}", b.name);
        out.push_str(&ts_signature("", &name, b, params, ret));
    }
    for (module, ids) in r.modules() {
        // An object, not a namespace: `delete` and `new` are members.
        out.push_str(&format!("\ndeclare const {module}: {{\n"));
        for id in ids {
            let (b, params, ret) = &c.bridges[id];
            out.push_str(&ts_signature("  ", &ts_member(b.member()), b, params, ret));
        }
        out.push_str("};\n");
    }
    out
}

/// A bridge as a LuaLS-annotated stub: its doc, `---@param` and
/// `---@return` lines, then `function NAME(params) end` (`name` may be
/// `Agent:run`).
fn lua_function(name: &str, b: &Bridge, params: &[Param], ret: &Type) -> String {
    let mut out = format!("\n{}", luadoc(b.doc));
    let mut names = Vec::new();
    for p in params {
        out.push_str(&format!("---@param {}\n", p.lua_annotated()));
        names.push(if p.rest { "..." } else { p.name.as_str() });
    }
    if !ret.is_nil() {
        out.push_str(&format!("---@return {}\n", ret.lua()));
    }
    out.push_str(&format!("function {name}({}) end\n", names.join(", ")));
    out
}

fn lua(r: &Registry, c: &Checked<'_>) -> String {
    let mut out = format!(
        "---@meta\n-- The llmspell spell API for Lua (LuaLS annotations), {GENERATED} {HEADER}.\n"
    );
    for (shape, fields) in &c.shapes {
        out.push('\n');
        out.push_str(&luadoc(shape.doc));
        out.push_str(&format!("---@class {}\n", shape.name));
        for f in fields {
            out.push_str(&format!("---@field {}\n", f.lua_annotated()));
        }
        let methods = c.methods(r, shape.name);
        if methods.is_empty() {
            continue;
        }
        out.push_str(&format!("local {} = {{}}\n", shape.name));
        for (name, b, params, ret) in methods {
            out.push_str(&lua_function(
                &format!("{}:{name}", shape.name),
                b,
                &params,
                ret,
            ));
        }
    }
    for (v, ty) in &c.values {
        out.push('\n');
        out.push_str(&luadoc(v.doc));
        out.push_str(&format!("---@type {}\n{} = {{}}\n", ty.lua(), v.name));
    }
    for (id, b) in r.functions() {
        let (_, params, ret) = &c.bridges[id];
        out.push_str(&lua_function(b.name, b, params, ret));
    }
    for (module, ids) in r.modules() {
        out.push_str(&format!("\n{module} = {{}}\n"));
        for id in ids {
            let (b, params, ret) = &c.bridges[id];
            out.push_str(&lua_function(b.name, b, params, ret));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{Bridge, Shape};
    use crate::value::Value;

    #[test]
    fn a_name_nothing_declares_or_bad_notation_is_refused_with_its_owner() {
        let mut r = Registry::empty();
        r.add(Bridge::new("m.f", "x: Missing", "nil", "d", |_, _| {
            Ok(Value::Null)
        }));
        let e = r.definitions(Definitions::Ts).unwrap_err();
        assert!(e.contains("\"Missing\" is not declared"), "{e}");
        r.add_shape(Shape {
            name: "Missing",
            doc: "now declared",
            fields: "a: string,, b: integer",
        });
        let e = r.definitions(Definitions::Lua).unwrap_err();
        assert!(e.starts_with("Missing: "), "{e}");
    }

    #[test]
    fn max_args_counts_the_top_level_parameters_as_the_parsed_signature_has_them() {
        for b in Registry::standard().bridges() {
            let (params, _) = b.signature().unwrap();
            let parsed = match params.iter().any(|p| p.rest) {
                true => None,
                false => Some(params.len()),
            };
            assert_eq!(b.max_args(), parsed, "{}", b.name);
        }
    }

    #[test]
    fn a_waiting_call_takes_a_signal_in_javascript_in_its_options_or_one_more_argument() {
        let mut r = Registry::empty();
        r.add_shape(Shape {
            name: "O",
            doc: "options",
            fields: "n?: integer",
        });
        let waits = |name, params| {
            Bridge::waiting(name, params, "nil", "d", |_, _| {
                std::future::ready(Ok(Value::Null))
            })
        };
        r.add(waits("m.with", "x: string, opts?: O"));
        r.add(waits("m.without", "ms: number"));
        r.add(Bridge::new(
            "m.plain",
            "opts?: O",
            "integer",
            "d",
            |_, _| Ok(Value::Null),
        ));
        let ts = r.definitions(Definitions::Ts).unwrap();
        assert!(
            ts.contains("  with(x: string, opts?: (O) & Cancellable): Promise<void>;"),
            "{ts}"
        );
        assert!(
            ts.contains("  without(ms: number, opts?: Cancellable): Promise<void>;"),
            "{ts}"
        );
        assert!(ts.contains("  plain(opts?: O): number;"), "{ts}");
        let lua = r.definitions(Definitions::Lua).unwrap();
        assert!(
            lua.contains("---@param ms number\nfunction m.without(ms) end"),
            "{lua}"
        );
        assert!(
            lua.contains("---@return integer\nfunction m.plain(opts) end"),
            "{lua}"
        );
    }
}
