//! What a spell says it is, readable without running it: a name, a
//! description and the arguments it takes, in comment lines at the top of
//! its file (`--` in Lua, `//` in JavaScript and Rhai):
//!
//! ```lua
//! -- @tool summarize: Summarizes a text file of the project.
//! -- @param path string: the file, inside the project
//! -- @param words? integer: at most this many words
//! ```
//!
//! `llmspell check` shows it, a run checks `spell.args` against it (and
//! `--arg` text is read as the type it names), and `llmspell mcp serve`
//! offers the spell as an MCP tool by it.

use crate::error::{Error, ErrorCode, Location, Result};

/// The types a `@param` may name, as JSON schema names them.
pub const TYPES: [&str; 7] = [
    "string", "integer", "number", "boolean", "array", "object", "any",
];

/// A spell's declaration.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Signature {
    /// `@tool NAME`: the name an MCP client calls it by.
    pub name: Option<String>,
    pub description: String,
    pub params: Vec<Param>,
    /// The line of `@tool`, for errors.
    pub line: u32,
}

/// One `@param NAME[?] TYPE: description`.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub name: String,
    pub ty: String,
    pub required: bool,
    pub description: String,
    pub line: u32,
}

impl Signature {
    /// The declaration in `source`'s leading comment lines (`file` names
    /// it in errors); `None` when it declares nothing. A line of the
    /// comment that starts `@tool` or `@param` but is not one is
    /// `spell.syntax`, at its line.
    pub fn parse(file: &str, source: &[u8], comment: &str) -> Result<Option<Signature>> {
        let text = String::from_utf8_lossy(source);
        let mut sig = Signature::default();
        let mut declared = false;
        // What an indented line continues: the tool's text (`Some(None)`)
        // or a param's; `None` after a plain comment line.
        let mut last: Option<Option<usize>> = None;
        for (i, raw) in text.lines().enumerate() {
            let line = i as u32 + 1;
            let trimmed = raw.trim();
            if trimmed.is_empty() || (line == 1 && trimmed.starts_with("#!")) {
                continue;
            }
            let Some(body) = trimmed.strip_prefix(comment) else {
                break;
            };
            let after = body.trim_start_matches(['-', '/']);
            // An indented line goes on with the declaration above it.
            let indented = after
                .strip_prefix(' ')
                .unwrap_or(after)
                .starts_with(char::is_whitespace);
            let body = after.trim();
            let bad = |what: String| {
                Err(Error::new(ErrorCode::SpellSyntax, what).at(Some(Location {
                    file: file.to_owned(),
                    line,
                })))
            };
            if let Some(rest) = tag(body, "@tool") {
                if sig.name.is_some() {
                    return bad("a second @tool: a spell is one tool".into());
                }
                let (name, description) = rest.split_once(':').unwrap_or((rest, ""));
                let name = name.trim();
                if !valid_name(name) {
                    return bad(format!(
                        "@tool {name:?}: a tool's name is 1 to 64 letters, digits, _ or - \
                         (\"@tool NAME: what it does\")"
                    ));
                }
                sig.name = Some(name.to_owned());
                sig.description = description.trim().to_owned();
                sig.line = line;
                declared = true;
                last = Some(None);
            } else if let Some(rest) = tag(body, "@param") {
                let (head, description) = rest.split_once(':').unwrap_or((rest, ""));
                let mut words = head.split_whitespace();
                let (Some(name), Some(ty), None) = (words.next(), words.next(), words.next())
                else {
                    return bad(format!(
                        "@param {}: write \"@param NAME TYPE: what it is\" (NAME? when it may be left out)",
                        head.trim()
                    ));
                };
                let (name, required) = match name.strip_suffix('?') {
                    Some(n) => (n, false),
                    None => (name, true),
                };
                if !valid_name(name) {
                    return bad(format!(
                        "@param {name:?}: a name is letters, digits, _ or -"
                    ));
                }
                if !TYPES.contains(&ty) {
                    return bad(format!(
                        "@param {name}: {ty:?} is not a type; one of {}",
                        TYPES.join(", ")
                    ));
                }
                if sig.params.iter().any(|p| p.name == name) {
                    return bad(format!("@param {name} is declared twice"));
                }
                sig.params.push(Param {
                    name: name.to_owned(),
                    ty: ty.to_owned(),
                    required,
                    description: description.trim().to_owned(),
                    line,
                });
                declared = true;
                last = Some(Some(sig.params.len() - 1));
            } else if body.starts_with('@') {
                let word = body.split_whitespace().next().unwrap_or(body);
                if matches!(word, "@tools" | "@arg" | "@args" | "@params" | "@name") {
                    return bad(format!("{word} is not a declaration; @tool and @param are"));
                }
            } else if let (Some(to), true, false) = (last, indented, body.is_empty()) {
                let text = match to {
                    Some(i) => &mut sig.params[i].description,
                    None => &mut sig.description,
                };
                if !text.is_empty() {
                    text.push(' ');
                }
                text.push_str(body);
            } else {
                // A plain comment: what follows it continues nothing.
                last = None;
            }
        }
        Ok(declared.then_some(sig))
    }

