//! Rhai: values, bridges, sandbox and limits.
//!
//! The sandbox: `Engine::new_raw` with the standard package and no module
//! resolver, so `import` finds nothing and nothing touches the disk.
//! Bridges are methods on one small custom type per module (`state.get`),
//! held in global constants, so script functions see them too. Limits:
//! `on_progress` (stop, instructions, time, memory; termination cannot be
//! caught), `max_call_levels`, and per-value size limits. The memory cap
//! counts the spell thread's live bytes through [`crate::alloc`]; without
//! that allocator only the per-value limits apply.

use std::any::TypeId;
use std::cell::RefCell;
use std::rc::{Rc, Weak};

use futures_util::future::LocalBoxFuture;

use rhai::packages::{Package, StandardPackage};
use rhai::{
    Dynamic, Engine as Rhai, FnPtr, ImmutableString, Module, NativeCallContext, ParseErrorType,
    Position, Scope, AST,
};

#[cfg(feature = "rhai-debugger")]
use super::rhai_debug;
use super::rhai_lib::{container_text, runtime_error, RhaiResult};
use super::rhai_tokens::{
    allow_keyword_members, member_names, modules_with_call, rewrite_segments, Parse, Segments,
    CALL_ALIAS,
};
use super::rhai_values::{
    convert, from_rhai, location, parse_error, rhai_error, to_rhai, MAX_CALL_LEVELS,
};
use super::skeleton::{self, Guard, Layout};
use super::Engine;
use crate::error::{Error, ErrorCode, Location, Result};
use crate::session::Session;
use crate::session::{ArgList, AsyncHost, BridgeId, ScriptHost};
use crate::value::{Callback, Path, Value};

/// Bridge functions take at most this many arguments in Rhai.
const MAX_ARGS: usize = 6;
/// What one workflow fiber costs the host while it lives: the pages of
/// its stack a Rhai call touches, roughly.
const FIBER_BYTES: usize = 64 << 10;
/// The clock is read every this many operations.
const SLOW_CHECK_MASK: u64 = 1023;

/// The objects bridges return (`bot.run("hi")`), as script functions
/// merged into every script: for each bridge that returns one, a function
/// that gives the handle map its methods, each a function pointer to a
/// script function (one per number of arguments, as Rhai has no optional
/// ones) that calls the method's bridge with `this` first.
fn object_prelude(registry: &crate::session::Registry) -> String {
    let (mut out, mut methods_out) = (String::new(), String::new());
    for (id, _) in registry.bridges().iter().enumerate() {
        let Some(methods) = registry.methods(id) else {
            continue;
        };
        out.push_str(&format!("fn {OBJECT_FN}{id}(h) {{\n"));
        for (m, (name, target)) in methods.iter().enumerate() {
            out.push_str(&format!("    h.{name} = Fn(\"{OBJECT_FN}{id}_{m}\");\n"));
            let bridge = registry.get(*target);
            let most = bridge
                .max_args()
                .map_or(MOST_METHOD_ARGS, |n| n.saturating_sub(1));
            for n in 0..=most {
                let params: Vec<String> = (1..=n).map(|i| format!("a{i}")).collect();
                let args = std::iter::once("this".to_owned()).chain(params.iter().cloned());
                methods_out.push_str(&format!(
                    "fn {OBJECT_FN}{id}_{m}({}) {{ {}({}) }}\n",
                    params.join(", "),
                    bridge.name,
                    args.collect::<Vec<_>>().join(", ")
                ));
            }
        }
        out.push_str("    h\n}\n");
    }
    out.push_str(&methods_out);
    out
}

/// The script functions of [`object_prelude`] start with this.
const OBJECT_FN: &str = "llmspell_object_";
/// A method whose bridge takes any number of arguments takes this many.
const MOST_METHOD_ARGS: usize = 4;

/// A bridge module (`state`, `log`, ...) as a Rhai value.
#[derive(Clone)]
struct BridgeModule(usize);

thread_local! {
    // Building the standard package costs ~100 µs: once per spell thread.
    static STANDARD: StandardPackage = StandardPackage::new();
}

