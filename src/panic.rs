//! Panics on a spell's thread are that spell's coded error, never a printed
//! backtrace or a dead host.
//!
//! A panic anywhere under a spell (an engine's own library, a bridge, a
//! workflow fiber) unwinds to the run's top, which turns it into an
//! `internal` error for that spell; the host and every other spell go on.
//! The process-wide panic hook stays quiet on threads that run spells (the
//! message goes into the error instead) and defers to the previous hook
//! everywhere else. This module must never swallow a panic silently: each
//! one ends its spell with its message.

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, PanicHookInfo};
use std::sync::Once;

use crate::error::{Error, ErrorCode};

thread_local! {
    /// Set while this thread runs spell code.
    static QUIET: Cell<bool> = const { Cell::new(false) };
    /// The last panic's message and place on this thread.
    static LAST: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs the hook once per process; later calls do nothing.
pub(crate) fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if QUIET.try_with(Cell::get).unwrap_or(false) {
                let _ = LAST.try_with(|l| *l.borrow_mut() = Some(describe(info)));
            } else {
                previous(info);
            }
        }));
    });
}

/// Marks the calling thread as one that runs spells: its panics are
/// reported through [`contain`], not printed.
pub(crate) fn quiet_thread() {
    install_hook();
    QUIET.with(|q| q.set(true));
}

/// A panic's message, from its payload.
pub(crate) fn payload_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_owned())
}

fn describe(info: &PanicHookInfo<'_>) -> String {
    let what = payload_text(info.payload());
    match info.location() {
        Some(at) => format!("{what} (at {}:{})", at.file(), at.line()),
        None => what,
    }
}

/// Runs `f`; a panic inside it becomes an `internal` error naming it.
pub(crate) fn contain<T>(f: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
    let was_quiet = QUIET.with(|q| q.replace(true));
    install_hook();
    let out = std::panic::catch_unwind(AssertUnwindSafe(f));
    QUIET.with(|q| q.set(was_quiet));
    out.unwrap_or_else(|payload| {
        let what = LAST
            .with(|l| l.borrow_mut().take())
            .unwrap_or_else(|| payload_text(&*payload));
        Err(internal(&what))
    })
}

/// The error a host bug becomes: the spell ends, the host goes on.
pub(crate) fn internal(what: &str) -> Error {
    Error::new(
        ErrorCode::Internal,
        format!("llmspell hit a bug and stopped this spell ({what}); the host goes on; please report it"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_internal_error_with_its_message() {
        let e = contain::<()>(|| panic!("boom {}", 7)).unwrap_err();
        assert_eq!(e.code, ErrorCode::Internal);
        assert!(e.message.contains("boom 7"), "{}", e.message);
        assert!(e.message.contains("panic.rs"), "{}", e.message);
        assert_eq!(contain(|| Ok(3)), Ok(3));
    }
}
