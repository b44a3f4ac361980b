//! The spell API's types, as the registry declares them: each bridge's
//! parameters and reply, and the named shapes (option tables, replies)
//! they use, in one small notation that reads like TypeScript:
//!
//! ```text
//! input: string | Message[], opts?: ChatOptions      parameters
//! {text: string, data?: any, usage: Usage}           a table
//! fun(item: any, index: integer): any                a function
//! "lua" | "js" | "rhai"                              literal strings
//! ```
//!
//! Names are `string`, `number`, `integer`, `boolean`, `any`, `nil`, `map`
//! (a table of any keys), or a shape the registry declares. From these,
//! `llmspell api --types lua` writes LuaLS annotations and `--types ts` a
//! TypeScript declaration file.

/// A type in the notation.
#[derive(Debug, Clone, PartialEq)]
pub enum Type {
    /// A primitive or a declared shape.
    Name(String),
    /// A literal string: `"lua"`.
    Literal(String),
    Array(Box<Type>),
    Union(Vec<Type>),
    /// A table of named fields.
    Table(Vec<Param>),
    /// A function: its parameters and what it returns (`None`: nothing).
    Fun(Vec<Param>, Option<Box<Type>>),
}

/// A parameter, or a table's field.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub name: String,
    pub optional: bool,
    /// `...values: any`: any number of them.
    pub rest: bool,
    pub ty: Type,
}

/// The names that are not shapes.
pub const PRIMITIVES: [&str; 7] = [
    "string", "number", "integer", "boolean", "any", "nil", "map",
];

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    Punct(char),
    Rest,
}

fn tokens(text: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            c if c.is_alphabetic() || c == '_' => {
                let mut end = i + c.len_utf8();
                while let Some(&(j, d)) = chars.peek() {
                    if !(d.is_alphanumeric() || d == '_') {
                        break;
                    }
                    end = j + d.len_utf8();
                    chars.next();
                }
                out.push(Token::Ident(text[i..end].to_owned()));
            }
            '"' => {
                let mut s = String::new();
                loop {
                    match chars.next() {
                        Some((_, '"')) => break,
                        Some((_, d)) => s.push(d),
                        None => return Err(format!("unclosed string in {text:?}")),
                    }
                }
                out.push(Token::Str(s));
            }
            '.' if text[i..].starts_with("...") => {
                chars.next();
                chars.next();
                out.push(Token::Rest);
            }
            '{' | '}' | '[' | ']' | '(' | ')' | '|' | ':' | '?' | ',' => out.push(Token::Punct(c)),
            other => return Err(format!("unexpected {other:?} in {text:?}")),
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    text: String,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(&Token::Punct(c)) {
            self.at += 1;
            return true;
        }
        false
    }

    fn expect(&mut self, c: char) -> Result<(), String> {
        if self.eat(c) {
            return Ok(());
        }
        Err(format!(
            "expected {c:?} at token {} of {:?}",
            self.at, self.text
        ))
    }

    fn ty(&mut self) -> Result<Type, String> {
        let mut options = vec![self.postfix()?];
        while self.eat('|') {
            options.push(self.postfix()?);
        }
        Ok(if options.len() == 1 {
            options.remove(0)
        } else {
            Type::Union(options)
        })
    }

    fn postfix(&mut self) -> Result<Type, String> {
        let mut ty = self.primary()?;
        while self.eat('[') {
            self.expect(']')?;
            ty = Type::Array(Box::new(ty));
        }
        Ok(ty)
    }

    fn primary(&mut self) -> Result<Type, String> {
        match self.tokens.get(self.at).cloned() {
            Some(Token::Ident(name)) if name == "fun" => {
                self.at += 1;
                self.expect('(')?;
                let params = self.params(')')?;
                self.expect(')')?;
                let returns = if self.eat(':') {
                    Some(Box::new(self.ty()?))
                } else {
                    None
                };
                Ok(Type::Fun(params, returns))
            }
            Some(Token::Ident(name)) => {
                self.at += 1;
                Ok(Type::Name(name))
            }
            Some(Token::Str(s)) => {
                self.at += 1;
                Ok(Type::Literal(s))
            }
            Some(Token::Punct('{')) => {
                self.at += 1;
                let fields = self.params('}')?;
                self.expect('}')?;
                Ok(Type::Table(fields))
            }
            Some(Token::Punct('(')) => {
                self.at += 1;
                let ty = self.ty()?;
                self.expect(')')?;
                Ok(ty)
            }
            _ => Err(format!(
                "expected a type at token {} of {:?}",
                self.at, self.text
            )),
        }
    }

    /// `name?: type, ...` up to (not past) `close`, or the end.
    fn params(&mut self, close: char) -> Result<Vec<Param>, String> {
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => break,
                Some(Token::Punct(c)) if *c == close => break,
                _ => {}
            }
            let rest = self.peek() == Some(&Token::Rest);
            if rest {
                self.at += 1;
            }
            let name = match self.tokens.get(self.at).cloned() {
                Some(Token::Ident(n)) => n,
                _ => {
                    return Err(format!(
                        "expected a name at token {} of {:?}",
                        self.at, self.text
                    ))
                }
            };
            self.at += 1;
            let optional = self.eat('?');
            self.expect(':')?;
            let ty = self.ty()?;
            out.push(Param {
                name,
                optional,
                rest,
                ty,
            });
            if !self.eat(',') {
                break;
            }
        }
        Ok(out)
    }

    fn done(&self) -> Result<(), String> {
        match self.at == self.tokens.len() {
            true => Ok(()),
            false => Err(format!(
                "unexpected text at token {} of {:?}",
                self.at, self.text
            )),
        }
    }
}