pub(crate) struct RhaiEngine {
    rhai: Rc<Rhai>,
    session: Rc<Session>,
    scope: Scope<'static>,
    /// The spell's compiled code, for calling its functions after it ran.
    ast: AST,
    shared: Rc<Shared>,
    prelude: AST,
    /// Where the spell's `${}` segments are, found as it is parsed.
    segments: Rc<Segments>,
}

/// What waiting bridges' bodies need to call script functions: the engine
/// (weak: the engine's own functions hold this) and the spell's functions.
#[derive(Default)]
struct Shared {
    rhai: RefCell<Weak<Rhai>>,
    functions: RefCell<Rc<AST>>,
    /// In a debugged run, what a pause shows.
    #[cfg(feature = "rhai-debugger")]
    debug: Rc<rhai_debug::Debugging>,
}
impl RhaiEngine {
    pub fn new(session: Rc<Session>) -> Result<Self> {
        let mut rhai = Rhai::new_raw();
        STANDARD.with(|p| {
            p.register_into_engine(&mut rhai);
        });
        limits(&mut rhai, &session);
        let segments = Rc::new(Segments::default());
        allow_keyword_members(
            &mut rhai,
            member_names(session.registry()),
            modules_with_call(session.registry()),
            Some(parse_limits(&session)),
            Some(segments.clone()),
        );
        let shared = Rc::new(Shared::default());
        bridges(&mut rhai, &session, &shared);
        let prelude = rhai
            .compile(object_prelude(session.registry()))
            .map_err(|e| parse_error(&e, "prelude"))?;
        #[cfg(feature = "rhai-debugger")]
        if session.debugger().is_some() {
            // The prelude's functions (closures too) are not the spell's lines.
            let ours = prelude
                .iter_functions()
                .map(|f| f.name.to_owned())
                .collect();
            debug_lines(&mut rhai, &session, &shared, ours);
        }
        let rhai = Rc::new(rhai);
        *shared.rhai.borrow_mut() = Rc::downgrade(&rhai);
        Ok(RhaiEngine {
            prelude,
            segments,
            rhai,
            session,
            scope: Scope::new(),
            ast: AST::empty(),
            shared,
        })
    }

    fn compile(&self, name: &str, source: &str) -> Result<AST> {
        let with_text;
        let source = match self.interpolations(source) {
            Some(rewritten) => {
                with_text = rewritten;
                &with_text
            }
            None => source,
        };
        let mut ast = self.parse(Parse::Rewritten, source).map_err(|e| {
            // A parse stopped by a limit ends with that limit.
            match self.session.stop_handle().reason() {
                Some(code) => self.session.stop_error(code),
                None => parse_error(&e, name),
            }
        })?;
        ast = self.prelude.merge(&ast);
        ast.set_source(name);
        Ok(ast)
    }

    /// The source with each `${ ... }` segment of an interpolated string
    /// turned into `${llmspell_text({ ... })}`, when it has any; `None`
    /// when it has none or does not parse (the real compile says why).
    /// Rhai prints a segment that is not a string with its own
    /// `to_string`, and when a limit stops that call as it begins, prints
    /// the value natively instead, unchecked: an array of many references
    /// to one long string then takes gigabytes. `llmspell_text` makes the
    /// text as the limits allow, so Rhai only ever copies a string. The
    /// rewrite keeps every line where it was.
    fn interpolations(&self, source: &str) -> Option<String> {
        if !source.contains("${") {
            return None;
        }
        let parsed = self.parse(Parse::Recording, source);
        let braces = self.segments.take();
        if parsed.is_err() || braces.is_empty() {
            return None;
        }
        rewrite_segments(source, &braces)
    }

    /// Compiles `source` as a parse of kind `kind`; any parse outside
    /// these (an `eval`'s, at run time) is [`Parse::Eval`].
    fn parse(&self, kind: Parse, source: &str) -> std::result::Result<AST, rhai::ParseError> {
        self.segments.parse.set(kind);
        let compiled = self.rhai.compile_with_scope(&self.scope, source);
        self.segments.parse.set(Parse::Eval);
        compiled
    }

