//! Fixtures from the shipped example project, for the IDE's tests.

/// A copy of the example project's chat spells (all three languages), its
/// config and their cassette, in a fresh folder: it runs with no model.
pub fn chat_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let spells = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../spells");
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
