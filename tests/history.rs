//! The run history as a user meets it: `llmspell run` keeps every run,
//! `llmspell runs` lists them, `runs show` prints one whole, `replay`
//! runs one again from its journal with no network (or forks it with
//! another reply), `runs diff` compares two; and what goes wrong (a
//! damaged or foreign database, a full disk, an id that is not there,
//! several processes at once) costs no kept run.

mod support;

use std::path::Path;
use std::process::Command;

use support::scripted::{Reply, Scripted};

use support::cli::{llmspell, text, write};
use support::project::chat_project;

/// `llmspell runs --json` in `dir`.
fn runs(dir: &Path, extra: &[&str]) -> Vec<serde_json::Value> {
    let mut args = vec!["runs", "--json"];
    args.extend(extra);
    let out = llmspell(dir, &args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn every_run_is_kept_shown_replayed_forked_and_compared_in_each_language() {
    let d = chat_project();
    let dir = d.path();
    write(dir, "fork.json", "\"Mars, the red planet.\"");
    for engine in ["lua", "js", "rhai"] {
        let spell = format!("chat.{engine}");
        let first = llmspell(dir, &["run", &spell, "--replay", "cassettes/chat.jsonl"]);
        assert!(first.status.success(), "{}", text(&first.stderr));
        let kept = runs(dir, &["--spell", &spell]);
        let run = &kept[0];
        assert_eq!(run["spell"], spell.as_str());
        assert_eq!(run["status"], "ok");
        assert_eq!(run["model_calls"], 1);
        assert_eq!(run["tokens"], 58);
        assert_eq!(run["models"], serde_json::json!(["local/smollm2"]));
        let id = run["id"].as_i64().unwrap().to_string();

        // The table a user reads.
        let table = text(&llmspell(dir, &["runs"]).stdout);
        let row = table
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{id} ")))
            .unwrap_or_else(|| panic!("no row for run {id}:\n{table}"));
        assert!(row.contains(&spell) && row.contains(" ok "), "{row}");
        assert!(row.trim_end().ends_with("1      58"), "{row}");

        // Shown whole: the messages in, the reply out, the output.
        let show = text(&llmspell(dir, &["runs", "show", &id]).stdout);
        for part in [
            "[system] Answer in one short sentence.",
            "[user] Name one planet of the solar system.",
            "28 in / 30 out",
            "The exoplanet Kepler-452b",
            "tokens: 28 in, 30 out",
            "llm.response",
        ] {
            assert!(show.contains(part), "{part:?} not in:\n{show}");
        }

        // Replayed from the history alone: the cassette is not needed.
        std::fs::rename(dir.join("cassettes"), dir.join("away")).unwrap();
        let again = llmspell(dir, &["replay", &id]);
        assert!(again.status.success(), "{}", text(&again.stderr));
        assert_eq!(text(&again.stdout), text(&first.stdout));
        assert!(
            text(&again.stderr).contains(&format!(
                "replayed run {id} from its journal: the same result and output"
            )),
            "{}",
            text(&again.stderr)
        );

        // A fork: exchange 1 answered otherwise, kept with its parent.
        let fork = llmspell(dir, &["replay", &id, "--reply", "1=fork.json"]);
        assert!(fork.status.success(), "{}", text(&fork.stderr));
        let out = text(&fork.stdout);
        assert!(out.starts_with("Mars, the red planet.\n"), "{out}");
        assert!(text(&fork.stderr).contains("it differs"));
        let newest = &runs(dir, &["--limit", "1"])[0];
        assert_eq!(newest["parent"].as_i64().unwrap().to_string(), id);
        let fork_id = newest["id"].as_i64().unwrap().to_string();
        std::fs::rename(dir.join("away"), dir.join("cassettes")).unwrap();

        let diff = text(&llmspell(dir, &["runs", "diff", &id, &fork_id]).stdout);
        for part in [
            "source: the same",
            "args: the same",
            "exchanges: they part at #1",
            "the same request, another reply:",
            "-    The exoplanet Kepler-452b",
            "+    Mars, the red planet.",
            "+Mars, the red planet.",
        ] {
            assert!(diff.contains(part), "{part:?} not in:\n{diff}");
        }
    }
    // Nine runs, three per language, the forks linked.
    let all = runs(dir, &[]);
    assert_eq!(all.len(), 9);
    assert_eq!(all.iter().filter(|r| !r["parent"].is_null()).count(), 6);
    assert_eq!(runs(dir, &["--spell", "chat"]).len(), 9);
    assert_eq!(runs(dir, &["--spell", "chat.js"]).len(), 3);
}

/// What a spell reads from the clock, the files and its random numbers
/// comes back the same in a replay, though the world changed.
#[test]
fn a_replay_brings_back_tool_results_and_random_numbers_exactly() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    write(dir, "llmspell.toml", "[capabilities]\nfs = \"read\"\n");
    write(dir, "note.txt", "first words");
    write(
        dir,
        "w.lua",
        "print(tool.call('read_file', {path = 'note.txt'}))\n\
         print(tool.call('datetime', {}))\n\
         print(math.random(1, 1000000))\n",
    );
    write(
        dir,
        "w.js",
        "print(await tool.call('read_file', {path: 'note.txt'}));\n\
         print(await tool.call('datetime', {}));\n\
         print(Math.random());\n",
    );
    write(
        dir,
        "w.rhai",
        "print(tool.call(\"read_file\", #{path: \"note.txt\"}));\n\
         print(tool.call(\"datetime\", #{}));\n",
    );
    for spell in ["w.lua", "w.js", "w.rhai"] {
        write(dir, "note.txt", "first words");
        let first = llmspell(dir, &["run", spell]);
        assert!(first.status.success(), "{}", text(&first.stderr));
        assert!(text(&first.stdout).starts_with("first words\n"));
        write(dir, "note.txt", "other words");
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let id = runs(dir, &["--limit", "1"])[0]["id"].to_string();
        let again = llmspell(dir, &["replay", &id]);
        assert!(again.status.success(), "{}", text(&again.stderr));
        assert_eq!(text(&again.stdout), text(&first.stdout), "{spell}");
        assert!(text(&again.stderr).contains("the same result and output"));
        // Live, the world has moved on.
        let live = llmspell(dir, &["run", spell]);
        assert!(text(&live.stdout).starts_with("other words\n"));
    }
}

#[test]
fn a_key_and_its_header_never_reach_the_history() {
    let server = Scripted::always(Reply::text("a reply"));
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let toml = server.toml().replace(
        "model = \"m1\"\n",
        "model = \"m1\"\napi_key_env = \"HISTORY_TEST_KEY\"\n",
    );
    write(dir, "llmspell.toml", &toml);
    write(dir, "k.lua", "return llm.chat('hello').text");
    let secret = "sk-history-secret-4f1c9a";
    let out = Command::new(env!("CARGO_BIN_EXE_llmspell"))
        .args(["run", "k.lua"])
        .current_dir(dir)
        .env("HISTORY_TEST_KEY", secret)
        .output()
        .unwrap();
    assert_eq!(text(&out.stdout), "\"a reply\"\n", "{}", text(&out.stderr));
    assert_eq!(
        server.auth.lock().unwrap().as_slice(),
        [format!("authorization: Bearer {secret}")]
    );
    let show = llmspell(dir, &["runs", "show", "last", "--json"]);
    assert!(text(&show.stdout).contains("a reply"));
    for f in std::fs::read_dir(dir.join(".llmspell")).unwrap() {
        let bytes = std::fs::read(f.unwrap().path()).unwrap();
        let hay = String::from_utf8_lossy(&bytes);
        assert!(!hay.contains(secret) && !hay.contains("Bearer"));
    }
}

#[test]
fn a_damaged_or_foreign_history_is_a_coded_error_and_is_left_as_it_is() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    write(dir, "s.lua", "state.set('k', 1)\nprint('ran')\nreturn 7");
    let db = dir.join(".llmspell/history.db");
    // Not a database at all; then a database of someone else's.
    let garbage = b"this is not a database, it only sits where one would".repeat(100);
    std::fs::create_dir_all(dir.join(".llmspell")).unwrap();
    std::fs::write(&db, &garbage).unwrap();
    let out = llmspell(dir, &["run", "s.lua"]);
    assert_eq!(text(&out.stdout), "ran\n7\n");
    assert!(out.status.success());
    let err = text(&out.stderr);
    assert!(err.starts_with("warning: history.corrupt: "), "{err}");
    assert!(
        err.contains("move it away") && err.contains("not kept"),
        "{err}"
    );
    assert_eq!(std::fs::read(&db).unwrap(), garbage);
    let out = llmspell(dir, &["runs"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).starts_with("history.corrupt: "));

    std::fs::remove_file(&db).unwrap();
    let foreign = rusqlite::Connection::open(&db).unwrap();
    foreign
        .execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('mine');")
        .unwrap();
    drop(foreign);
    let before = std::fs::read(&db).unwrap();
    let out = llmspell(dir, &["run", "s.lua"]);
    assert!(out.status.success());
    assert!(text(&out.stderr).starts_with("warning: history.corrupt: "));
    assert_eq!(std::fs::read(&db).unwrap(), before);
    let out = llmspell(dir, &["runs", "show", "1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).starts_with("history.corrupt: "));
    // The project's state was kept all along.
    let out = llmspell(dir, &["run", "s.lua", "--no-history"]);
    assert!(out.status.success());
    write(dir, "get.lua", "return state.get('k')");
    assert_eq!(
        text(&llmspell(dir, &["run", "get.lua", "--no-history"]).stdout),
        "1\n"
    );
}

#[test]
fn a_run_that_is_not_there_and_bad_requests_are_coded_errors() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    // No history yet: the list says so, the rest cannot find a run.
    let out = llmspell(dir, &["runs"]);
    assert!(out.status.success());
    assert!(text(&out.stdout).starts_with("no runs kept in "));
    assert!(!dir.join(".llmspell").exists());
    let out = llmspell(dir, &["runs", "show", "3"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).starts_with("history.no_run: "));
    write(dir, "a.rhai", "print(\"a\"); 1");
    assert!(llmspell(dir, &["run", "a.rhai"]).status.success());
    for args in [
        &["runs", "show", "99"][..],
        &["replay", "99"],
        &["runs", "diff", "1", "99"],
        &["runs", "rm", "99"],
        &["runs", "export", "99", "--cassette", "x.jsonl"],
    ] {
        let out = llmspell(dir, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = text(&out.stderr);
        assert!(
            err.starts_with("history.no_run: ") && err.contains("99"),
            "{args:?}: {err}"
        );
    }
    for (args, says) in [
        (
            &["runs", "show", "one"][..],
            "a run id is a number or `last`",
        ),
        (&["runs", "frob"], "is not a command"),
        (&["runs", "--since", "yesterday"], "--since wants"),
        (&["replay", "1", "--reply", "2=x.json"], "cannot read it"),
        (&["runs", "rm"], "takes run ids or --older-than"),
    ] {
        let out = llmspell(dir, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            text(&out.stderr).contains(says),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    write(dir, "r.json", "\"x\"");
    let out = llmspell(dir, &["replay", "1", "--reply", "1=r.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("run 1 received 0 exchanges"));
    // The kept run is still there.
    assert_eq!(runs(dir, &[]).len(), 1);
}

#[test]
fn a_replay_of_a_changed_spell_says_where_the_journal_parts() {
    let d = chat_project();
    let dir = d.path();
    let run = llmspell(
        dir,
        &["run", "chat.lua", "--replay", "cassettes/chat.jsonl"],
    );
    assert!(run.status.success());
    let src = std::fs::read_to_string(dir.join("chat.lua")).unwrap();
    write(
        dir,
        "chat.lua",
        &src.replace("Name one planet", "Name one moon"),
    );
    // By default the source the run ran is replayed: it still matches.
    let same = llmspell(dir, &["replay", "1"]);
    assert!(same.status.success(), "{}", text(&same.stderr));
    assert!(text(&same.stderr).contains("the same result and output"));
    // The file as it is now asks something else.
    let now = llmspell(dir, &["replay", "1", "--current"]);
    assert_eq!(now.status.code(), Some(1));
    let err = text(&now.stderr);
    assert!(
        err.contains("replay.miss: run 1's journal has no answer"),
        "{err}"
    );
    assert!(err.contains("llmspell replay 1 --live-after 0"), "{err}");
    assert!(err.contains("+ ") && err.contains("Name one moon"), "{err}");
    // That replay is kept too, failed, linked to run 1.
    let newest = &runs(dir, &["--limit", "1"])[0];
    assert_eq!(newest["status"], "failed");
    assert_eq!(newest["error_code"], "replay.miss");
    assert_eq!(newest["parent"], 1);
    assert_eq!(runs(dir, &["--failed"]).len(), 1);
}

#[test]
fn runs_are_pruned_oldest_first_to_keep_runs_and_max_mb() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    write(dir, "llmspell.toml", "[history]\nkeep_runs = 3\n");
    write(dir, "n.js", "print(spell.args.n);");
    for n in 1..=5 {
        let out = llmspell(dir, &["run", "n.js", "--arg", &format!("n={n}")]);
        assert!(out.status.success());
    }
    let kept: Vec<_> = runs(dir, &[])
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(kept, [5, 4, 3]);
    assert!(llmspell(dir, &["runs", "show", "3"]).status.success());
    assert_eq!(llmspell(dir, &["runs", "show", "2"]).status.code(), Some(2));

    // About 400 KiB of output a run, at most 1 MiB kept: two runs fit.
    write(dir, "llmspell.toml", "[history]\nmax_mb = 1\n");
    write(dir, "big.lua", "print(string.rep('x', 400 * 1024))");
    for _ in 0..4 {
        assert!(llmspell(dir, &["run", "big.lua"]).status.success());
    }
    let big: Vec<_> = runs(dir, &["--spell", "big"]);
    assert_eq!(big.len(), 2, "{big:?}");
    // A run larger than the bound keeps its summary only, and says so.
    write(
        dir,
        "huge.lua",
        "print(string.rep('y', 1100 * 1024)) return 1",
    );
    let out = llmspell(dir, &["run", "huge.lua"]);
    assert!(out.status.success());
    assert_eq!(out.stdout.len(), 1100 * 1024 + 3);
    let huge = &runs(dir, &["--limit", "1"])[0];
    assert_eq!(huge["status"], "ok");
    assert!(huge["note"].as_str().unwrap().contains("max_mb"));
    let id = huge["id"].to_string();
    let out = llmspell(dir, &["replay", &id]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot be replayed"));

    // Removed by id and by age.
    let out = llmspell(dir, &["runs", "rm", &id]);
    assert_eq!(text(&out.stdout), "1 run(s) removed\n");
    let out = llmspell(dir, &["runs", "rm", "--older-than", "0s"]);
    assert!(out.status.success());
    assert!(runs(dir, &[]).is_empty());
}

#[test]
fn several_processes_keep_their_runs_at_once() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    write(
        dir,
        "p.lua",
        "print(spell.args.n) return tonumber(spell.args.n)",
    );
    let children: Vec<_> = (0..8)
        .map(|n| {
            Command::new(env!("CARGO_BIN_EXE_llmspell"))
                .args(["run", "p.lua", "--arg", &format!("n={n}")])
                .current_dir(dir)
                .output_async()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    }
    let kept = runs(dir, &[]);
    assert_eq!(kept.len(), 8);
    let mut ns: Vec<_> = kept
        .iter()
        .map(|r| r["args"]["n"].as_str().unwrap().to_owned())
        .collect();
    ns.sort();
    assert_eq!(ns, (0..8).map(|n| n.to_string()).collect::<Vec<_>>());
    let mut ids: Vec<_> = kept.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 8);
}

trait Spawn {
    fn output_async(&mut self) -> std::process::Child;
}

impl Spawn for Command {
    fn output_async(&mut self) -> std::process::Child {
        self.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    }
}

/// A full disk, made real: the child may write no file past a size
/// (`RLIMIT_FSIZE`, with SIGXFSZ ignored, so a write fails as on a full
/// disk). The run's outcome stands, the history says why it kept
/// nothing, and the runs kept before are all there.
#[test]
fn a_full_disk_loses_no_run_already_kept_and_not_the_runs_outcome() {
    use std::os::unix::process::CommandExt;
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    write(dir, "a.lua", "print('kept') return 1");
    assert!(llmspell(dir, &["run", "a.lua"]).status.success());
    write(
        dir,
        "big.lua",
        "print(string.rep('z', 256 * 1024)) return 2",
    );
    for limit in [0u64, 48 * 1024] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_llmspell"));
        cmd.args(["run", "big.lua"]).current_dir(dir);
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                let rl = libc::rlimit {
                    rlim_cur: limit,
                    rlim_max: libc::RLIM_INFINITY,
                };
                if libc::setrlimit(libc::RLIMIT_FSIZE, &rl) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(out.stdout.len(), 256 * 1024 + 3);
        let err = text(&out.stderr);
        assert!(err.starts_with("warning: history.io: "), "{limit}: {err}");
        assert!(
            err.contains("not kept") && err.contains("is the disk full?"),
            "{err}"
        );
    }
    let kept = runs(dir, &[]);
    let first = kept.iter().find(|r| r["spell"] == "a.lua").unwrap();
    assert_eq!(first["status"], "ok");
    let show = text(&llmspell(dir, &["runs", "show", &first["id"].to_string()]).stdout);
    assert!(show.contains("  kept\n"), "{show}");
    // A run whose end could not be written shows as lost, not running.
    assert!(kept.iter().all(|r| r["status"] != "running"));
    assert!(llmspell(dir, &["run", "a.lua"]).status.success());
}