    fn run(&mut self, ast: &AST) -> Result<Value> {
        *self.shared.functions.borrow_mut() = Rc::new(ast.clone_functions_only());
        let out = self
            .rhai
            .eval_ast_with_scope::<Dynamic>(&mut self.scope, ast);
        match out {
            Ok(v) => from_rhai(&v, &self.session),
            Err(e) => Err(rhai_error(&e, &self.session)),
        }
    }
}

impl Engine for RhaiEngine {
    fn run_main(&mut self, name: &str, source: &[u8]) -> Result<Value> {
        let ast = self.compile(name, super::utf8_text(name, source)?)?;
        let out = self.run(&ast);
        self.ast = ast;
        out
    }

    fn eval(&mut self, source: &str) -> Result<Value> {
        let ast = self.compile("repl.rhai", source)?;
        // Functions defined in earlier entries stay callable.
        let merged = self.ast.merge(&ast);
        let out = self.run(&merged);
        self.ast = merged.clone_functions_only();
        out
    }

    fn is_incomplete(&self, source: &str) -> bool {
        match self.parse(Parse::Rewritten, source) {
            Ok(_) => false,
            Err(e) => {
                matches!(
                    e.err_type(),
                    ParseErrorType::UnexpectedEOF | ParseErrorType::MissingToken(..)
                ) && e
                    .position()
                    .line()
                    .is_none_or(|l| l >= source.lines().count())
            }
        }
    }

    fn emit(&mut self, topic: &str, data: Value) -> Result<()> {
        let mut host = TopHost {
            rhai: &self.rhai,
            ast: &self.ast,
            session: &self.session,
            shared: &self.shared,
        };
        self.session.emit(&mut host, topic, || data)
    }
}

/// A debugged run: Rhai's debugger interface, told to stop at every node,
/// gives us each line as it begins (for line breakpoints and line steps)
/// and the scope (for the locals a pause shows). Only a debugged run pays
/// for it.
#[cfg(feature = "rhai-debugger")]
#[allow(deprecated)] // Rhai marks its debugger interface "volatile".
fn debug_lines(rhai: &mut Rhai, s: &Rc<Session>, shared: &Rc<Shared>, prelude: Vec<String>) {
    use rhai::debugger::{DebuggerCommand, DebuggerEvent};
    use rhai::{ASTNode, Expr};
    let (s, shared) = (s.clone(), shared.clone());
    *shared.debug.prelude.borrow_mut() = prelude;
    let last_place = std::cell::Cell::new((0u32, 0u32));
    rhai.register_debugger(
        |_, debugger| debugger,
        move |mut ctx, event, node, source, pos| {
            // A node about to run; not a function returning to its caller,
            // nor a debugger's own code.
            if !matches!(event, DebuggerEvent::Start | DebuggerEvent::Step)
                || shared.debug.evaluating.get()
            {
                return Ok(DebuggerCommand::StepInto);
            }
            rhai_debug::apply_pending(&mut ctx, &shared.debug);
            if !starts_a_line(&node) {
                return Ok(DebuggerCommand::StepInto);
            }
            let in_prelude = ctx
                .global_runtime_state()
                .debugger()
                .call_stack()
                .last()
                .is_some_and(|f| {
                    shared
                        .debug
                        .prelude
                        .borrow()
                        .iter()
                        .any(|p| *p == f.fn_name)
                });
            let Some(line) = pos.line().filter(|_| !in_prelude) else {
                return Ok(DebuggerCommand::StepInto);
            };
            let line = line as u32;
            // A line begins as in Lua: a line other than the last, or a
            // statement back at or before the last place on it (a loop's
            // next round, a call of a one-line function).
            let column = pos.position().unwrap_or(0) as u32;
            let (was_line, was_column) = last_place.replace((line, column));
            let new_line =
                was_line != line || (matches!(node, ASTNode::Stmt(_)) && column <= was_column);
            if new_line || matches!(node, ASTNode::Stmt(_) | ASTNode::Expr(Expr::Dot(..))) {
                *shared.debug.locals.borrow_mut() = rhai_debug::scope_vars(ctx.scope());
                *shared.debug.stack.borrow_mut() = call_stack(&ctx, &shared, source, line, &s);
            }
            if new_line {
                let file = source.unwrap_or(&s.info.name).to_owned();
                let mut frames = rhai_debug::AtLine {
                    ctx: &mut ctx,
                    debug: &shared.debug,
                    functions: shared.functions.borrow().clone(),
                    session: &s,
                };
                crate::session::debug::at_line(&s, line, &mut frames, || Some(file))
                    .map_err(|e| runtime_error(&e, pos))?;
            }
            Ok(DebuggerCommand::StepInto)
        },
    );
}