    /// The arguments as a JSON schema.
    pub fn schema(&self) -> serde_json::Value {
        let mut properties = serde_json::Map::new();
        for p in &self.params {
            let mut prop = serde_json::Map::new();
            if p.ty != "any" {
                prop.insert("type".into(), p.ty.clone().into());
            }
            if !p.description.is_empty() {
                prop.insert("description".into(), p.description.clone().into());
            }
            properties.insert(p.name.clone(), prop.into());
        }
        let required: Vec<serde_json::Value> = self
            .params
            .iter()
            .filter(|p| p.required)
            .map(|p| p.name.clone().into())
            .collect();
        serde_json::json!({
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": false,
        })
    }

    /// `--arg` text as the type its `@param` names, where it reads as one
    /// (`5` for an integer, `true` for a boolean, JSON for an array or an
    /// object); anything else is left for [`Signature::check`] to refuse.
    pub fn read_text_args(&self, args: &mut serde_json::Map<String, serde_json::Value>) {
        for p in &self.params {
            let Some(serde_json::Value::String(text)) = args.get(&p.name) else {
                continue;
            };
            let read: Option<serde_json::Value> = match p.ty.as_str() {
                "integer" => text.trim().parse::<i64>().ok().map(Into::into),
                "number" => text
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .map(Into::into),
                "boolean" => match text.trim() {
                    "true" => Some(true.into()),
                    "false" => Some(false.into()),
                    _ => None,
                },
                "array" | "object" | "any" => serde_json::from_str::<serde_json::Value>(text)
                    .ok()
                    .filter(|v| p.ty == "any" || type_name(v) == p.ty),
                _ => None,
            };
            if let Some(v) = read {
                args.insert(p.name.clone(), v);
            }
        }
    }

    /// `args.invalid`, at the declaration's line, unless `args` are what
    /// the spell declares: every required one there, each of its type,
    /// none it does not declare.
    pub fn check(
        &self,
        file: &str,
        args: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<()> {
        let who = self.name.as_deref().unwrap_or(file);
        let at = |line: u32| {
            Some(Location {
                file: file.to_owned(),
                line,
            })
        };
        for p in &self.params {
            match args.get(&p.name) {
                None if p.required => {
                    let about = if p.description.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", p.description)
                    };
                    return Err(Error::new(
                        ErrorCode::ArgsInvalid,
                        format!(
                            "{who} needs argument {}{about}: --arg {}=...",
                            p.name, p.name
                        ),
                    )
                    .at(at(p.line)));
                }
                Some(v)
                    if p.ty != "any"
                        && type_name(v) != p.ty
                        && !(p.ty == "number" && type_name(v) == "integer") =>
                {
                    return Err(Error::new(
                        ErrorCode::ArgsInvalid,
                        format!(
                            "{who}: argument {} must be {} {}, not {}",
                            p.name,
                            article(&p.ty),
                            p.ty,
                            shown(v)
                        ),
                    )
                    .at(at(p.line)));
                }
                _ => {}
            }
        }
        if let Some(extra) = args
            .keys()
            .find(|k| !self.params.iter().any(|p| &p.name == *k))
        {
            let names: Vec<&str> = self.params.iter().map(|p| p.name.as_str()).collect();
            return Err(Error::new(
                ErrorCode::ArgsInvalid,
                format!(
                    "{who} takes no argument {extra:?}; it takes {}",
                    if names.is_empty() {
                        "none".into()
                    } else {
                        names.join(", ")
                    }
                ),
            )
            .at(at(self.line.max(1))));
        }
        Ok(())
    }

    /// The declaration as `llmspell check` shows it.
    pub fn describe(&self) -> String {
        let mut out = match &self.name {
            Some(n) if self.description.is_empty() => format!("tool {n}"),
            Some(n) => format!("tool {n}: {}", self.description),
            None => "arguments".to_owned(),
        };
        for p in &self.params {
            out.push_str(&format!(
                "\n  {} ({}{})",
                p.name,
                p.ty,
                if p.required { ", required" } else { "" }
            ));
            if !p.description.is_empty() {
                out.push_str(&format!(": {}", p.description));
            }
        }
        out
    }
}

