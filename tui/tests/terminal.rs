//! The real binary in a real terminal (tmux): open a project, run a spell,
//! see its output, an event and a state change, pause at a bridge call,
//! and see a file edited by another program reload; and, in each language,
//! what a new user does first: write a spell, run it, step through its
//! model call, edit the reply at the pause, and see the state change.

#[path = "../../tests/support/project.rs"]
mod project;
#[path = "../../tests/support/scripted.rs"]
mod scripted;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    session: String,
}

impl Tmux {
    fn start(dir: &Path) -> Tmux {
        Tmux::start_with(dir, &[])
    }

    /// The IDE on `dir`, given `args` after it.
    fn start_with(dir: &Path, args: &[&str]) -> Tmux {
        // Tests run at once: each gets its own session.
        static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let session = format!("llmspell-tui-test-{}-{n}", std::process::id());
        let bin = env!("CARGO_BIN_EXE_llmspell-tui");
        let status = Command::new("tmux")
            .args(["new-session", "-d", "-s", &session, "-x", "100", "-y", "30"])
            .arg(format!("{bin} {} {}", dir.display(), args.join(" ")))
            .status()
            .expect("tmux runs (the tests need it: apt install tmux)");
        assert!(status.success());
        Tmux { session }
    }

    fn keys(&self, keys: &[&str]) {
        let status = Command::new("tmux")
            .args(["send-keys", "-t", &self.session])
            .args(keys)
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.session])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Esc on its own: a key sent right after it would read as Alt+key.
    fn escape(&self) {
        self.keys(&["Escape"]);
        std::thread::sleep(Duration::from_millis(300));
    }

    /// Types `text` as it is.
    fn type_text(&self, text: &str) {
        // tmux reads a `;` ending an argument as its command separator.
        let text = match text.strip_suffix(';') {
            Some(head) => format!("{head}\\;"),
            None => text.to_owned(),
        };
        let status = Command::new("tmux")
            .args(["send-keys", "-t", &self.session, "-l", &text])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits until the screen shows none of `texts`.
    fn wait_without(&self, texts: &[&str]) -> String {
        self.wait_until(&format!("kept showing one of {texts:?}"), |screen| {
            !texts.iter().any(|t| screen.contains(t))
        })
    }

    /// Waits until the screen shows every one of `texts`.
    fn wait_for(&self, texts: &[&str]) -> String {
        self.wait_until(&format!("never showed {texts:?}"), |screen| {
            texts.iter().all(|t| screen.contains(t))
        })
    }

    /// Waits until `done` holds of the screen; `failed` says what did
    /// not happen when it never does.
    fn wait_until(&self, failed: &str, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let screen = self.screen();
            if done(&screen) {
                return screen;
            }
            assert!(Instant::now() < deadline, "the screen {failed}:\n{screen}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.session])
            .status();
    }
}

#[test]
fn open_run_watch_pause_and_reload_in_a_real_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let spell = dir.path().join("count.lua");
    std::fs::write(
        &spell,
        "local n = state.update(\"runs\", function(n) return (n or 0) + 1 end)\nprint(\"counted \" .. n)\nreturn n\n",
    )
    .unwrap();
    let tui = Tmux::start(dir.path());
    tui.wait_for(&["count.lua", "state.update(\"runs\""]);

    tui.keys(&["F5"]);
    tui.wait_for(&["counted 1", "spell.start", "runs = 1", "count.lua: 1 ("]);

    // Debug mode: the run pauses before its first bridge call.
    tui.keys(&["d", "F5"]);
    tui.wait_for(&["Paused before state.update", "count.lua:1"]);
    tui.keys(&["c"]);
    tui.wait_for(&["Paused before print"]);
    tui.keys(&["c"]);
    tui.wait_for(&["counted 2", "runs = 2", "count.lua: 2 ("]);

    // Another program rewrites the file: the editor shows the new text.
    std::fs::write(&spell, "return \"edited outside\"\n").unwrap();
    tui.wait_for(&["return \"edited outside\""]);

    // A spell that never ends: the screen still answers, and Shift+F5
    // stops it.
    std::fs::write(&spell, "while true do end\n").unwrap();
    tui.wait_for(&["while true do end"]);
    tui.keys(&["d", "F5"]);
    tui.wait_for(&["running count.lua"]);
    tui.keys(&["F1"]);
    tui.wait_for(&["Keys", "stop the run"]);
    tui.escape();
    tui.keys(&["S-F5"]);
    tui.wait_for(&["count.lua: cancelled"]);
    tui.keys(&["q"]);
}