fn parser(text: &str) -> Result<Parser, String> {
    Ok(Parser {
        tokens: tokens(text)?,
        at: 0,
        text: text.to_owned(),
    })
}

/// A parameter list: `key: string, default?: any`.
pub fn parse_params(text: &str) -> Result<Vec<Param>, String> {
    let mut p = parser(text)?;
    let params = p.params('\0')?;
    p.done()?;
    Ok(params)
}

/// One type: `string | Message[]`.
pub fn parse_type(text: &str) -> Result<Type, String> {
    let mut p = parser(text)?;
    let ty = p.ty()?;
    p.done()?;
    Ok(ty)
}

impl Type {
    /// Every name the type uses, for checking that each is declared.
    pub fn names<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Type::Name(n) => out.push(n),
            Type::Literal(_) => {}
            Type::Array(t) => t.names(out),
            Type::Union(ts) => ts.iter().for_each(|t| t.names(out)),
            Type::Table(fields) => fields.iter().for_each(|f| f.ty.names(out)),
            Type::Fun(params, ret) => {
                params.iter().for_each(|p| p.ty.names(out));
                if let Some(r) = ret {
                    r.names(out);
                }
            }
        }
    }

    /// The type in TypeScript.
    pub fn ts(&self) -> String {
        match self {
            Type::Name(n) => match n.as_str() {
                "integer" => "number".into(),
                "nil" => "null".into(),
                "map" => "Record<string, any>".into(),
                other => other.into(),
            },
            Type::Literal(s) => format!("{s:?}"),
            Type::Array(t) => t.array_of(t.ts()),
            Type::Union(ts) => ts.iter().map(Type::ts).collect::<Vec<_>>().join(" | "),
            Type::Table(fields) => {
                let fields: Vec<String> = fields.iter().map(Param::ts).collect();
                format!("{{ {} }}", fields.join("; "))
            }
            Type::Fun(params, ret) => {
                format!("({}) => {}", ts_params(params), ts_return(ret.as_deref()))
            }
        }
    }

    /// An array of this type, given as `text` in either language: a union
    /// or a function is put in parentheses first.
    fn array_of(&self, text: String) -> String {
        match self {
            Type::Union(_) | Type::Fun(..) => format!("({text})[]"),
            _ => format!("{text}[]"),
        }
    }

    /// The type without `nil` (for an optional parameter).
    pub fn without_nil(&self) -> Type {
        match self {
            Type::Union(ts) => {
                let mut ts: Vec<Type> = ts.iter().filter(|t| !t.is_nil()).cloned().collect();
                match ts.len() {
                    1 => ts.remove(0),
                    _ => Type::Union(ts),
                }
            }
            other => other.clone(),
        }
    }

    /// The type in LuaLS's annotations.
    pub fn lua(&self) -> String {
        match self {
            Type::Name(n) => match n.as_str() {
                "map" => "table<string, any>".into(),
                other => other.into(),
            },
            Type::Literal(s) => format!("{s:?}"),
            Type::Array(t) => t.array_of(t.lua()),
            Type::Union(ts) => ts.iter().map(Type::lua).collect::<Vec<_>>().join("|"),
            Type::Table(fields) => {
                let fields: Vec<String> = fields.iter().map(Param::lua).collect();
                format!("{{ {} }}", fields.join(", "))
            }
            Type::Fun(params, ret) => {
                let params: Vec<String> = params.iter().map(Param::lua).collect();
                match ret {
                    Some(r) if !r.is_nil() => format!("fun({}): {}", params.join(", "), r.lua()),
                    _ => format!("fun({})", params.join(", ")),
                }
            }
        }
    }

    /// `nil`: nothing.
    pub fn is_nil(&self) -> bool {
        matches!(self, Type::Name(n) if n == "nil")
    }
}

