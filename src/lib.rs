//! llmspell: LLM work as scripts. A *spell* in Lua, JavaScript or Rhai calls
//! models, tools, state, events and hooks through *bridges*: functions
//! written once in Rust, over JSON-like values, that every engine exposes
//! alike. Every call passes through one dispatcher.
//!
//! This library builds and runs without any terminal UI; the IDE uses only
//! what is public here.
//!
//! ```no_run
//! use llmspell::{Config, RunOptions, Runtime, Spell};
//! let spell = Spell::load("hello.lua".as_ref()).unwrap();
//! let config = Config::discover(&spell.dir).unwrap();
//! let outcome = Runtime::new().run(&spell, &RunOptions::new(config));
//! println!("{:?}", outcome.result);
//! ```

// The layers, lowest first; each module imports only from the ones above
// it in this list (see docs/architecture.md, checked by tests/layers.rs).
pub mod alloc;
pub mod bridge;
pub mod bus;
pub mod config;
pub mod engine;
pub mod error;
pub mod history;
mod panic;
pub mod provider;
pub mod runtime;
pub mod session;
pub mod spell;
pub mod stop;
pub mod store;
pub mod value;

pub use alloc::CountingAllocator;
pub use bus::{Bus, Event};
pub use config::{Config, Limits};
pub use engine::EngineKind;
pub use error::{Error, ErrorCode, Location, Result};
pub use runtime::{Outcome, Repl, RunHandle, RunOptions, Runtime};
pub use session::{debug, wait, Bridge, Call, Registry};
pub use spell::Spell;
pub use stop::StopHandle;
pub use value::Value;
