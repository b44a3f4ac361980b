//! What each bridge keeps for one spell, by type, as deno_core's `OpState`
//! does: a bridge's state is a type of its own that only its file names,
//! and the session clears all of it in one call when the spell ends.

use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

/// Per-spell state of the bridges, one value per type.
#[derive(Default)]
pub struct BridgeState(RefCell<Vec<(TypeId, Rc<dyn Any>)>>);

impl BridgeState {
    /// This spell's `T`, made with its `Default` on first use. It is shared:
    /// a `T` that changes keeps its parts in `Cell`s or `RefCell`s, borrowed
    /// only while no script code runs.
    pub fn get<T: Default + 'static>(&self) -> Rc<T> {
        let id = TypeId::of::<T>();
        let found = self
            .0
            .borrow()
            .iter()
            .find(|(t, _)| *t == id)
            .map(|(_, v)| v.clone());
        if let Some(Ok(v)) = found.map(Rc::downcast::<T>) {
            return v;
        }
        let v = Rc::new(T::default());
        self.0.borrow_mut().push((id, v.clone()));
        v
    }

    /// Forgets every bridge's state (and the script functions it held).
    pub fn clear(&self) {
        let old = std::mem::take(&mut *self.0.borrow_mut());
        // Dropped after the borrow ends: a value's drop may reach the state.
        drop(old);
    }
}

/// What a run starts that may outlive it, one value per type (the MCP
/// servers it spoke to): runs given the same `Resident` share it, and what
/// it holds lives as long as the last of them. A runtime holds one for the
/// runs it makes (the IDE's one runtime keeps its servers up across runs).
#[derive(Clone, Default)]
pub struct Resident(Arc<Mutex<Vec<(TypeId, Shared)>>>);

type Shared = Arc<dyn Any + Send + Sync>;

impl Resident {
    /// The shared `T`, made with its `Default` on first use.
    pub fn get<T: Default + Send + Sync + 'static>(&self) -> Arc<T> {
        let id = TypeId::of::<T>();
        let mut list = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(Ok(v)) = list
            .iter()
            .find(|(t, _)| *t == id)
            .map(|(_, v)| v.clone().downcast::<T>())
        {
            return v;
        }
        let v = Arc::new(T::default());
        list.push((id, v.clone()));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[derive(Default)]
    struct Counter(Cell<u32>);

    #[derive(Default)]
    struct Other(Cell<u32>);

    #[test]
    fn each_type_has_one_value_until_cleared() {
        let state = BridgeState::default();
        state.get::<Counter>().0.set(3);
        state.get::<Other>().0.set(9);
        assert_eq!(state.get::<Counter>().0.get(), 3);
        assert_eq!(state.get::<Other>().0.get(), 9);
        state.clear();
        assert_eq!(state.get::<Counter>().0.get(), 0);
    }

    #[derive(Default)]
    struct Shared(std::sync::atomic::AtomicU32);

    #[test]
    fn runs_given_one_resident_share_its_values_until_the_last_lets_go() {
        use std::sync::atomic::Ordering;
        let ide = Resident::default();
        let run = ide.clone();
        std::thread::spawn(move || run.get::<Shared>().0.store(7, Ordering::Relaxed))
            .join()
            .unwrap();
        let kept = ide.get::<Shared>();
        assert_eq!(kept.0.load(Ordering::Relaxed), 7);
        assert_eq!(
            Resident::default()
                .get::<Shared>()
                .0
                .load(Ordering::Relaxed),
            0
        );
        drop(ide);
        assert_eq!(Arc::strong_count(&kept), 1, "dropped with the last holder");
    }
}