/// Rhai's own `sleep` blocks the thread past every limit and panics on a
/// huge number: ours waits as a bridge does (stoppable, bounded by the
/// deadline, overlapping inside `workflow` branches).
fn sleep(rhai: &mut Rhai, s: &Rc<Session>) {
    fn wait(s: &Session, secs: f64) -> RhaiResult<()> {
        // Zero, negative and NaN do not wait, as in Rhai's own.
        if secs.is_nan() || secs <= 0.0 {
            return Ok(());
        }
        let d = std::time::Duration::try_from_secs_f64(secs).unwrap_or(std::time::Duration::MAX);
        match crate::session::wait::block_on(s, crate::session::wait::sleep(d)) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) | Err(e) => Err(runtime_error(&e, Position::NONE)),
        }
    }
    let s1 = s.clone();
    rhai.register_fn("sleep", move |secs: rhai::FLOAT| wait(&s1, secs));
    let s2 = s.clone();
    rhai.register_fn("sleep", move |secs: rhai::INT| wait(&s2, secs as f64));
}

/// True (and the limit tripped) once a parse has run past the spell's
/// stop, deadline or memory cap.
fn parse_limits(s: &Session) -> Box<dyn Fn() -> bool> {
    let stop = s.stop_handle().clone();
    let deadline = s.deadline().clone();
    let cap = s
        .limits()
        .memory_bytes()
        .filter(|_| crate::alloc::installed())
        .map(|c| c as isize);
    let base = crate::alloc::thread_live_bytes();
    Box::new(move || {
        let code = if stop.is_stopped() {
            None
        } else if deadline.passed() {
            Some(ErrorCode::LimitTime)
        } else if cap.is_some_and(|c| crate::alloc::thread_live_bytes() - base > c) {
            Some(ErrorCode::LimitMemory)
        } else {
            return false;
        };
        if let Some(code) = code {
            stop.trip(code);
        }
        true
    })
}

fn limits(rhai: &mut Rhai, s: &Rc<Session>) {
    sleep(rhai, s);
    let l = &s.limits();
    // With no call_depth, as deep as the spell thread safely holds.
    rhai.set_max_call_levels(match l.call_depth {
        0 => MAX_CALL_LEVELS,
        n => (n as usize).min(MAX_CALL_LEVELS),
    });
    let cap = l.memory_bytes();
    let limiter: Rc<dyn crate::value::Limiter> = s.clone();
    super::rhai_lib::install(rhai, &limiter);
    let counting = cap.is_some() && crate::alloc::installed();
    let base = crate::alloc::thread_live_bytes();
    if counting {
        s.set_heap(Box::new(move || {
            usize::try_from(crate::alloc::thread_live_bytes() - base).unwrap_or(0)
        }));
    }
    let cap = cap.unwrap_or(usize::MAX) as isize;
    // Our own count of operations: Rhai's restarts from the caller's for
    // each callback a built-in calls (`map`, `sort`), so a short callback
    // may never reach a multiple of the check interval.
    let guard = Guard::new(s, 1);
    rhai.on_progress(move |_| {
        let code = match guard.count(1) {
            Err(code) => code,
            // Every operation: one step may double a string.
            Ok(_) if counting && crate::alloc::thread_live_bytes() - base > cap => {
                guard.trip(ErrorCode::LimitMemory)
            }
            Ok(ops) if ops & SLOW_CHECK_MASK == 0 && guard.time_up() => {
                guard.trip(ErrorCode::LimitTime)
            }
            Ok(_) => return None,
        };
        Some(Dynamic::from(code.as_str()))
    });
}