#[test]
fn a_new_user_writes_runs_steps_and_edits_a_reply_in_each_language() {
    let server = scripted::Scripted::always(scripted::Reply::text("from the model"));
    for (ext, lines) in [
        (
            "lua",
            [
                "local r = llm.chat(\"hi\")",
                "state.set(\"last\", r.text)",
                "print(r.text)",
            ],
        ),
        (
            "js",
            [
                "const r = await llm.chat(\"hi\");",
                "state.set(\"last\", r.text);",
                "print(r.text);",
            ],
        ),
        (
            "rhai",
            [
                "let r = llm.chat(\"hi\");",
                "state.set(\"last\", r.text);",
                "print(r.text);",
            ],
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("llmspell.toml"), server.toml()).unwrap();
        let tui = Tmux::start(dir.path());
        tui.wait_for(&["Spells", "F5 run"]);
        let spell = format!("ask.{ext}");

        // Write it: Ctrl+N names a new spell; type it; Ctrl+S saves.
        tui.keys(&["C-n"]);
        tui.wait_for(&["new spell"]);
        tui.type_text(&spell);
        tui.keys(&["Enter"]);
        tui.wait_for(&["created", &spell]);
        for (i, line) in lines.iter().enumerate() {
            if i > 0 {
                tui.keys(&["Enter"]);
            }
            tui.type_text(line);
        }
        tui.wait_for(&[&format!("{spell} ●")]);
        tui.keys(&["C-s"]);
        tui.wait_for(&["saved"]);
        assert_eq!(
            std::fs::read_to_string(dir.path().join(&spell)).unwrap(),
            lines.join("\n"),
            "{ext}"
        );

        // Run it: output, the model call in the events, the state.
        tui.escape();
        tui.keys(&["F5"]);
        tui.wait_for(&[
            "from the model",
            "llm.response",
            "last = \"from the model\"",
        ]);

        // Step through its model call, and edit the reply at the pause.
        tui.keys(&["d", "b"]);
        tui.wait_for(&["[debug llm.*]"]);
        tui.keys(&["F5"]);
        tui.wait_for(&["Paused before llm.chat", &format!("{spell}:1"), "\"hi\""]);
        tui.keys(&["F10"]);
        tui.wait_for(&["Paused after llm.chat", "\"text\": \"from the model\""]);
        tui.keys(&["e"]);
        tui.wait_for(&["Edit the reply of llm.chat"]);
        for _ in 0..20 {
            tui.keys(&["C-k", "Delete"]);
        }
        tui.type_text("{\"text\": \"EDITED\"}");
        tui.keys(&["F5"]);
        tui.wait_for(&["last = \"EDITED\"", &format!("{spell}: ok")]);

        if ext != "js" {
            // A line breakpoint (F9 on line 2) pauses there and shows locals.
            tui.keys(&["d", "Tab", "Up", "F9"]);
            tui.wait_for(&["● 2 state.set"]);
            tui.escape();
            tui.keys(&["F5"]);
            tui.wait_for(&[&format!("Paused at {spell}:2"), "locals", "r = {"]);
            tui.keys(&["F5"]);
            tui.wait_for(&[&format!("{spell}: ok")]);
        }
        tui.keys(&["q"]);
    }
}

