//! Hostile spells: each file in `tests/sandbox/` names the coded error it
//! must end with (`expect: CODE` on its first line). Every one must stop
//! with that code, in bounded time, and leave the host able to run spells.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use llmspell::{Config, EngineKind, ErrorCode, RunOptions, Runtime, Spell};

#[global_allocator]
static ALLOC: llmspell::CountingAllocator = llmspell::CountingAllocator;

/// Far above every limit below: a hostile spell that takes this long was
/// not stopped by its limit.
const BOUND: Duration = Duration::from_secs(20);
/// The time limit of a spell that should end on its memory cap (see the
/// uses): well past how long the slowest takes, well inside [`BOUND`].
const MEMORY_BOMB_SECS: f64 = 15.0;
/// How long past its 1 s time limit a spell may run before it has ended.
const TIME_SLACK: Duration = Duration::from_secs(2);

fn options(dir: &Path) -> RunOptions {
    let mut config = Config::for_dir(dir);
    config.limits.timeout_secs = 1.0;
    config.limits.memory_mb = 32;
    config.limits.call_depth = 200;
    let mut opts = RunOptions::new(config);
    opts.output = Arc::new(|_| {});
    opts.log = Arc::new(|_, _, _| {});
    opts
}

fn spell(name: &str, source: &str, dir: &Path) -> Spell {
    let mut s = Spell::from_source(name, source).unwrap();
    s.dir = dir.to_path_buf();
    s
}

fn healthy(kind: EngineKind) -> (&'static str, &'static str) {
    match kind {
        EngineKind::Lua => ("ok.lua", "return 1 + 1"),
        EngineKind::Js => ("ok.js", "export default 1 + 1;"),
        EngineKind::Rhai => ("ok.rhai", "1 + 1"),
    }
}

/// One file of `tests/sandbox/`: its path, name, source and the code its
/// first line says it must end with.
struct Hostile {
    path: PathBuf,
    name: String,
    source: String,
    want: ErrorCode,
}

fn hostile_spells() -> Vec<Hostile> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sandbox");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| EngineKind::from_path(p).is_ok())
        .collect();
    files.sort();
    assert!(files.len() >= 30, "only {} hostile spells", files.len());
    files
        .into_iter()
        .map(|path| {
            let source = std::fs::read_to_string(&path).unwrap();
            let first = source.lines().next().unwrap_or_default();
            let code = first
                .split_once("expect:")
                .map(|(_, c)| c.trim())
                .unwrap_or_else(|| {
                    panic!("{}: first line must say `expect: CODE`", path.display())
                });
            let want = ErrorCode::parse(code).unwrap_or_else(|| panic!("unknown code {code}"));
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            Hostile {
                path,
                name,
                source,
                want,
            }
        })
        .collect()
}