/// The registry in Rhai: each module a global of one type, whose members
/// are functions registered by name for that type and told apart by the
/// module's index; objects are the prelude's ([`object_prelude`]).
#[derive(Default)]
struct RhaiLayout {
    globals: Module,
    modules: usize,
    /// Each member name, and its bridge in each module that has one.
    members: Vec<(&'static str, Vec<Option<BridgeId>>)>,
    functions: Vec<(&'static str, BridgeId)>,
}

impl Layout for RhaiLayout {
    type Function = BridgeId;
    type Error = std::convert::Infallible;

    fn function(&mut self, id: BridgeId) -> std::result::Result<BridgeId, Self::Error> {
        Ok(id)
    }

    /// The bridge as it is: `call_bridge` hands its result to the
    /// prelude's object function.
    fn object(
        &mut self,
        _id: BridgeId,
        make: BridgeId,
        _methods: Vec<(&'static str, BridgeId)>,
    ) -> std::result::Result<BridgeId, Self::Error> {
        Ok(make)
    }

    fn module(
        &mut self,
        name: &'static str,
        members: Vec<(&'static str, BridgeId)>,
    ) -> std::result::Result<(), Self::Error> {
        let index = self.modules;
        self.modules += 1;
        self.globals.set_var(name, BridgeModule(index));
        for (member, id) in members {
            let slot = match self.members.iter().position(|(m, _)| *m == member) {
                Some(i) => i,
                None => {
                    self.members.push((member, Vec::new()));
                    self.members.len() - 1
                }
            };
            let by_module = &mut self.members[slot].1;
            by_module.resize(index + 1, None);
            by_module[index] = Some(id);
        }
        Ok(())
    }

    fn global(&mut self, name: &'static str, id: BridgeId) -> std::result::Result<(), Self::Error> {
        self.functions.push((name, id));
        Ok(())
    }
}

fn bridges(rhai: &mut Rhai, s: &Rc<Session>, shared: &Rc<Shared>) {
    rhai.register_type_with_name::<BridgeModule>("bridge module");
    let mut layout = RhaiLayout::default();
    let Ok(()) = skeleton::install(s.registry(), &mut layout);
    let RhaiLayout {
        mut globals,
        modules,
        members,
        functions,
    } = layout;
    globals.set_var("spell", to_rhai(s.info.to_value()));
    rhai.register_global_module(globals.into());

    for (member, mut by_module) in members {
        by_module.resize(modules, None);
        let by_module = Rc::new(by_module);
        for arity in 0..=MAX_ARGS {
            let mut types = vec![TypeId::of::<BridgeModule>()];
            types.extend(std::iter::repeat_n(TypeId::of::<Dynamic>(), arity));
            let s = s.clone();
            let shared = shared.clone();
            let by_module = by_module.clone();
            let name = if member == "call" { CALL_ALIAS } else { member };
            rhai.register_raw_fn(name, types, move |ctx, args| {
                let module = args[0].clone_cast::<BridgeModule>().0;
                let Some(id) = by_module[module] else {
                    return Err(runtime_error(
                        &Error::args(format!("no function {member} in this module")),
                        ctx.call_position(),
                    ));
                };
                call_bridge(&ctx, &s, &shared, id, args[1..].iter().map(|a| &**a))
            });
        }
    }
    for (name, id) in functions {
        if name == "print" {
            register_print(rhai, s, shared, id);
            continue;
        }
        for arity in 0..=MAX_ARGS {
            let s = s.clone();
            let shared = shared.clone();
            let types = vec![TypeId::of::<Dynamic>(); arity];
            rhai.register_raw_fn(name, types, move |ctx, args| {
                call_bridge(&ctx, &s, &shared, id, args.iter().map(|a| &**a))
            });
        }
    }
}

/// `print(x)`: Rhai's own text of the value. Registered for each type the
/// standard package prints, so ours wins the exact-type lookup.
fn register_print(rhai: &mut Rhai, s: &Rc<Session>, shared: &Rc<Shared>, id: usize) {
    macro_rules! print_for {
        ($($t:ty),*) => {$({
            let s = s.clone();
            let shared = shared.clone();
            rhai.register_fn("print", move |ctx: NativeCallContext, v: $t| {
                let mut v = Dynamic::from(v);
                let text = match v.read_lock::<ImmutableString>().map(|t| t.to_string()) {
                    Some(t) => t,
                    None => match container_text(&*s, &ctx, &mut v)? {
                        Some(text) => text,
                        None => v.to_string(),
                    },
                };
                call_bridge(&ctx, &s, &shared, id, std::iter::once(&Dynamic::from(text))).map(|_| ())
            });
        })*};
    }
    print_for!(
        ImmutableString,
        rhai::INT,
        rhai::FLOAT,
        bool,
        char,
        (),
        rhai::Array,
        rhai::Map,
        Dynamic
    );
    let s = s.clone();
    let shared = shared.clone();
    rhai.register_fn("print", move |ctx: NativeCallContext| {
        call_bridge(
            &ctx,
            &s,
            &shared,
            id,
            std::iter::once(&Dynamic::from(String::new())),
        )
        .map(|_| ())
    });
}

fn call_bridge<'a>(
    ctx: &NativeCallContext,
    s: &Rc<Session>,
    shared: &Rc<Shared>,
    id: usize,
    args: impl Iterator<Item = &'a Dynamic>,
) -> RhaiResult<Dynamic> {
    let pos = ctx.call_position();
    let mut values = ArgList::new();
    for (i, a) in args.enumerate() {
        let converted = convert(a, &mut Path::argument(i), &mut s.meter());
        values.push(converted.map_err(|e| runtime_error(&e, pos))?);
    }
    let mut host = CallHost {
        ctx,
        session: s,
        shared,
        #[cfg(feature = "rhai-debugger")]
        snapshot: None,
    };
    match s.dispatch(id, values, &mut host) {
        Ok(v) => match s.registry().get(id).object {
            Some(_) => ctx.call_fn::<Dynamic>(format!("{OBJECT_FN}{id}"), (to_rhai(v),)),
            None => Ok(to_rhai(v)),
        },
        Err(e) => Err(runtime_error(&e, pos)),
    }
}

/// Calls back into script functions from inside a bridge call.
struct CallHost<'a, 'b> {
    ctx: &'a NativeCallContext<'b>,
    session: &'a Rc<Session>,
    shared: &'a Rc<Shared>,
    /// The spell's frames, made when a debugger asks for them.
    #[cfg(feature = "rhai-debugger")]
    snapshot: Option<rhai_debug::Snapshot>,
}

#[cfg(feature = "rhai-debugger")]
impl CallHost<'_, '_> {
    fn snapshot_now(&self) -> rhai_debug::Snapshot {
        let calls = self
            .ctx
            .debugger()
            .map(|d| d.call_stack())
            .unwrap_or_default();
        // Rhai counts the bridge's own call as a level.
        let level = self.ctx.call_level().saturating_sub(1);
        let engine = rhai_debug::Engine {
            debug: self.shared.debug.clone(),
            functions: self.shared.functions.borrow().clone(),
            rhai: self.shared.rhai.borrow().clone(),
            session: self.session.clone(),
        };
        rhai_debug::Snapshot::new(calls, level, engine)
    }
}

impl crate::session::ScriptHost for CallHost<'_, '_> {
    fn call(&mut self, f: &Callback, args: Vec<Value>) -> Result<Value> {
        let fp = fn_ptr(f)?;
        let args: Vec<Dynamic> = args.into_iter().map(to_rhai).collect();
        match fp.call_raw(self.ctx, None, args) {
            Ok(v) => from_rhai(&v, self.session),
            Err(e) => Err(rhai_error(&e, self.session)),
        }
    }

    fn location(&mut self) -> Option<Location> {
        location(
            self.ctx.call_source(),
            self.ctx.call_position(),
            &self.session.info.name,
        )
    }

    #[cfg(feature = "rhai-debugger")]
    fn inspect(&mut self) -> Option<&mut dyn crate::session::debug::Inspect> {
        if self.snapshot.is_none() {
            self.snapshot = Some(self.snapshot_now());
        }
        self.snapshot
            .as_mut()
            .map(|s| s as &mut dyn crate::session::debug::Inspect)
    }

    #[cfg(feature = "rhai-debugger")]
    fn keep(&mut self) -> Option<Box<dyn crate::session::debug::Inspect>> {
        Some(Box::new(self.snapshot_now()))
    }

    fn waiting(&self) -> Rc<dyn AsyncHost> {
        Rc::new(RhaiAsync {
            shared: self.shared.clone(),
            session: self.session.clone(),
        })
    }
}

/// The spell's call stack as the debugger sees it at `line`, innermost
/// first: Rhai keeps each call's name and where it was made from, so a
/// frame's line is where its callee was called (the innermost's, `line`).
#[cfg(feature = "rhai-debugger")]
fn call_stack(
    ctx: &rhai::EvalContext,
    shared: &Shared,
    source: Option<&str>,
    line: u32,
    s: &Session,
) -> Vec<crate::session::debug::Frame> {
    let all = ctx.global_runtime_state().debugger().call_stack();
    let functions = shared.functions.borrow();
    let calls = rhai_debug::spell_calls(all, &shared.debug, &functions);
    let file = |src: Option<&str>| src.unwrap_or(&s.info.name).to_owned();
    let name = |i: usize| match i {
        0 => "main".to_owned(),
        i => calls[i - 1].0.fn_name.to_string(),
    };
    let mut frames = vec![crate::session::debug::Frame {
        function: name(calls.len()),
        file: file(source),
        line,
    }];
    for i in (0..calls.len()).rev() {
        frames.push(crate::session::debug::Frame {
            function: name(i),
            file: file(calls[i].0.source.as_deref()),
            line: calls[i].1.line().unwrap_or(0) as u32,
        });
    }
    frames
}

/// Calls script functions after the spell's main code ended.
struct TopHost<'a> {
    rhai: &'a Rhai,
    ast: &'a AST,
    session: &'a Rc<Session>,
    shared: &'a Rc<Shared>,
}

impl crate::session::ScriptHost for TopHost<'_> {
    fn call(&mut self, f: &Callback, args: Vec<Value>) -> Result<Value> {
        let fp = fn_ptr(f)?;
        let args: Vec<Dynamic> = args.into_iter().map(to_rhai).collect();
        match fp.call::<Dynamic>(self.rhai, self.ast, args) {
            Ok(v) => from_rhai(&v, self.session),
            Err(e) => Err(rhai_error(&e, self.session)),
        }
    }

    fn waiting(&self) -> Rc<dyn AsyncHost> {
        Rc::new(RhaiAsync {
            shared: self.shared.clone(),
            session: self.session.clone(),
        })
    }
}

/// The Rhai engine as a waiting bridge's body sees it.
struct RhaiAsync {
    shared: Rc<Shared>,
    session: Rc<Session>,
}

impl AsyncHost for RhaiAsync {
    fn session(&self) -> &Rc<Session> {
        &self.session
    }

