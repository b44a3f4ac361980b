//! A debugged JavaScript run's source, probed: QuickJS has no line hook,
//! so before each statement the spell's own text gets a probe that asks
//! whether to stop there, and when it does, hands over a function that
//! runs code in the statement's scope (a direct `eval`, which reads and
//! sets its locals) with the names of the locals in scope.
//!
//! A probe is written on the line of its statement, so every line stays
//! where the user wrote it; only columns after a probe on its line move.
//! A statement that stands alone (an `if`'s branch, a loop's body) is put
//! in braces with its probe. An undebugged run is never probed.

use oxc_allocator::Allocator;
use oxc_ast::ast::{ExportDefaultDeclarationKind, Program, Statement};
use oxc_ast_visit::{walk, Visit};
use oxc_semantic::{ScopeFlags, Scoping, SemanticBuilder};
use oxc_span::{GetSpan, SourceType};

/// The table a probe reads (a `Uint8Array`, from the global of that name
/// into a constant of the module's): a line's entry is 1 when the
/// debugger wants to hear of it. The engine keeps it to what the debugger
/// wants, from its interrupt handler too (a pause asked from outside,
/// breakpoints set while it runs).
pub(super) const TABLE: &str = "__llmspell_at";
/// The global function a probe calls: `(line, run, names)`.
pub(super) const PROBE: &str = "__llmspell_line";

/// A spell's probed source.
#[derive(Debug)]
pub(super) struct Probed {
    pub source: String,
    /// The lines probes stand on: those with code a breakpoint stops at.
    pub lines: std::collections::BTreeSet<u32>,
}

/// The source with a probe before each statement; `None` when it does not
/// parse (QuickJS then says why, in its own words).
pub(super) fn probe(source: &str) -> Option<Probed> {
    let allocator = Allocator::default();
    let parsed = oxc_parser::Parser::new(&allocator, source, SourceType::mjs()).parse();
    if parsed.panicked || !parsed.errors.is_empty() {
        return None;
    }
    let program = parsed.program;
    let semantic = SemanticBuilder::new()
        .with_check_syntax_error(true)
        .build(&program);
    if !semantic.errors.is_empty() {
        return None;
    }
    let scoping = semantic.semantic.into_scoping();
    let mut probes = Probes {
        source,
        scoping: &scoping,
        scopes: Vec::new(),
        place: Place::List,
        starts: line_starts(source),
        edits: Vec::new(),
        lines: Default::default(),
    };
    probes.visit_program(&program);
    // A module constant is faster to read than a global; it comes before
    // everything, a probe at the very start too.
    probes
        .edits
        .insert(0, (0, format!("const {TABLE}=globalThis.{TABLE};")));
    Some(Probed {
        source: probes.apply(),
        lines: probes.lines,
    })
}

/// Where the statement being visited stands.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    /// In a list of statements (a block, a body, the program).
    List,
    /// Alone, where one statement goes (an `if`'s branch, a loop's body).
    Alone,
    /// A label's statement: a probe between them would take the label.
    Labelled,
    /// An arrow function's expression body (a statement only in the tree).
    Expression,
}

struct Probes<'s> {
    source: &'s str,
    scoping: &'s Scoping,
    /// The scopes the visit is in, innermost last, with whether each is a
    /// function's.
    scopes: Vec<(oxc_semantic::ScopeId, bool)>,
    place: Place,
    /// Where each line begins (byte offsets).
    starts: Vec<u32>,
    /// Text to insert, at byte offsets.
    edits: Vec<(u32, String)>,
    lines: std::collections::BTreeSet<u32>,
}

impl Probes<'_> {
    fn line_of(&self, at: u32) -> u32 {
        self.starts.partition_point(|&s| s <= at) as u32
    }

    /// The names of the locals in scope: the innermost function's scopes
    /// (or, outside any function, the spell's top level), inner names
    /// hiding outer ones, in the order they were declared.
    fn names(&self) -> Vec<String> {
        let mut seen: Vec<(u32, &str)> = Vec::new();
        for (scope, function) in self.scopes.iter().rev() {
            for (name, symbol) in self.scoping.get_bindings(*scope).iter() {
                let name: &str = name;
                if !seen.iter().any(|(_, n)| *n == name) {
                    seen.push((self.scoping.symbol_span(*symbol).start, name));
                }
            }
            if *function {
                break;
            }
        }
        seen.sort();
        seen.into_iter().map(|(_, n)| n.to_owned()).collect()
    }

    fn probe_before(&mut self, statement: &Statement<'_>, alone: bool) {
        let span = statement.span();
        let line = self.line_of(span.start);
        self.lines.insert(line);
        let names = serde_json::to_string(&self.names()).unwrap_or_else(|_| "[]".into());
        let probe = format!(
            "if({TABLE}[{line}]){PROBE}({line},\
             (__llmspell_code,__llmspell_value)=>eval(__llmspell_code),{names});"
        );
        match alone {
            false => self.edits.push((span.start, probe)),
            true => {
                self.edits.push((span.start, format!("{{{probe}")));
                self.edits.push((span.end, "}".into()));
            }
        }
    }

    fn apply(&mut self) -> String {
        // Stable: a closing brace and the next probe at one offset stay in
        // the order they were made.
        self.edits.sort_by_key(|(at, _)| *at);
        let extra: usize = self.edits.iter().map(|(_, t)| t.len()).sum();
        let mut out = String::with_capacity(self.source.len() + extra);
        let mut from = 0;
        for (at, text) in &self.edits {
            out.push_str(&self.source[from..*at as usize]);
            out.push_str(text);
            from = *at as usize;
        }
        out.push_str(&self.source[from..]);
        out
    }
}