impl Tmux {
    /// Whether the IDE in this session has ended (its session with it).
    fn ended_within(&self, wait: Duration) -> bool {
        let deadline = Instant::now() + wait;
        while Instant::now() < deadline {
            let alive = Command::new("tmux")
                .args(["has-session", "-t", &self.session])
                .stderr(std::process::Stdio::null())
                .status()
                .unwrap()
                .success();
            if !alive {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

#[test]
fn quitting_with_unsaved_edits_asks_once_then_quits_and_writes_nothing() {
    for (quit, leave_editor) in [("C-q", false), ("q", true)] {
        let dir = tempfile::tempdir().unwrap();
        let spell = dir.path().join("a.lua");
        std::fs::write(&spell, "return 1\n").unwrap();
        let tui = Tmux::start(dir.path());
        tui.wait_for(&["a.lua", "return 1"]);
        tui.keys(&["Tab"]);
        tui.type_text("zz");
        tui.wait_for(&["a.lua ●"]);
        if leave_editor {
            tui.escape();
        }
        tui.keys(&[quit]);
        tui.wait_for(&["q again quits without saving"]);
        assert!(
            !tui.ended_within(Duration::from_millis(300)),
            "{quit}: quit at the first press"
        );
        tui.keys(&[quit]);
        assert!(
            tui.ended_within(Duration::from_secs(10)),
            "{quit}: the second press did not quit:\n{}",
            tui.screen()
        );
        assert_eq!(
            std::fs::read_to_string(&spell).unwrap(),
            "return 1\n",
            "{quit}"
        );
    }
}

#[test]
fn without_a_terminal_or_with_a_wrong_flag_it_says_so_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.lua"), "return 1\n").unwrap();
    let bin = env!("CARGO_BIN_EXE_llmspell-tui");
    let cases: [(&[&str], &str); 6] = [
        (&[], "needs a terminal"),
        (&["--record", "x.json"], "unknown option --record"),
        (
            &["--replay", "no/such.jsonl"],
            "--replay no/such.jsonl: No such file",
        ),
        (&["--replay"], "--replay needs a value"),
        (&["--theme"], "--theme needs a value"),
        (&[".", "other"], "one folder only"),
    ];
    for (args, says) in cases {
        let out = Command::new(bin)
            .arg(dir.path())
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.starts_with("llmspell-tui: ") && stderr.contains(says),
            "{args:?}: {stderr}"
        );
        assert!(
            !stderr.contains("panicked") && !stderr.contains("backtrace"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn deleting_a_state_key_asks_first() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("s.lua"),
        "state.set(\"keep\", 7)\nreturn 1\n",
    )
    .unwrap();
    let tui = Tmux::start(dir.path());
    tui.wait_for(&["s.lua", "state.set(\"keep\""]);
    tui.keys(&["F5"]);
    tui.wait_for(&["keep = 7", "s.lua: 1 ("]);
    // Shift+Tab goes back a pane: from Spells to State (Tab would stop in
    // the editor, where it indents).
    tui.keys(&["BTab"]);
    tui.keys(&["D"]);
    tui.wait_for(&["D again deletes state key \"keep\""]);
    // Any other key keeps it.
    tui.keys(&["Down"]);
    std::thread::sleep(Duration::from_millis(300));
    assert!(tui.screen().contains("keep = 7"), "{}", tui.screen());
    tui.keys(&["D"]);
    tui.wait_for(&["D again deletes"]);
    tui.keys(&["D"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while tui.screen().contains("keep = 7") {
        assert!(
            Instant::now() < deadline,
            "D twice did not delete:\n{}",
            tui.screen()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_pause_takes_its_letters_even_with_the_editor_focused() {
    let dir = tempfile::tempdir().unwrap();
    let spell = dir.path().join("p.lua");
    let text = "state.set(\"k\", 1)\nreturn 2\n";
    std::fs::write(&spell, text).unwrap();
    let tui = Tmux::start(dir.path());
    tui.wait_for(&["p.lua", "state.set(\"k\""]);
    tui.keys(&["d", "Tab", "F5"]);
    tui.wait_for(&["Paused before state.set"]);
    tui.keys(&["c"]);
    let screen = tui.wait_for(&["p.lua: 2 ("]);
    assert!(
        !screen.contains("p.lua ●"),
        "a pause letter typed into the spell:\n{screen}"
    );
    // F5 saves a changed buffer first: nothing was changed, nothing written.
    tui.keys(&["F5"]);
    tui.wait_for(&["Paused before state.set"]);
    tui.keys(&["x"]);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(std::fs::read_to_string(&spell).unwrap(), text);
}

/// Waits until `path` holds `text` (the IDE's save is its own thread's).
fn wait_for_file(path: &Path, text: &str, tui: &Tmux) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::fs::read_to_string(path).ok().as_deref() != Some(text) {
        assert!(
            Instant::now() < deadline,
            "{} never held {text:?} (it holds {:?}):\n{}",
            path.display(),
            std::fs::read_to_string(path),
            tui.screen()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A project of a.lua, b.lua and c.lua, with b.lua open in the editor.
fn three_spells() -> (tempfile::TempDir, Tmux) {
    let dir = tempfile::tempdir().unwrap();
    for name in ["a", "b", "c"] {
        std::fs::write(
            dir.path().join(format!("{name}.lua")),
            format!("return '{name}'\n"),
        )
        .unwrap();
    }
    let tui = Tmux::start(dir.path());
    tui.wait_for(&["a.lua", "return 'a'"]);
    tui.keys(&["Down"]);
    tui.wait_for(&["return 'b'"]);
    tui.keys(&["Tab"]);
    (dir, tui)
}

#[test]
fn a_spell_deleted_or_renamed_outside_keeps_its_buffer_and_saves_only_to_itself() {
    // Deleted with an edit in the buffer; renamed away without one.
    for edited in [true, false] {
        let (dir, tui) = three_spells();
        let path = |n: &str| dir.path().join(n);
        if edited {
            tui.type_text("local m = 1 ");
            tui.wait_for(&["b.lua ●", "local m = 1 return 'b'"]);
            std::fs::remove_file(path("b.lua")).unwrap();
        } else {
            std::fs::rename(path("b.lua"), path("d.lua")).unwrap();
        }
        let text = if edited {
            "local m = 1 return 'b'\n"
        } else {
            "return 'b'\n"
        };
        let shown = text.trim_end();
        let mark = if edited { "b.lua ●" } else { "b.lua" };
        let screen = tui.wait_for(&[&format!("{mark} (deleted on disk)"), shown]);
        assert!(!screen.contains("a.lua ●"), "{screen}");
        assert!(!screen.contains("cannot read"), "{screen}");
        // F5 saves it back where it was, runs it, and writes nothing else.
        tui.keys(&["F5"]);
        tui.wait_for(&["b.lua: \"b\" ("]);
        wait_for_file(&path("b.lua"), text, &tui);
        assert_eq!(
            std::fs::read_to_string(path("a.lua")).unwrap(),
            "return 'a'\n"
        );
        assert_eq!(
            std::fs::read_to_string(path("c.lua")).unwrap(),
            "return 'c'\n"
        );
        if !edited {
            assert_eq!(std::fs::read_to_string(path("d.lua")).unwrap(), text);
        }
        let screen = tui.wait_for(&["b.lua"]);
        assert!(!screen.contains("(deleted on disk)"), "{screen}");
        tui.keys(&["C-q"]);
    }
    // Ctrl+S after a deletion, too.
    let (dir, tui) = three_spells();
    tui.type_text("local k = 1 ");
    tui.wait_for(&["b.lua ●"]);
    std::fs::remove_file(dir.path().join("b.lua")).unwrap();
    tui.wait_for(&["b.lua ● (deleted on disk)"]);
    tui.keys(&["C-s"]);
    wait_for_file(&dir.path().join("b.lua"), "local k = 1 return 'b'\n", &tui);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("a.lua")).unwrap(),
        "return 'a'\n"
    );
}

#[test]
fn a_file_that_is_not_text_is_shown_as_such_and_never_saved_over() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = b"\xff\xfe\x00\x01x";
    std::fs::write(dir.path().join("bin.lua"), bytes).unwrap();
    let tui = Tmux::start(dir.path());
    tui.wait_for(&["bin.lua (not editable)", "not UTF-8 text"]);
    tui.keys(&["Tab"]);
    tui.type_text("x");
    tui.keys(&["Enter", "C-s"]);
    tui.wait_for(&["never saved over"]);
    tui.keys(&["F5"]);
    tui.wait_for(&["bin.lua: "]);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(std::fs::read(dir.path().join("bin.lua")).unwrap(), bytes);
    let screen = tui.screen();
    assert!(!screen.contains("bin.lua ●"), "{screen}");
}

#[test]
fn saving_over_a_change_made_on_disk_asks_which_to_keep() {
    let (dir, tui) = three_spells();
    let b = dir.path().join("b.lua");
    tui.type_text("ours() ");
    tui.wait_for(&["b.lua ●"]);
    std::fs::write(&b, "return 'theirs'\n").unwrap();
    tui.wait_for(&["b.lua ● (changed on disk)", "ours() return 'b'"]);
    // Ctrl+S asks; any other key cancels, and types nothing.
    tui.keys(&["C-s"]);
    tui.wait_for(&["o overwrites it with yours"]);
    tui.type_text("z");
    tui.wait_for(&["not saved"]);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(std::fs::read_to_string(&b).unwrap(), "return 'theirs'\n");
    assert!(!tui.screen().contains("zours()"));
    // `o` keeps ours.
    tui.keys(&["C-s"]);
    tui.wait_for(&["o overwrites it with yours"]);
    tui.type_text("o");
    wait_for_file(&b, "ours() return 'b'\n", &tui);
    tui.wait_for(&["saved"]);
    // Changed again; `r` takes theirs into the buffer.
    tui.type_text("again() ");
    tui.wait_for(&["b.lua ●"]);
    std::fs::write(&b, "return 'theirs again'\n").unwrap();
    tui.wait_for(&["(changed on disk)"]);
    tui.keys(&["C-s"]);
    tui.wait_for(&["o overwrites it with yours"]);
    tui.type_text("r");
    let screen = tui.wait_for(&["return 'theirs again'", "reloaded from disk"]);
    assert!(!screen.contains("b.lua ●"), "{screen}");
    assert_eq!(
        std::fs::read_to_string(&b).unwrap(),
        "return 'theirs again'\n"
    );
}

#[test]
fn a_repl_continues_an_unfinished_entry_shows_its_bridge_calls_and_lives_past_ctrl_c() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.lua"), "return 1\n").unwrap();
    let tui = Tmux::start(dir.path());
    tui.wait_for(&["a.lua", "return 1"]);
    tui.keys(&["F2"]);
    tui.wait_for(&["Lua REPL"]);
    tui.type_text("for i = 1, 2 do");
    tui.keys(&["Enter"]);
    tui.wait_for(&["unfinished: Enter adds a line"]);
    tui.type_text("print('line ' .. i)");
    tui.keys(&["Enter"]);
    tui.type_text("end");
    tui.keys(&["Enter"]);
    tui.wait_for(&["line 1", "line 2"]);
    // Its bridge calls show in the Events and State panes.
    tui.type_text("state.set('from_repl', 42)");
    tui.keys(&["Enter"]);
    tui.wait_for(&["from_repl = 42", "state.set"]);
    // An endless entry stops with Ctrl+C, and the REPL goes on.
    tui.type_text("while true do end");
    tui.keys(&["Enter"]);
    tui.wait_for(&["running: Ctrl+C stops it"]);
    tui.keys(&["C-c"]);
    tui.wait_for(&["cancelled"]);
    tui.type_text("return 6 * 7");
    tui.keys(&["Enter"]);
    tui.wait_for(&["=> 42"]);
    tui.keys(&["C-q"]);
}

#[test]
fn output_shows_printed_lines_whole_and_scrolls() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("many.lua"),
        "local t = {}\nfor i = 1, 60 do t[i] = 'row ' .. i end\nprint(table.concat(t, '\\n'))\nprint('a', 'b')\nreturn {done = true}\n",
    )
    .unwrap();
    let tui = Tmux::start(dir.path());
    tui.wait_for(&["many.lua", "table.concat"]);
    tui.keys(&["F5"]);
    // Each printed line on its own row, a tab kept as space, the result
    // at the end.
    let screen = tui.wait_for(&["row 60", "a       b", "\"done\": true", "many.lua: {"]);
    assert!(!screen.contains("row 1row 2"), "{screen}");
    // F2 five times (three REPLs, the Runs) comes back to Output,
    // focused: PageUp and Home scroll it.
    tui.keys(&["F2", "F2", "F2", "F2", "F2"]);
    tui.keys(&["PageUp"]);
    tui.wait_for(&["Output (scrolled: End follows again)"]);
    tui.keys(&["Home"]);
    let top = tui.wait_for(&["── many.lua · ", "row 1 "]);
    assert!(!top.contains("row 60"), "{top}");
    tui.keys(&["End"]);
    tui.wait_for(&["row 60", "\"done\": true"]);
    tui.keys(&["C-l"]);
    tui.wait_without(&["row 60", "\"done\": true"]);
    tui.keys(&["C-q"]);
}

#[test]
fn the_editor_finds_comments_indents_copies_and_undoes_in_a_real_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let spell = dir.path().join("f.lua");
    std::fs::write(&spell, "local a = 1\nlocal b = 2\nprint(a + b)\n").unwrap();
    let tui = Tmux::start(dir.path());
    tui.wait_for(&["f.lua", "print(a + b)"]);
    tui.keys(&["Tab"]);
    // Ctrl+F finds the next match after the cursor and selects it, so
    // typing replaces it; F3 goes on, round the end.
    tui.keys(&["C-f"]);
    tui.wait_for(&["find (F3 next"]);
    tui.type_text("local");
    tui.keys(&["Enter"]);
    tui.type_text("X");
    tui.wait_for(&["X b = 2"]);
    tui.keys(&["F3"]);
    tui.type_text("Y");
    tui.wait_for(&["Y a = 1"]);
    // Ctrl+/ (the terminal sends Ctrl+_) comments the line out.
    tui.keys(&["C-_"]);
    tui.wait_for(&["-- Y a = 1"]);
    // Shift+Down and Shift+Right select into the next line; Tab indents
    // both lines.
    tui.keys(&["Home", "S-Down", "S-Right", "Tab"]);
    tui.wait_for(&["    -- Y a = 1", "    X b = 2"]);
    // Shift+Tab takes the indent off again; Esc leaves the editor.
    tui.keys(&["BTab"]);
    tui.wait_for(&["1 -- Y a = 1"]);
    tui.keys(&["C-s"]);
    wait_for_file(&spell, "-- Y a = 1\nX b = 2\nprint(a + b)\n", &tui);
    // Undo goes back a step at a time: the outdent, the indent, the
    // comment, then "Y" (typed over the "local" F3 had selected).
    tui.keys(&["C-z"]);
    tui.wait_for(&["    -- Y a = 1"]);
    tui.keys(&["C-z", "C-z"]);
    tui.wait_for(&["1 Y a = 1"]);
    tui.keys(&["C-z"]);
    let screen = tui.wait_for(&["1 local a = 1"]);
    // Our own save read back after more edits is not news from disk.
    assert!(!screen.contains("changed on disk"), "{screen}");
    tui.keys(&["C-q", "C-q"]);
}

#[test]
fn the_readme_walkthrough_works_with_no_model_from_the_shipped_cassettes() {
    let dir = project::chat_project();
    // Nothing listens on the config's model address: only the cassettes answer.
    let cassettes = dir.path().join("cassettes");
    let tui = Tmux::start_with(dir.path(), &["--replay", cassettes.to_str().unwrap()]);
    tui.wait_for(&["chat.js", "[replaying cassettes/chat.jsonl]"]);
    for (i, ext) in ["js", "lua", "rhai"].into_iter().enumerate() {
        let spell = format!("chat.{ext}");
        if i > 0 {
            tui.keys(&["Down"]);
        }
        tui.wait_for(&[&format!("┌{spell}")]);
        tui.keys(&["F5"]);
        tui.wait_for(&[
            &format!("── {spell} · "),
            "Kepler-452b",
            "tokens: 28 in, 30 out",
            &format!("{spell}: \"local/smollm2\""),
        ]);
        // Step to the model call, and give the spell another reply.
        tui.keys(&["d", "b"]);
        tui.wait_for(&["[debug llm.*]"]);
        tui.keys(&["F5"]);
        tui.wait_for(&["Paused before llm.chat"]);
        tui.keys(&["F10"]);
        tui.wait_for(&["Paused after llm.chat", "Kepler-452b"]);
        tui.keys(&["e"]);
        tui.wait_for(&["Edit the reply of llm.chat"]);
        tui.keys(&["C-Home", "C-S-End", "Delete"]);
        tui.type_text(r#"{"text": "EDITED", "usage": {"input_tokens": 1, "output_tokens": 2}, "model": "local/smollm2"}"#);
        tui.keys(&["F5"]);
        tui.wait_for(&[
            "EDITED",
            "tokens: 1 in, 2 out",
            &format!("{spell}: \"local/smollm2\""),
        ]);
        // Back to plain runs for the next language.
        tui.keys(&["d", "b", "b", "b", "b"]);
        tui.wait_for(&["[debug *]"]);
        tui.keys(&["d"]);
    }
    tui.keys(&["q"]);
}

#[test]
fn f10_steps_over_what_a_tool_does_and_map_locals_are_right_at_the_first_item() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("t.lua"),
        "local t = tool.define{name = \"t\", description = \"d\", params = {type = \"object\"},\n  run = function(a) state.set(\"inside\", 1) return 1 end}\ntool.call(t, {})\nstate.set(\"outside\", 2)\nlocal out = workflow.map({\"a\", \"b\"}, function(item, i)\n  return item .. i\nend)\nreturn out\n",
    )
    .unwrap();
    let tui = Tmux::start(dir.path());
    tui.wait_for(&["t.lua", "tool.define"]);
    tui.keys(&["B"]);
    tui.wait_for(&["pause before"]);
    tui.keys(&["C-u"]);
    tui.type_text("tool.call, state.set");
    tui.keys(&["Enter"]);
    tui.keys(&["F5"]);
    tui.wait_for(&["Paused before tool.call"]);
    // F10 over tool.call: the state.set its run makes does not pause.
    tui.keys(&["F10"]);
    tui.wait_for(&["Paused after tool.call"]);
    // From a call's return, F10 goes on to the next line, then over it.
    tui.keys(&["F10"]);
    tui.wait_for(&["Paused at t.lua:4"]);
    tui.keys(&["F10"]);
    let at = tui.wait_for(&["Paused before state.set"]);
    assert!(at.contains("\"outside\""), "stepped into the tool:\n{at}");
    tui.keys(&["c"]);
    tui.wait_for(&["t.lua: [\"a1\",\"b2\"]"]);
    tui.keys(&["d"]);
    tui.wait_without(&["[debug"]);
    // A line breakpoint in the map's function: right locals from item one.
    tui.keys(&["Tab", "C-g"]);
    tui.type_text("6");
    tui.keys(&["Enter", "F9"]);
    tui.wait_for(&["● 6"]);
    tui.escape();
    tui.keys(&["F5"]);
    tui.wait_for(&["Paused at t.lua:6", "item = \"a\"", "i = 1"]);
    tui.keys(&["F5"]);
    tui.wait_for(&["Paused at t.lua:6", "item = \"b\"", "i = 2"]);
    tui.keys(&["F5"]);
    tui.wait_for(&["t.lua: [\"a1\",\"b2\"]"]);
    tui.keys(&["q"]);
}

#[test]
fn at_a_pause_a_watch_a_callers_frame_the_repl_and_step_out_work_in_every_language() {
    for (name, src) in [
        (
            "d.js",
            "function grow(n) {\n  let m = n * 2;\n  return m + 1;\n}\n\
             const base = 20;\nconst got = grow(base);\nexport default got;\n",
        ),
        (
            "d.lua",
            "local function grow(n)\n  local m = n * 2\n  return m + 1\nend\n\
             local base = 20\nlocal got = grow(base)\nreturn got\n",
        ),
        (
            "d.rhai",
            "fn grow(n) {\n  let m = n * 2;\n  m + 1\n}\n\
             let base = 20;\nlet got = grow(base);\ngot\n",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(name), src).unwrap();
        let tui = Tmux::start(dir.path());
        tui.wait_for(&[name, "grow"]);
        tui.keys(&["Tab", "C-g"]);
        tui.type_text("2");
        tui.keys(&["Enter", "F9"]);
        tui.wait_for(&["● 2"]);
        tui.escape();
        tui.keys(&["F5"]);
        tui.wait_for(&[&format!("Paused at {name}:2"), "n = 20", "▸ grow"]);
        // A watch, evaluated at this pause and kept for the next.
        tui.keys(&["w"]);
        tui.wait_for(&["watch at every pause"]);
        tui.type_text("n * 3");
        tui.keys(&["Enter"]);
        tui.wait_for(&["n * 3 = 60"]);
        // The caller's frame: its locals (Lua; Rhai keeps them out of
        // reach, and JavaScript keeps them only while stepping or with
        // break patterns: each says so in the watch).
        tui.keys(&["<"]);
        tui.wait_for(&["▸ main"]);
        if name.ends_with(".lua") {
            tui.wait_for(&["locals of frame 1", "  base = 20"]);
        } else {
            let screen = tui.wait_for(&["n * 3 = <debug.unsupported"]);
            assert!(!screen.contains("locals of frame 1"), "{screen}");
        }
        tui.keys(&[">"]);
        tui.wait_for(&["▸ grow", "n * 3 = 60"]);
        // The REPL, bound to the pause: code runs in the paused frame and
        // a local set there is what the spell goes on with.
        tui.keys(&["F2"]);
        tui.wait_for(&["REPL · paused in grow at line 2"]);
        tui.type_text("n + 100");
        tui.keys(&["Enter"]);
        tui.wait_for(&["120"]);
        tui.type_text(if name.ends_with(".lua") {
            "n = 5"
        } else {
            "n = 5;"
        });
        tui.keys(&["Enter"]);
        tui.keys(&["F2"]);
        tui.wait_for(&[&format!("Paused at {name}:2"), "n * 3 = 15"]);
        // Step out: back in main, past the call, with what grow returned.
        tui.keys(&["S-F11"]);
        tui.wait_for(&[&format!("Paused at {name}:7"), "got = 11"]);
        tui.keys(&["F5"]);
        tui.wait_for(&[&format!("{name}: 11")]);
        tui.keys(&["q"]);
    }
}

#[test]
fn a_conditional_breakpoint_a_logpoint_and_a_line_without_code_in_every_engine() {
    for (name, src) in [
        (
            "c.js",
            "let n = 0;\nfor (let i = 1; i <= 6; i++) {\n  n += i;\n\n  const twice = n * 2;\n}\nexport default n;\n",
        ),
        (
            "c.lua",
            "local n = 0\nfor i = 1, 6 do\n  n = n + i\n\n  local twice = n * 2\nend\nreturn n\n",
        ),
        (
            "c.rhai",
            "let n = 0;\nfor i in 1..=6 {\n  n += i;\n\n  let twice = n * 2;\n}\nn\n",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(name), src).unwrap();
        let tui = Tmux::start(dir.path());
        tui.wait_for(&[name, "twice"]);
        // Line 4 is blank: its breakpoint is set, and said never to stop.
        tui.keys(&["Tab", "C-g"]);
        tui.type_text("4");
        tui.keys(&["Enter", "F9"]);
        tui.wait_for(&["line 4 has no code", "○ 4"]);
        tui.keys(&["F9"]);
        // Line 3 pauses only once i > 3.
        tui.keys(&["Up", "S-F9"]);
        tui.wait_for(&["pause only if"]);
        tui.type_text("i > 3");
        tui.keys(&["Enter"]);
        tui.wait_for(&["on hits"]);
        tui.keys(&["Enter"]);
        tui.wait_for(&["log instead of pausing"]);
        tui.keys(&["Enter"]);
        tui.wait_for(&["breakpoint on line 3: if i > 3", "◉ 3"]);
        // Line 5 logs, and does not pause.
        tui.keys(&["Down", "Down", "S-F9"]);
        tui.keys(&["Enter", "Enter"]);
        tui.type_text("n is {n}");
        tui.keys(&["Enter"]);
        tui.wait_for(&["◆ 5"]);
        tui.escape();
        tui.keys(&["F5"]);
        tui.wait_for(&[&format!("Paused at {name}:3"), "i = 4", "n = 6"]);
        tui.keys(&["F5"]);
        tui.wait_for(&[&format!("Paused at {name}:3"), "i = 5"]);
        tui.keys(&["F5"]);
        tui.wait_for(&[&format!("Paused at {name}:3"), "i = 6"]);
        tui.keys(&["F5"]);
        tui.wait_for(&[
            &format!("{name}: 21"),
            "[log :5] n is 1",
            "[log :5] n is 21",
        ]);
        tui.keys(&["q"]);
    }
}

impl Tmux {
    /// A mouse event at (column, row), counted from 0, as a terminal in
    /// SGR mouse mode sends it: `button` 0 is a left press, 64 and 65 the
    /// wheel up and down.
    fn mouse(&self, button: u8, column: u16, row: u16) {
        let seq = format!("\x1b[<{button};{};{}M", column + 1, row + 1);
        let hex: Vec<String> = seq.bytes().map(|b| format!("{b:02x}")).collect();
        let status = Command::new("tmux")
            .args(["send-keys", "-t", &self.session, "-H"])
            .args(&hex)
            .status()
            .unwrap();
        assert!(status.success());
    }
}

#[test]
fn the_mouse_picks_spells_places_the_cursor_and_scrolls_and_subfolders_filter() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.lua"), "return 'a'\n").unwrap();
    std::fs::create_dir(dir.path().join("more")).unwrap();
    let long: String = (1..=80).map(|i| format!("local v{i} = {i}\n")).collect();
    std::fs::write(dir.path().join("more/b.lua"), &long).unwrap();
    let tui = Tmux::start(dir.path());
    tui.wait_for(&["a.lua", "more/b.lua", "return 'a'"]);
    // Click the second spell (row 2: the border is row 0).
    tui.mouse(0, 3, 2);
    tui.wait_for(&["local v1 = 1"]);
    // The wheel over the editor scrolls it.
    tui.mouse(65, 30, 5);
    tui.mouse(65, 30, 5);
    // Two turns of three lines: line 7 is the first shown.
    tui.wait_without(&["local v6 = 6"]);
    tui.wait_for(&["│  7 local v7 = 7"]);
    // A click in the editor places the cursor there: typing lands there.
    let screen = tui.screen();
    let (row, line) = screen
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains("local v10 = 10"))
        .expect("line 10 on screen");
    let col = line.chars().position(|c| c == '=').unwrap();
    tui.mouse(0, col as u16, row as u16);
    tui.type_text("X");
    tui.wait_for(&["local v10 X= 10"]);
    // `/` in the list filters it as you type.
    tui.escape();
    tui.keys(&["/"]);
    tui.type_text("more");
    let shown = tui.wait_for(&["Spells /more (1)"]);
    assert!(!shown.contains("│a.lua"), "{shown}");
    tui.keys(&["C-q", "C-q"]);
}

#[test]
fn the_runs_view_keeps_opens_forks_and_compares_runs_in_each_language() {
    let dir = project::chat_project();
    let cassettes = dir.path().join("cassettes");
    let tui = Tmux::start_with(dir.path(), &["--replay", cassettes.to_str().unwrap()]);
    tui.wait_for(&["chat.js", "[replaying cassettes/chat.jsonl]"]);
    for (i, ext) in ["js", "lua", "rhai"].into_iter().enumerate() {
        let spell = format!("chat.{ext}");
        let (first, fork) = (2 * i + 1, 2 * i + 2);
        if i > 0 {
            // From the Runs view to the editor, the spell list, the next spell.
            tui.keys(&["F2", "BTab"]);
            tui.escape();
            tui.keys(&["Down"]);
        }
        tui.wait_for(&[&format!("┌{spell}")]);
        tui.keys(&["F5"]);
        tui.wait_for(&[&format!("{spell}: \"local/smollm2\"")]);
        // The Runs view: after the three REPLs.
        tui.keys(&["F2", "F2", "F2", "F2"]);
        tui.wait_for(&[&format!("Runs ({first})"), &format!("{first}  ")]);
        tui.keys(&["Home", "Enter"]);
        tui.wait_for(&[&format!("Run {first} {spell} ok"), "started"]);
        tui.keys(&["]"]);
        tui.wait_for(&["[user] Name one planet of the solar system."]);
        tui.keys(&["f"]);
        tui.wait_for(&[&format!("Fork run {first} at #1")]);
        tui.keys(&["C-Home", "C-S-End", "Delete"]);
        tui.type_text(r#"{"text": "Mars, forked in tmux."}"#);
        tui.keys(&["F5"]);
        tui.wait_for(&[
            &format!("fork of run {first} at #1"),
            "Mars, forked in tmux.",
            "tokens: 0 in, 0 out",
        ]);
        tui.keys(&["F2", "F2", "F2", "F2"]);
        tui.wait_for(&[&format!("Runs ({fork})"), &format!("ok (from {first})")]);
        // Mark the fork (the newest) and its parent: they compare.
        tui.keys(&["Home", "m", "Down", "m"]);
        tui.wait_for(&[
            &format!("Runs {fork} and {first} compared"),
            "source: the same",
        ]);
        tui.keys(&["End"]);
        tui.wait_for(&["-    Mars, forked in tmux."]);
        tui.escape();
        tui.wait_for(&[&format!("Runs ({fork})")]);
    }
    // The keys are in the help.
    tui.keys(&["F1"]);
    tui.wait_for(&["open the chosen kept run"]);
    tui.escape();
    tui.keys(&["C-q"]);
}

/// A python with the official MCP SDK (scripts/mcp.sh; CI sets
/// `LLMSPELL_MCP_PYTHON`).
fn sdk_python() -> Option<std::path::PathBuf> {
    if let Some(p) = std::env::var_os("LLMSPELL_MCP_PYTHON") {
        return Some(p.into());
    }
    let p =
        Path::new(&std::env::var_os("HOME")?).join(".cache/llmspell/mcp-python-1.30.0/bin/python");
    if p.exists() {
        return Some(p);
    }
    eprintln!("no Python MCP SDK (scripts/mcp.sh installs it): skipped");
    None
}

/// The number after `marker` on the screen.
fn number_after(screen: &str, marker: &str) -> u32 {
    let at = screen
        .find(marker)
        .unwrap_or_else(|| panic!("{marker:?} in {screen}"))
        + marker.len();
    screen[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or_else(|_| panic!("a number after {marker:?} in {screen}"))
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        !stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z'))
    })
}

#[test]
fn the_ides_runs_share_an_mcp_server_until_its_config_changes() {
    let Some(python) = sdk_python() else { return };
    let faulty = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/mcp/faulty.py");
    let dir = tempfile::tempdir().unwrap();
    let config = |extra: &str| {
        format!(
            "[capabilities]\nmcp = [\"faulty\"]\n\n[mcp.faulty]\ncommand = [{:?}, {:?}, \"sdk\"]\n{extra}",
            python.display().to_string(),
            faulty.display().to_string()
        )
    };
    std::fs::write(dir.path().join("llmspell.toml"), config("")).unwrap();
    std::fs::write(
        dir.path().join("pid.lua"),
        "local n = state.update(\"n\", function(n) return (n or 0) + 1 end)\n\
         print(\"run \" .. n .. \" pid \" .. tool.call(\"faulty/pid\", {}))\n",
    )
    .unwrap();
    let tui = Tmux::start(dir.path());
    tui.wait_for(&["pid.lua"]);
    tui.keys(&["F5"]);
    let first = number_after(&tui.wait_for(&["run 1 pid "]), "run 1 pid ");
    tui.keys(&["F5"]);
    let second = number_after(&tui.wait_for(&["run 2 pid "]), "run 2 pid ");
    assert_eq!(first, second, "one server for both runs");
    assert!(alive(first), "the server stays up between the IDE's runs");
    // The config changes: the next run has a new server, the old one stops.
    std::fs::write(
        dir.path().join("llmspell.toml"),
        config("env = { CHANGED = \"1\" }\n"),
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    tui.keys(&["F5"]);
    let third = number_after(&tui.wait_for(&["run 3 pid "]), "run 3 pid ");
    assert_ne!(third, first);
    let until = Instant::now() + Duration::from_secs(5);
    while alive(first) {
        assert!(Instant::now() < until, "the old server outlived its config");
        std::thread::sleep(Duration::from_millis(20));
    }
    tui.keys(&["q"]);
    let until = Instant::now() + Duration::from_secs(10);
    while alive(third) {
        assert!(Instant::now() < until, "the server outlived the IDE");
        std::thread::sleep(Duration::from_millis(20));
    }
}