    fn call(&self, f: &Callback, args: Vec<Value>) -> Result<Value> {
        call_top(&self.shared, &self.session, f, args)
    }

    /// On a fiber of its own, so that its waits overlap with others'.
    fn call_waiting(
        &self,
        f: &Callback,
        args: Vec<Value>,
    ) -> LocalBoxFuture<'static, Result<Value>> {
        // A fiber's stack pages are the host's memory, held for the spell.
        let hold = match self.session.hold(FIBER_BYTES) {
            Ok(h) => h,
            Err(e) => return Box::pin(std::future::ready(Err(e))),
        };
        let (shared, session, f) = (self.shared.clone(), self.session.clone(), f.clone());
        match crate::session::fiber::Fiber::new(move || call_top(&shared, &session, &f, args)) {
            Ok(fiber) => Box::pin(async move {
                let _hold = hold;
                fiber.await
            }),
            Err(e) => Box::pin(std::future::ready(Err(e))),
        }
    }
}

fn call_top(
    shared: &Rc<Shared>,
    session: &Rc<Session>,
    f: &Callback,
    args: Vec<Value>,
) -> Result<Value> {
    let rhai = shared
        .rhai
        .borrow()
        .upgrade()
        .ok_or_else(|| Error::new(ErrorCode::Cancelled, "the spell has ended"))?;
    let ast = shared.functions.borrow().clone();
    TopHost {
        rhai: &rhai,
        ast: &ast,
        session,
        shared,
    }
    .call(f, args)
}

