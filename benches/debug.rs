//! What debugging costs a loop: the same spell run plainly and under a
//! debugger with a breakpoint it never reaches (so JavaScript runs probed,
//! and Lua and Rhai with their line hooks), in every engine. The issue's
//! target: a debugged JavaScript loop at most 3 times the undebugged one.
//! benches/README.md has the numbers measured here.

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use llmspell::debug::Debugger;
use llmspell::{Config, EngineKind, RunOptions, Runtime, Spell};

const N: u32 = 100_000;

/// A loop of three statements a round, and a last line never reached.
fn spell(kind: EngineKind) -> Spell {
    let source = match kind {
        EngineKind::Lua => format!(
            "local s = 0\nfor i = 1, {N} do\n  s = s + i\n  local t = s % 7\n  if t == 9 then s = 0 end\nend\n\
             if s < 0 then\n  return 1\nend\nreturn 0"
        ),
        EngineKind::Js => format!(
            "let s = 0;\nfor (let i = 1; i <= {N}; i++) {{\n  s = s + i;\n  const t = s % 7;\n  if (t === 9) s = 0;\n}}\n\
             if (s < 0) {{\n  s = 1;\n}}\nexport default s < 0 ? 1 : 0;"
        ),
        EngineKind::Rhai => format!(
            "let s = 0;\nfor i in 1..={N} {{\n  s = s + i;\n  let t = s % 7;\n  if t == 9 {{ s = 0; }}\n}}\n\
             if s < 0 {{\n  return 1;\n}}\n0"
        ),
    };
    Spell::from_source(&format!("bench.{}", kind.extension()), &source).unwrap()
}

fn debugged_loops(c: &mut Criterion) {
    let rt = Runtime::new();
    let dir = std::env::temp_dir();
    let mut g = c.benchmark_group(format!("{N} rounds"));
    g.sample_size(20);
    for kind in EngineKind::ALL {
        let s = spell(kind);
        for debugged in [false, true] {
            let mut opts = RunOptions::new(Config::for_dir(&dir));
            opts.output = Arc::new(|_| {});
            if debugged {
                let d = Debugger::new();
                // Line 8 is inside an `if` that never runs.
                d.set_line_breaks([8]);
                opts.debugger = Some(d);
            }
            let name = if debugged { "debugged" } else { "plain" };
            g.bench_with_input(BenchmarkId::new(name, kind), &s, |b, s| {
                b.iter(|| {
                    let out = rt.run_here(s, &opts);
                    assert_eq!(out.result, Ok(serde_json::json!(0)));
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, debugged_loops);
criterion_main!(benches);