#[test]
fn every_hostile_spell_is_stopped_with_its_code() {
    let runtime = Runtime::new();
    let project = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for Hostile {
        path: file,
        name,
        source,
        want,
    } in &hostile_spells()
    {
        let (want, code) = (*want, want.as_str());
        let started = Instant::now();
        let mut opts = options(project.path());
        if want == ErrorCode::LimitMemory {
            // Filling 32 MiB takes about a second in a debug build on
            // 2 cores, and the slowest bomb (a `load` reader giving one
            // byte a call) about 5 s: keep memory bombs clear of the time
            // limit, which is only their backstop.
            opts.config.limits.timeout_secs = MEMORY_BOMB_SECS;
        }
        let outcome = runtime.run(&spell(name, source, project.path()), &opts);
        let took = started.elapsed();
        match outcome.result {
            Err(e) if e.code == want => {}
            Err(e) => failures.push(format!("{name}: expected {code}, got {}", e.report())),
            Ok(v) => failures.push(format!("{name}: expected {code}, but it returned {v}")),
        }
        if took > BOUND {
            failures.push(format!("{name}: took {took:?}"));
        }
        // A time limit ends the run about when it passes, whatever the
        // spell was doing (the slack is for a loaded debug build).
        if want == ErrorCode::LimitTime && took > TIME_SLACK + Duration::from_secs(1) {
            failures.push(format!(
                "{name}: ended {took:?} after starting, its limit 1 s"
            ));
        }
        // The host goes on: the same runtime still runs a healthy spell.
        let kind = EngineKind::from_path(file).unwrap();
        let (ok_name, ok_src) = healthy(kind);
        let after = runtime.run(
            &spell(ok_name, ok_src, project.path()),
            &options(project.path()),
        );
        if after.result != Ok(serde_json::json!(2)) {
            failures.push(format!(
                "{name}: a healthy spell after it failed: {:?}",
                after.result
            ));
        }
    }
    assert!(
        !std::path::Path::new("/tmp/llmspell-pwned").exists(),
        "a hostile spell ran a program"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// What a run of the real `llmspell` binary left behind: its exit code,
/// stderr, and the most memory it held.
struct ProcessRun {
    code: Option<i32>,
    stderr: String,
    peak_rss_kb: i64,
    took: Duration,
}

/// Runs the spell through a small Python parent that reports the child's
/// peak memory (`RUSAGE_CHILDREN`). Measured from this test process, the
/// peak would include this process's own memory: Linux carries the peak
/// of the image that forks over into the child's.
fn run_process(file: &Path, project: &Path, timeout: f64) -> ProcessRun {
    const MEASURE: &str = "import resource, subprocess, sys\n\
        r = subprocess.run(sys.argv[2:], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)\n\
        open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n\
        sys.stderr.buffer.write(r.stderr)\n\
        sys.exit(r.returncode if r.returncode >= 0 else 128 - r.returncode)\n";
    let started = Instant::now();
    let peak_file = project.join("peak.txt");
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(MEASURE)
        .arg(&peak_file)
        .arg(env!("CARGO_BIN_EXE_llmspell"))
        .arg("run")
        .arg(file)
        .args([
            "--timeout",
            &timeout.to_string(),
            "--memory-mb",
            "32",
            "--call-depth",
            "200",
        ])
        .current_dir(project)
        .output()
        .expect("python3 runs the measuring parent");
    let peak = std::fs::read_to_string(&peak_file).unwrap_or_default();
    let _ = std::fs::remove_file(&peak_file);
    ProcessRun {
        code: out.status.code(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        peak_rss_kb: peak.trim().parse().unwrap_or(i64::MAX),
        took: started.elapsed(),
    }
}

/// The same spells, each as a user runs it: `llmspell run` in its own
/// process. It must exit 1 with the coded error and nothing else on
/// stderr (no panic, no backtrace, no abort), within its limit, never
/// holding far more than its memory cap, and write nothing outside its
/// project folder.
#[test]
fn every_hostile_spell_ends_its_process_cleanly_and_near_its_limits() {
    let home = tempfile::tempdir().unwrap();
    let before: Vec<_> = std::fs::read_dir(home.path()).unwrap().collect();
    let mut failures = Vec::new();
    for Hostile {
        path: file,
        name,
        want,
        ..
    } in &hostile_spells()
    {
        let code = want.as_str();
        let project = home.path().join("project");
        std::fs::create_dir_all(&project).unwrap();
        let timeout = if *want == ErrorCode::LimitMemory {
            MEMORY_BOMB_SECS
        } else {
            1.0
        };
        let run = run_process(file, &project, timeout);
        let first = run.stderr.lines().next().unwrap_or_default().to_owned();
        if run.code != Some(1) || !first.starts_with(&format!("{code}: ")) {
            failures.push(format!(
                "{name}: exit {:?}, stderr {:?} (expected {code})",
                run.code, run.stderr
            ));
        }
        let noise = [
            "panicked",
            "backtrace",
            "RUST_BACKTRACE",
            "Assertion",
            "abort",
        ];
        if noise.iter().any(|n| run.stderr.contains(n)) {
            failures.push(format!("{name}: stderr shows a crash: {:?}", run.stderr));
        }
        // The cap is 32 MiB; the process itself, the spell's heap past
        // the cap while a stop unwinds, and the host's own copies stay
        // within a few times that.
        if run.peak_rss_kb > 160 * 1024 {
            failures.push(format!("{name}: held {} MiB", run.peak_rss_kb / 1024));
        }
        if run.took > BOUND {
            failures.push(format!("{name}: took {:?}", run.took));
        }
        std::fs::remove_dir_all(&project).unwrap();
    }
    let after: Vec<_> = std::fs::read_dir(home.path()).unwrap().collect();
    assert_eq!(
        before.len(),
        after.len(),
        "a spell wrote beside its project"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn other_spells_go_on_while_one_runs_away() {
    let project = tempfile::tempdir().unwrap();
    let runtime = Runtime::new();
    for kind in EngineKind::ALL {
        let looping = match kind {
            EngineKind::Lua => ("loop.lua", "while true do end"),
            EngineKind::Js => ("loop.js", "while (true) {}"),
            EngineKind::Rhai => ("loop.rhai", "loop {}"),
        };
        let mut opts = options(project.path());
        opts.config.limits.timeout_secs = 0.0;
        let runaway = runtime.spawn(spell(looping.0, looping.1, project.path()), opts);
        for _ in 0..3 {
            let (n, s) = healthy(kind);
            let out = runtime.run(&spell(n, s, project.path()), &options(project.path()));
            assert_eq!(out.result, Ok(serde_json::json!(2)), "{kind}");
        }
        assert!(
            !runaway.is_finished(),
            "{kind}: the runaway spell ended by itself"
        );
        runaway.stop_handle().stop();
        let end = runaway.join();
        assert_eq!(end.result.unwrap_err().code, ErrorCode::Cancelled, "{kind}");
    }
}

#[test]
fn a_stop_that_comes_while_the_engine_is_made_is_the_reason_it_ends() {
    // The stop interrupts the engine's own prelude: the run says it was
    // stopped, never that the engine failed.
    let project = tempfile::tempdir().unwrap();
    let runtime = Runtime::new();
    for kind in EngineKind::ALL {
        let (n, s) = healthy(kind);
        let opts = options(project.path());
        opts.stop.stop();
        let out = runtime.run(&spell(n, s, project.path()), &opts);
        assert_eq!(out.result.unwrap_err().code, ErrorCode::Cancelled, "{kind}");
    }
}

#[test]
fn a_stop_from_another_thread_ends_a_busy_spell() {
    // benches/start.rs measures how fast; this proves it works in each engine,
    // including inside a caught loop and inside a coroutine or promise job.
    let project = tempfile::tempdir().unwrap();
    let runtime = Runtime::new();
    let spells = [
        (
            "a.lua",
            "while true do pcall(function() while true do end end) end",
        ),
        (
            "b.lua",
            "coroutine.wrap(function() while true do end end)()",
        ),
        (
            "a.js",
            "while (true) { try { while (true) {} } catch (e) {} }",
        ),
        ("b.js", "while (true) { await null; }"),
        ("a.rhai", "loop { try { loop {} } catch (e) {} }"),
    ];
    for (name, source) in spells {
        let mut opts = options(project.path());
        opts.config.limits.timeout_secs = 0.0;
        let handle = runtime.spawn(spell(name, source, project.path()), opts);
        std::thread::sleep(Duration::from_millis(50));
        let stopped = Instant::now();
        handle.stop_handle().stop();
        let out = handle.join();
        assert_eq!(out.result.unwrap_err().code, ErrorCode::Cancelled, "{name}");
        assert!(
            stopped.elapsed() < Duration::from_secs(2),
            "{name}: {:?}",
            stopped.elapsed()
        );
    }
}

#[test]
fn a_stopped_repl_entry_says_it_was_stopped_however_the_stop_surfaced() {
    // Each entry allocates in one library call, so the stop can surface as
    // a refused allocation as well as at the engine's own check: either
    // way the entry was stopped, never out of memory.
    let project = tempfile::tempdir().unwrap();
    let runtime = Runtime::new();
    let entries = [
        (EngineKind::Lua, "local s = string.rep('x', 1000000)"),
        (EngineKind::Js, "let s = 'x'.repeat(1000000)"),
        (EngineKind::Rhai, "let s = \"x\"; s.pad(1000000, 'x');"),
    ];
    for (kind, entry) in entries {
        let opts = options(project.path());
        let mut repl = llmspell::Repl::new(&runtime, kind, &opts).unwrap();
        opts.stop.stop();
        let err = repl.eval(entry).unwrap_err();
        assert_eq!(err.code, ErrorCode::Cancelled, "{kind}: {err}");
    }
}
