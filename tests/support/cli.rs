//! The `llmspell` binary as a user runs it, in a folder.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

pub fn llmspell(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_llmspell"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run llmspell")
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

pub fn write(dir: &Path, name: &str, body: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, body).unwrap();
}