/// Whether a statement runs anything where it stands: a function's
/// declaration and an import are done before the spell starts, and an
/// empty statement is nothing.
fn runs_code(statement: &Statement<'_>) -> bool {
    match statement {
        Statement::FunctionDeclaration(_)
        | Statement::EmptyStatement(_)
        | Statement::ImportDeclaration(_)
        | Statement::ExportAllDeclaration(_) => false,
        Statement::ExportNamedDeclaration(e) => matches!(
            &e.declaration,
            Some(d) if !matches!(d, oxc_ast::ast::Declaration::FunctionDeclaration(_))
        ),
        Statement::ExportDefaultDeclaration(e) => !matches!(
            e.declaration,
            ExportDefaultDeclarationKind::FunctionDeclaration(_)
        ),
        _ => true,
    }
}

impl<'a> Visit<'a> for Probes<'_> {
    fn enter_scope(
        &mut self,
        flags: ScopeFlags,
        scope: &std::cell::Cell<Option<oxc_semantic::ScopeId>>,
    ) {
        if let Some(id) = scope.get() {
            self.scopes.push((id, flags.is_function()));
        }
    }

    fn leave_scope(&mut self) {
        self.scopes.pop();
    }

    fn visit_program(&mut self, it: &Program<'a>) {
        walk::walk_program(self, it);
    }

    fn visit_arrow_function_expression(&mut self, it: &oxc_ast::ast::ArrowFunctionExpression<'a>) {
        let place = self.place;
        if it.expression {
            self.place = Place::Expression;
        }
        walk::walk_arrow_function_expression(self, it);
        self.place = place;
    }

    fn visit_statements(&mut self, it: &oxc_allocator::Vec<'a, Statement<'a>>) {
        if self.place == Place::Expression {
            self.place = Place::Labelled;
            return walk::walk_statements(self, it);
        }
        for statement in it {
            self.place = Place::List;
            self.visit_statement(statement);
        }
        // What comes next in the statement around the list (an `if`'s
        // other branch) stands alone.
        self.place = Place::Alone;
    }

    fn visit_statement(&mut self, it: &Statement<'a>) {
        let place = std::mem::replace(&mut self.place, Place::Alone);
        match place {
            Place::List if runs_code(it) => self.probe_before(it, false),
            Place::Alone if !matches!(it, Statement::BlockStatement(_)) => {
                self.probe_before(it, true)
            }
            _ => {}
        }
        if matches!(it, Statement::LabeledStatement(_)) {
            self.place = Place::Labelled;
        }
        walk::walk_statement(self, it);
    }
}

fn line_starts(source: &str) -> Vec<u32> {
    std::iter::once(0)
        .chain(
            source
                .bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i as u32 + 1),
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_statement_gets_a_probe_on_its_own_line() {
        let src = "const a = 1;\n\n// note\nfunction f(x) {\n  let y = x + 1;\n  return y;\n}\n\
                   if (a) f(a); else { f(2) }\nexport default f(a);\n";
        let p = probe(src).unwrap();
        assert_eq!(p.lines, [1, 5, 6, 8, 9].into());
        assert_eq!(p.source.lines().count(), src.lines().count());
        // Each probe names the locals there: a function's own, else the top level's.
        let line5 = p.source.lines().nth(4).unwrap();
        assert!(line5.contains(r#"["x","y"]"#), "{line5}");
        let line1 = p.source.lines().next().unwrap();
        assert!(line1.contains(r#"["a","f"]"#), "{line1}");
        // A branch that stands alone is braced with its probe.
        let line8 = p.source.lines().nth(7).unwrap();
        assert!(line8.starts_with("if(__llmspell_at[8]"), "{line8}");
        assert!(line8.contains("{if(__llmspell_at[8]"), "{line8}");
        assert!(line8.contains("f(a);}"), "{line8}");
        assert!(probe("let = 1").is_none());
    }

    #[test]
    fn labels_arrows_and_statements_without_semicolons_stay_valid() {
        let src = "outer: for (let i = 0; i < 2; i++) {\n  for (;;) continue outer\n}\n\
                   const g = (x) => x * 2\nlet s = 0\nwhile (s < 3) s++\nexport default g(s)";
        let p = probe(src).unwrap();
        assert!(p.source.contains("outer: for"), "{}", p.source);
        // Reparsed: still a module.
        assert!(probe(&p.source).is_some(), "{}", p.source);
    }
}
