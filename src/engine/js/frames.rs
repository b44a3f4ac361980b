//! A debugged JavaScript run's lines and frames, from the probes of
//! `probes.rs`: the table the probes read (kept to what the debugger
//! wants), the function they call, and the frames they hand over, each
//! a function that runs code in its statement's scope.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use rquickjs::{ArrayBuffer, Ctx, Function, Persistent, TypedArray, Value as JsValue};

use super::errors::{exception_to_error, stack_frames};
use super::probes::{PROBE, TABLE};
use super::values::{from_js, to_js};
use crate::error::{Error, ErrorCode, Result};
use crate::session::debug::{Debugger, Frame, Inspect, Local, ProbePlan};
use crate::session::Session;

/// How many statements' frames are kept for pauses at bridge calls and for
/// callers' frames.
const KEEP_FRAMES: usize = 64;

/// The probes' side of a run: the table they read, and the frames of the
/// statements reached last.
pub(super) struct Lines {
    lines: Vec<u32>,
    /// The table's bytes, by line: the probes read them through a
    /// `Uint8Array` over this memory, which holds a share of it, so it
    /// lives as long as either side (whatever the spell does to the array).
    flags: Rc<[Cell<u8>]>,
    plan: RefCell<Option<ProbePlan>>,
    kept: RefCell<VecDeque<Kept>>,
}

/// A statement's frame: its line, the function that runs code in its
/// scope, and the names of its locals.
struct Kept {
    line: u32,
    run: Persistent<Function<'static>>,
    names: Rc<[String]>,
}

impl Lines {
    pub(super) fn new(lines: std::collections::BTreeSet<u32>) -> Lines {
        let size = lines.last().map_or(1, |l| *l as usize + 1);
        Lines {
            lines: lines.into_iter().collect(),
            flags: (0..size).map(|_| Cell::new(0)).collect(),
            plan: RefCell::default(),
            kept: RefCell::default(),
        }
    }

    /// Its QuickJS values go before the runtime does.
    pub(super) fn clear(&self) {
        self.kept.borrow_mut().clear();
    }

    /// The table as the debugger wants it now; written only when that
    /// changed. Runs no JavaScript: the interrupt handler calls it too.
    pub(super) fn poll(&self, debugger: &Debugger) {
        let plan = debugger.probe_plan();
        if self.plan.borrow().as_ref() == Some(&plan) {
            return;
        }
        for line in &self.lines {
            let on = plan.every || plan.lines.contains(line);
            if let Some(flag) = self.flags.get(*line as usize) {
                flag.set(u8::from(on));
            }
        }
        *self.plan.borrow_mut() = Some(plan);
    }

    fn every(&self) -> bool {
        self.plan.borrow().as_ref().is_some_and(|p| p.every)
    }

    /// The frame kept for a stack frame at `line` (the newest such).
    fn frame_at<'js>(&self, ctx: &Ctx<'js>, line: u32) -> Option<(Function<'js>, Rc<[String]>)> {
        let kept = self.kept.borrow();
        let k = kept.iter().rev().find(|k| k.line == line)?;
        Some((k.run.clone().restore(ctx).ok()?, k.names.clone()))
    }
}

/// Installs the probes' table and function for a debugged run.
pub(super) fn install<'js>(
    ctx: &Ctx<'js>,
    session: &Rc<Session>,
    lines: &Rc<Lines>,
) -> rquickjs::Result<()> {
    /// The array's share of the memory, dropped when QuickJS frees it;
    /// it may not grow.
    unsafe extern "C" fn release(
        _: *mut rquickjs::qjs::JSRuntime,
        opaque: *mut std::ffi::c_void,
        _: *mut std::ffi::c_void,
        size: rquickjs::qjs::size_t,
    ) -> *mut std::ffi::c_void {
        if size == 0 {
            // SAFETY: made by `Box::into_raw` below, freed only here, once.
            drop(unsafe { Box::from_raw(opaque.cast::<Rc<[Cell<u8>]>>()) });
        }
        std::ptr::null_mut()
    }
    let share = Box::into_raw(Box::new(lines.flags.clone()));
    // SAFETY: the memory is `Cell`s (QuickJS may write it), alive while
    // `share` is; a fixed size (max 0), and `release` frees `share` once.
    let buffer = unsafe {
        let v = rquickjs::qjs::JS_NewArrayBuffer(
            ctx.as_raw().as_ptr(),
            lines.flags.as_ptr().cast_mut().cast::<u8>(),
            lines.flags.len() as _,
            0,
            Some(release),
            share.cast(),
            false,
        );
        if rquickjs::qjs::JS_IsException(v) {
            drop(Box::from_raw(share));
            return Err(rquickjs::Error::Exception);
        }
        JsValue::from_raw(ctx.clone(), v)
    };
    let buffer = ArrayBuffer::from_value(buffer).ok_or(rquickjs::Error::Unknown)?;
    let table = TypedArray::<u8>::from_arraybuffer(buffer)?;
    ctx.globals().set(TABLE, table)?;
    if let Some(d) = session.debugger() {
        lines.poll(d);
    }
    let (s, l) = (session.clone(), lines.clone());
    let probe = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, line: u32, run: Function<'js>, names: Vec<String>| {
            reached(&ctx, &s, &l, line, run, names)
        },
    )?;
    ctx.globals().set(PROBE, probe)
}

