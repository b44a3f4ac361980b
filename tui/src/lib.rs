//! llmspell-tui: the terminal IDE. `app` holds the state and its one
//! update function, `ui` draws it, `keys` turns terminal keys into actions;
//! the binary runs the loop. It uses only llmspell's public API and bus.

pub mod app;
pub mod edit;
pub mod editor;
pub mod effects;
pub mod highlight;
pub mod inspector;
pub mod keys;
pub mod repl;
pub mod scroll;
pub mod settings;
pub mod theme;
pub mod ui;
pub mod watch;
