//! The real binary in a real terminal (tmux): open a project, run a spell,
//! see its output, an event and a state change, pause at a bridge call,
//! and see a file edited by another program reload.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    session: String,
}

impl Tmux {
    fn start(dir: &Path) -> Tmux {
        let session = format!("llmspell-tui-test-{}", std::process::id());
        let bin = env!("CARGO_BIN_EXE_llmspell-tui");
        let status = Command::new("tmux")
            .args(["new-session", "-d", "-s", &session, "-x", "100", "-y", "30"])
            .arg(format!("{bin} {}", dir.display()))
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

    /// Waits until the screen shows every one of `texts`.
    fn wait_for(&self, texts: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let screen = self.screen();
            if texts.iter().all(|t| screen.contains(t)) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "the screen never showed {texts:?}:\n{screen}"
            );
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
    tui.keys(&["q"]);
}