/// A probe asked: the debugger hears of `line`, and may pause there.
fn reached<'js>(
    ctx: &Ctx<'js>,
    session: &Rc<Session>,
    lines: &Rc<Lines>,
    line: u32,
    run: Function<'js>,
    names: Vec<String>,
) -> rquickjs::Result<()> {
    let Some(debugger) = session.debugger() else {
        return Ok(());
    };
    // The table is current (the interrupt handler, bridge calls and pauses
    // keep it so): only a pause here can change what it should say.
    let names: Rc<[String]> = names.into();
    if lines.every() {
        let mut kept = lines.kept.borrow_mut();
        if kept.len() == KEEP_FRAMES {
            kept.pop_front();
        }
        kept.push_back(Kept {
            line,
            run: Persistent::save(ctx, run.clone()),
            names: names.clone(),
        });
    }
    let mut frames = Frames {
        ctx,
        session,
        lines,
        top: Some((run, names)),
    };
    let file = session.info.name.clone();
    let paused = crate::session::debug::at_line(session, line, &mut frames, || Some(file));
    lines.poll(debugger);
    paused.map_err(|e| super::errors::throw(ctx, &e))
}

/// A paused JavaScript spell's frames: at a line the statement's own, the
/// others (and all of them at a bridge call) from the statements reached
/// last, when the debugger kept them (while it steps, or has break
/// patterns).
pub(super) struct Frames<'a, 'js> {
    pub ctx: &'a Ctx<'js>,
    pub session: &'a Rc<Session>,
    pub lines: &'a Lines,
    /// The frame of the statement paused at, at a line.
    pub top: Option<(Function<'js>, Rc<[String]>)>,
}

const NOT_KEPT: &str = "this JavaScript frame was not kept: \
     its locals are kept while the debugger steps or has break patterns";

impl<'js> Frames<'_, 'js> {
    fn frame(&mut self, n: usize) -> Result<(Function<'js>, Rc<[String]>)> {
        if n == 0 {
            if let Some(top) = &self.top {
                return Ok(top.clone());
            }
        }
        let line = self.stack().get(n).map(|f| f.line).ok_or_else(|| {
            crate::session::debug::unsupported(&format!("the spell has no frame {n} here"))
        })?;
        self.lines
            .frame_at(self.ctx, line)
            .ok_or_else(|| crate::session::debug::unsupported(NOT_KEPT))
    }

    /// Runs `code` in a frame's scope, with `value` there as
    /// `__llmspell_value`.
    fn run(&mut self, n: usize, code: &str, value: Option<JsValue<'js>>) -> Result<JsValue<'js>> {
        let (run, _) = self.frame(n)?;
        let value = value.unwrap_or_else(|| JsValue::new_undefined(self.ctx.clone()));
        let out = run.call::<_, JsValue>((code, value));
        self.session.check_stop()?;
        out.map_err(|_| exception_to_error(&self.ctx.catch(), &self.session.info.name))
    }
}

impl Inspect for Frames<'_, '_> {
    fn stack(&mut self) -> Vec<Frame> {
        let stack: String = self.ctx.eval("new Error().stack").unwrap_or_default();
        stack_frames(&stack, &self.session.info.name)
    }

    fn locals(&mut self, frame: usize) -> Vec<Local> {
        let Ok((_, names)) = self.frame(frame) else {
            return Vec::new();
        };
        // A name not yet declared where the frame is (`let` further on)
        // is no local yet.
        names
            .iter()
            .filter_map(|name| {
                let v = self.run(frame, name, None).ok()?;
                Some(crate::session::debug::local(
                    name,
                    from_js(&v, self.session),
                ))
            })
            .collect()
    }

    fn evaluate(&mut self, frame: usize, code: &str) -> Result<serde_json::Value> {
        let v = self.run(frame, code, None)?;
        Ok(crate::session::debug::shown(&from_js(&v, self.session)?))
    }

    fn set_local(&mut self, frame: usize, name: &str, value: &serde_json::Value) -> Result<()> {
        let (_, names) = self.frame(frame)?;
        if !names.iter().any(|n| n == name) {
            return Err(Error::new(
                ErrorCode::ValueInvalid,
                format!("no local `{name}` in frame {frame}"),
            ));
        }
        let value = to_js(self.ctx, Value::from_json(value))
            .map_err(|_| exception_to_error(&self.ctx.catch(), &self.session.info.name))?;
        self.run(frame, &format!("{name} = __llmspell_value"), Some(value))
            .map(drop)
    }

    fn truthy(&self, v: &serde_json::Value) -> Option<bool> {
        Some(super::js_truthy(v))
    }
}

use crate::value::Value;
