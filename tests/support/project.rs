//! Fixtures from the shipped example project (`spells/`), for the tests of
//! the library, the command line and the IDE.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The example project's folder, from whichever crate's tests ask.
pub fn spells_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|d| d.join("spells"))
        .find(|d| d.join("llmspell.toml").is_file())
        .expect("the example project, spells/, above the crate")
}

/// A copy of the example project's chat spells (all three languages), its
/// config and their cassette, in a fresh folder: it runs with no model.
pub fn chat_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let spells = spells_dir();
    for name in ["chat.lua", "chat.js", "chat.rhai", "llmspell.toml"] {
        std::fs::copy(spells.join(name), dir.path().join(name)).unwrap();
    }
    std::fs::create_dir(dir.path().join("cassettes")).unwrap();
    std::fs::copy(
        spells.join("cassettes/chat.jsonl"),
        dir.path().join("cassettes/chat.jsonl"),
    )
    .unwrap();
    dir
}