fn tag<'a>(body: &'a str, tag: &str) -> Option<&'a str> {
    let rest = body.strip_prefix(tag)?;
    (rest.is_empty() || rest.starts_with(char::is_whitespace)).then(|| rest.trim())
}

/// A tool's name, as models take one: 1 to 64 letters, digits, `_` or
/// `-` (`tool.define` and `@tool` both ask this).
pub fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn type_name(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

fn article(ty: &str) -> &'static str {
    match ty.as_bytes().first() {
        Some(b'a' | b'e' | b'i' | b'o' | b'u') => "an",
        _ => "a",
    }
}

fn shown(v: &serde_json::Value) -> String {
    let text = v.to_string();
    match text.char_indices().nth(60) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LUA: &str = "#!/usr/bin/env llmspell\n-- @tool summarize: Summarizes a text file\n--   of the project.\n-- @param path string: the file,\n--   inside the project\n-- @param words? integer: at most this many\n-- A plain comment, not part of it.\n--   Nor this.\n\nlocal x = 1\n-- @param late string: not read (after code)\n";

    #[test]
    fn the_leading_comments_declare_name_text_and_params() {
        let sig = Signature::parse("s.lua", LUA.as_bytes(), "--")
            .unwrap()
            .unwrap();
        assert_eq!(sig.name.as_deref(), Some("summarize"));
        assert_eq!(sig.description, "Summarizes a text file of the project.");
        assert_eq!(sig.params.len(), 2);
        assert_eq!(sig.params[0].description, "the file, inside the project");
        assert!(sig.params[0].required && !sig.params[1].required);
        assert_eq!(sig.params[1].line, 6);
        assert_eq!(sig.params[1].description, "at most this many");
        assert_eq!(
            sig.schema(),
            serde_json::json!({"type": "object", "additionalProperties": false,
                "required": ["path"],
                "properties": {"path": {"type": "string", "description": "the file, inside the project"},
                               "words": {"type": "integer", "description": "at most this many"}}})
        );
        let js = "// @param n number\nprint(1);";
        let sig = Signature::parse("s.js", js.as_bytes(), "//")
            .unwrap()
            .unwrap();
        assert_eq!((sig.name, sig.params[0].ty.as_str()), (None, "number"));
        assert_eq!(
            Signature::parse("s.js", b"// just a comment\nx", "//").unwrap(),
            None
        );
    }

    #[test]
    fn a_bad_declaration_is_a_syntax_error_at_its_line() {
        for (src, line, word) in [
            ("-- @tool bad name: x", 1, "name"),
            ("-- ok\n-- @param n int: x", 2, "not a type"),
            ("-- @param n: x", 1, "NAME TYPE"),
            ("-- @param n string\n-- @param n string", 2, "twice"),
            ("-- @tool a\n-- @tool b", 2, "second"),
            ("-- @arg n string", 1, "@param"),
        ] {
            let e = Signature::parse("s.lua", src.as_bytes(), "--").unwrap_err();
            assert_eq!(e.code, ErrorCode::SpellSyntax, "{src}");
            assert_eq!(e.location.as_ref().unwrap().line, line, "{src}");
            assert!(e.message.contains(word), "{src}: {}", e.message);
        }
    }

    #[test]
    fn text_args_are_read_as_their_types_and_checked() {
        let sig = Signature::parse("s.lua", LUA.as_bytes(), "--")
            .unwrap()
            .unwrap();
        let mut args = serde_json::Map::new();
        args.insert("path".into(), "a.txt".into());
        args.insert("words".into(), "50".into());
        sig.read_text_args(&mut args);
        assert_eq!(args["words"], 50);
        sig.check("s.lua", &args).unwrap();
        args.insert("words".into(), "many".into());
        sig.read_text_args(&mut args);
        let e = sig.check("s.lua", &args).unwrap_err();
        assert_eq!(e.code, ErrorCode::ArgsInvalid);
        assert!(
            e.message.contains("must be an integer, not \"many\""),
            "{}",
            e.message
        );
        assert_eq!(e.location.unwrap().line, 6);
        args.remove("words");
        args.remove("path");
        let e = sig.check("s.lua", &args).unwrap_err();
        assert!(e.message.contains("needs argument path"), "{}", e.message);
        args.insert("path".into(), "a".into());
        args.insert("pth".into(), "a".into());
        let e = sig.check("s.lua", &args).unwrap_err();
        assert!(e.message.contains("no argument \"pth\""), "{}", e.message);
    }
}
