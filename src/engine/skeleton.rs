//! What the three engines do alike, written once: laying the registry out
//! as the spell's globals ([`install`]), guarding the limits from an
//! engine's hook ([`Guard`]), and the words of a refusal. Each engine file
//! keeps only what its language needs: its values, its hook, its errors.
//!
//! Never names a language, and never a bridge.

use crate::error::{Error, ErrorCode};
use crate::session::{BridgeId, Registry, Session};
use crate::stop::{Deadline, StopHandle, Work};

/// How an engine lays the registry out in its language. [`install`] walks
/// the registry in one order for every engine and asks for each piece.
pub(crate) trait Layout {
    /// A callable value of the language (or whatever the engine keeps to
    /// make one).
    type Function: Clone;
    type Error;

    /// The function a spell calls for bridge `id` (a module member, or a
    /// global such as `print`).
    fn function(&mut self, id: BridgeId) -> Result<Self::Function, Self::Error>;

    /// Bridge `id`, `make`, returns an object: what the spell calls instead,
    /// whose results carry these methods (each a bridge's function).
    fn object(
        &mut self,
        id: BridgeId,
        make: Self::Function,
        methods: Vec<(&'static str, Self::Function)>,
    ) -> Result<Self::Function, Self::Error>;

    /// A module's global (`llm`, `state`) with its members.
    fn module(
        &mut self,
        name: &'static str,
        members: Vec<(&'static str, Self::Function)>,
    ) -> Result<(), Self::Error>;

    /// A global function.
    fn global(&mut self, name: &'static str, f: Self::Function) -> Result<(), Self::Error>;
}

/// Every bridge of `registry`, as the spell's globals: one function per
/// bridge, the modules in the order their first bridge was registered,
/// object-returning bridges wrapped, then the global functions.
pub(crate) fn install<L: Layout>(registry: &Registry, layout: &mut L) -> Result<(), L::Error> {
    let mut made = Vec::with_capacity(registry.bridges().len());
    for id in 0..registry.bridges().len() {
        made.push(layout.function(id)?);
    }
    for (module, ids) in registry.modules() {
        let mut members = Vec::with_capacity(ids.len());
        for id in ids {
            let f = match registry.methods(id) {
                Some(methods) => {
                    let methods = methods
                        .into_iter()
                        .map(|(name, target)| (name, made[target].clone()))
                        .collect();
                    layout.object(id, made[id].clone(), methods)?
                }
                None => made[id].clone(),
            };
            members.push((registry.get(id).member(), f));
        }
        layout.module(module, members)?;
    }
    for (id, bridge) in registry.functions() {
        layout.global(bridge.name, made[id].clone())?;
    }
    Ok(())
}

/// The limits an engine's hook guards, counted in ticks of however many
/// instructions (or operations, or steps) lie between two of its calls:
/// a stop from outside, the instruction budget and the time limit.
#[derive(Clone)]
pub(crate) struct Guard {
    stop: StopHandle,
    deadline: Deadline,
    work: Work,
    max_ticks: u64,
}

impl Guard {
    /// For a hook that runs once every `per_tick` instructions.
    pub(crate) fn new(s: &Session, per_tick: u64) -> Guard {
        Guard {
            stop: s.stop_handle().clone(),
            deadline: s.deadline().clone(),
            work: s.work().clone(),
            max_ticks: match s.limits().instructions {
                0 => u64::MAX,
                n => n.div_ceil(per_tick),
            },
        }
    }

    /// Counts `ticks` more work; `Ok` with the total while the spell may go
    /// on, else why it must stop (a stop from outside, or the instruction
    /// budget, which this trips). The clock is not read.
    #[inline]
    pub(crate) fn count(&self, ticks: u64) -> Result<u64, ErrorCode> {
        if let Some(code) = self.stop.reason() {
            return Err(code);
        }
        let total = self.work.add(ticks);
        if total > self.max_ticks {
            return Err(self.trip(ErrorCode::LimitInstructions));
        }
        Ok(total)
    }

    /// [`Guard::count`], and the time limit.
    #[inline]
    pub(crate) fn check(&self, ticks: u64) -> Result<u64, ErrorCode> {
        let total = self.count(ticks)?;
        if self.time_up() {
            return Err(self.trip(ErrorCode::LimitTime));
        }
        Ok(total)
    }

    pub(crate) fn time_up(&self) -> bool {
        self.deadline.passed()
    }

    /// Stops the spell for `code`; the reason it stops for (the first one
    /// tripped wins).
    pub(crate) fn trip(&self, code: ErrorCode) -> ErrorCode {
        self.stop.trip(code);
        self.stop.reason().unwrap_or(code)
    }
}

/// The end of every refusal of a way out of the sandbox.
const ONLY_BRIDGES: &str = "the host is reached only through the bridges";

/// `what` (a library, a global) is refused to spells.
pub(crate) fn denied(what: &str) -> Error {
    Error::new(
        ErrorCode::SandboxDenied,
        format!("{what} is not available to spells; {ONLY_BRIDGES}"),
    )
}

/// An import, refused: `what` says which.
pub(crate) fn no_modules(what: &str) -> Error {
    Error::new(
        ErrorCode::SandboxDenied,
        format!("{what}: modules are not available to spells; {ONLY_BRIDGES}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{Bridge, Method};
    use crate::value::Value;

    /// Writes down what `install` asks for, as text.
    #[derive(Default)]
    struct Recorder(Vec<String>);

    impl Layout for Recorder {
        type Function = String;
        type Error = ();

        fn function(&mut self, id: BridgeId) -> Result<String, ()> {
            Ok(format!("f{id}"))
        }
        fn object(
            &mut self,
            id: BridgeId,
            make: String,
            methods: Vec<(&'static str, String)>,
        ) -> Result<String, ()> {
            let methods: Vec<String> = methods.iter().map(|(n, f)| format!("{n}={f}")).collect();
            Ok(format!("object{id}({make}; {})", methods.join(", ")))
        }
        fn module(
            &mut self,
            name: &'static str,
            members: Vec<(&'static str, String)>,
        ) -> Result<(), ()> {
            let members: Vec<String> = members.iter().map(|(m, f)| format!("{m}={f}")).collect();
            self.0.push(format!("{name}: {}", members.join(", ")));
            Ok(())
        }
        fn global(&mut self, name: &'static str, f: String) -> Result<(), ()> {
            self.0.push(format!("global {name}={f}"));
            Ok(())
        }
    }

    fn bridge(name: &'static str) -> Bridge {
        Bridge::new(name, "", "", "", |_, _| Ok(Value::Null))
    }

    #[test]
    fn install_lays_out_modules_in_order_then_objects_and_globals() {
        const METHODS: &[Method] = &[
            Method::new("ask", "bot.ask"),
            Method::new("gone", "bot.nope"),
        ];
        let mut r = Registry::empty();
        r.add(bridge("print"));
        r.add(bridge("bot.new").returns_object(METHODS));
        r.add(bridge("kv.get"));
        r.add(bridge("bot.ask"));
        r.add(bridge("sleep"));
        let mut seen = Recorder::default();
        install(&r, &mut seen).unwrap();
        assert_eq!(
            seen.0,
            [
                // A method naming no bridge is left out; modules come in
                // the order of their first bridge, globals last.
                "bot: new=object1(f1; ask=f3), ask=f3",
                "kv: get=f2",
                "global print=f0",
                "global sleep=f4",
            ]
        );
    }

    #[test]
    fn the_first_error_ends_the_install() {
        struct Fails(usize);
        impl Layout for Fails {
            type Function = ();
            type Error = BridgeId;
            fn function(&mut self, id: BridgeId) -> Result<(), BridgeId> {
                self.0 += 1;
                if id == 1 {
                    return Err(id);
                }
                Ok(())
            }
            fn object(
                &mut self,
                _: BridgeId,
                _: (),
                _: Vec<(&'static str, ())>,
            ) -> Result<(), BridgeId> {
                Ok(())
            }
            fn module(
                &mut self,
                _: &'static str,
                _: Vec<(&'static str, ())>,
            ) -> Result<(), BridgeId> {
                unreachable!("no module is laid out after a failed function")
            }
            fn global(&mut self, _: &'static str, _: ()) -> Result<(), BridgeId> {
                unreachable!("no global is laid out after a failed function")
            }
        }
        let mut r = Registry::empty();
        r.add(bridge("a.x"));
        r.add(bridge("a.y"));
        r.add(bridge("a.z"));
        let mut f = Fails(0);
        assert_eq!(install(&r, &mut f), Err(1));
        assert_eq!(f.0, 2, "functions after the failing one are not made");
    }
}
