//! llmspell-tui: the terminal IDE. `action` is its vocabulary, `state`
//! the `App` every pane reads, `app` its one update function, `ui` draws
//! it, `keys` turns terminal keys into actions and `layout` says where each
//! pane is; the binary runs the loop. It uses only llmspell's public API
//! and bus. The layers are in docs/architecture.md.

pub mod action;
pub mod app;
pub mod edit;
pub mod editor;
pub mod effects;
pub mod highlight;
pub mod inspector;
pub mod keys;
pub mod layout;
pub mod repl;
pub mod runs;
pub mod scroll;
pub mod settings;
pub mod state;
pub mod theme;
pub mod ui;
pub mod watch;