fn opt(p: &Param) -> &'static str {
    if p.optional {
        "?"
    } else {
        ""
    }
}

impl Param {
    /// As a TypeScript parameter or field.
    pub fn ts(&self) -> String {
        if self.rest {
            return format!("...{}: {}[]", self.name, self.ty.ts());
        }
        format!("{}{}: {}", self.name, opt(self), self.ty.ts())
    }

    /// As a LuaLS function-type parameter or table field.
    pub fn lua(&self) -> String {
        if self.rest {
            return format!("...: {}", self.ty.lua());
        }
        format!("{}{}: {}", self.name, opt(self), self.ty.lua())
    }

    /// As a LuaLS `---@param` or `---@field` names it: `opts? ChatOptions`.
    pub fn lua_annotated(&self) -> String {
        if self.rest {
            return format!("... {}", self.ty.lua());
        }
        format!("{}{} {}", self.name, opt(self), self.ty.lua())
    }
}

/// A parameter list in TypeScript.
pub fn ts_params(params: &[Param]) -> String {
    params.iter().map(Param::ts).collect::<Vec<_>>().join(", ")
}

/// A return type in TypeScript: nothing is `void`, and so is `nil` among
/// other answers (a callback that may return nothing).
pub fn ts_return(ret: Option<&Type>) -> String {
    match ret {
        None => "void".into(),
        Some(r) if r.is_nil() => "void".into(),
        Some(Type::Union(ts)) => ts
            .iter()
            .map(|t| if t.is_nil() { "void".into() } else { t.ts() })
            .collect::<Vec<_>>()
            .join(" | "),
        Some(r) => r.ts(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_tables_functions_and_unions_parse_and_render_in_both_languages() {
        let params = parse_params(
            "input: string | Message[], opts?: {model?: string, n: integer}, \
             on_chunk: fun(text: string): boolean | nil, ...rest: any",
        )
        .unwrap();
        assert_eq!(params.len(), 4);
        assert!(params[1].optional && !params[0].optional && params[3].rest);
        assert_eq!(
            ts_params(&params),
            "input: string | Message[], opts?: { model?: string; n: number }, \
             on_chunk: (text: string) => boolean | void, ...rest: any[]"
        );
        let lua: Vec<String> = params.iter().map(Param::lua).collect();
        assert_eq!(
            lua.join(", "),
            "input: string|Message[], opts?: { model?: string, n: integer }, \
             on_chunk: fun(text: string): boolean|nil, ...: any"
        );
        let ty = parse_type("(\"lua\" | \"js\")[]").unwrap();
        assert_eq!(ty.ts(), "(\"lua\" | \"js\")[]");
        assert_eq!(ty.lua(), "(\"lua\"|\"js\")[]");
        assert_eq!(parse_type("fun()").unwrap().ts(), "() => void");
        assert_eq!(parse_type("map").unwrap().lua(), "table<string, any>");
        assert!(parse_params("").unwrap().is_empty());
    }

    #[test]
    fn bad_notation_is_refused_with_where() {
        for bad in [
            "a: ",
            "a string",
            "a: {b: string",
            "a: string]",
            "a: \"x",
            "a: $",
        ] {
            let e = parse_params(bad).unwrap_err();
            assert!(e.contains(&format!("{bad:?}")), "{bad}: {e}");
        }
    }
}