fn fn_ptr(f: &Callback) -> Result<&FnPtr> {
    f.downcast::<FnPtr>()
        .ok_or_else(|| Error::new(ErrorCode::ValueInvalid, "a function from another engine"))
}

/// Compiles without running, reading `registry`'s member names as names.
fn compile_only(
    source: &str,
    registry: &crate::session::Registry,
) -> std::result::Result<AST, rhai::ParseError> {
    let mut rhai = Rhai::new_raw();
    allow_keyword_members(
        &mut rhai,
        member_names(registry),
        modules_with_call(registry),
        None,
        None,
    );
    rhai.compile(source)
}

/// Compiles without running.
pub(crate) fn check(name: &str, source: &str, registry: &crate::session::Registry) -> Result<()> {
    compile_only(source, registry)
        .map(|_| ())
        .map_err(|e| parse_error(&e, name))
}

/// Whether a node is a line of its own for the debugger: a block is not
/// (a function's body opens on the line that declares it), its statements are.
fn starts_a_line(node: &rhai::ASTNode) -> bool {
    !matches!(
        node,
        rhai::ASTNode::Stmt(rhai::Stmt::Block(..) | rhai::Stmt::Noop(..))
    )
}

/// The lines of a Rhai spell with code a line breakpoint can stop at: the
/// places of its statements and expressions, in every function, as the
/// debugger meets them (a block is not a line of its own); `None` when it
/// does not compile.
pub(crate) fn code_lines(
    source: &str,
    registry: &crate::session::Registry,
) -> Option<std::collections::BTreeSet<u32>> {
    let ast = compile_only(source, registry).ok()?;
    let mut lines = std::collections::BTreeSet::new();
    ast.walk(&mut |path: &[rhai::ASTNode]| {
        let line = path
            .last()
            .filter(|n| starts_a_line(n))
            .and_then(|n| n.position().line());
        if let Some(line) = line {
            lines.insert(line as u32);
        }
        true
    });
    Some(lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Meter;

    #[test]
    fn rhai_values_map_both_ways() {
        let mut m = rhai::Map::new();
        m.insert("c".into(), Dynamic::from('x'));
        m.insert("i".into(), Dynamic::from_int(3));
        m.insert("u".into(), Dynamic::UNIT);
        m.insert("b".into(), Dynamic::from_blob(vec![1, 2]));
        let v = convert(
            &Dynamic::from_map(m),
            &mut Path::root(),
            &mut Meter::unlimited(),
        )
        .unwrap();
        assert_eq!(
            v.to_json().unwrap(),
            serde_json::json!({"b": [1, 2], "c": "x", "i": 3, "u": null})
        );
        let back = to_rhai(v);
        assert!(back.is_map());
    }

    #[test]
    fn foreign_rhai_values_are_refused_with_the_path() {
        let e = convert(
            &Dynamic::from(std::time::Instant::now()),
            &mut Path::argument(1),
            &mut Meter::unlimited(),
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::ValueInvalid);
        assert!(e.message.starts_with("at argument 2"), "{}", e.message);
    }

    #[test]
    fn check_accepts_log_debug_and_reports_syntax_lines() {
        assert!(check(
            "a.rhai",
            "log.debug(\"x\");",
            &crate::session::Registry::standard()
        )
        .is_ok());
        let e = check(
            "a.rhai",
            "let a = 1;\nlet = ;",
            &crate::session::Registry::standard(),
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::SpellSyntax);
        assert_eq!(e.location.unwrap().line, 2);
    }
}
