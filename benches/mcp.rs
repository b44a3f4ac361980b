//! What an MCP tool call costs a spell: 100 `tool.call`s of the reference
//! server's `echo` (`@modelcontextprotocol/server-everything`, over stdio,
//! started once and kept by the runtime across iterations), beside 100
//! calls of a tool the spell defines, in every engine. It needs the server
//! that `scripts/mcp.sh server` installs (`LLMSPELL_MCP_SERVER`), and
//! measures nothing without it. benches/README.md has the numbers.

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use llmspell::{Config, EngineKind, RunOptions, Runtime, Spell};

const N: u32 = 100;

fn spell(kind: EngineKind, tool: &str) -> Spell {
    let source = match kind {
        EngineKind::Lua => format!(
            "tool.define{{name = 'mine', run = function(a) return 'Echo: ' .. a.message end}}\n\
             local n = 0\nfor i = 1, {N} do n = n + #tool.call('{tool}', {{message = 'hi'}}) end\nreturn n"
        ),
        EngineKind::Js => format!(
            "tool.define({{name: 'mine', run: (a) => 'Echo: ' + a.message}});\n\
             let n = 0;\nfor (let i = 0; i < {N}; i++) n += (await tool.call('{tool}', {{message: 'hi'}})).length;\nexport default n;"
        ),
        EngineKind::Rhai => format!(
            "tool.define(#{{name: 'mine', run: |a| `Echo: ${{a.message}}`}});\n\
             let n = 0;\nfor i in 0..{N} {{ n += tool.call(\"{tool}\", #{{message: \"hi\"}}).len(); }}\nn"
        ),
    };
    Spell::from_source(&format!("bench.{}", kind.extension()), &source).unwrap()
}

fn mcp_calls(c: &mut Criterion) {
    let Some(entry) = std::env::var_os("LLMSPELL_MCP_SERVER") else {
        eprintln!("benches/mcp.rs: LLMSPELL_MCP_SERVER is not set (scripts/mcp.sh server): nothing measured");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("llmspell.toml");
    std::fs::write(
        &file,
        format!(
            "[capabilities]\nmcp = [\"everything\"]\n\n[mcp.everything]\ncommand = [\"node\", {:?}, \"stdio\"]\n",
            entry.to_string_lossy()
        ),
    )
    .unwrap();
    let config = Config::load(&file).unwrap();
    // One runtime: its server starts in the first iteration and stays up.
    let rt = Runtime::new();
    let mut g = c.benchmark_group(format!("{N} tool calls"));
    g.sample_size(20);
    for kind in EngineKind::ALL {
        for tool in ["mine", "everything/echo"] {
            let mut s = spell(kind, tool);
            s.dir = dir.path().to_path_buf();
            let mut opts = RunOptions::new(config.clone());
            opts.output = Arc::new(|_| {});
            let name = if tool == "mine" {
                "spell's own"
            } else {
                "MCP stdio"
            };
            g.bench_with_input(BenchmarkId::new(name, kind), &s, |b, s| {
                b.iter(|| {
                    let out = rt.run_here(s, &opts);
                    assert_eq!(out.result, Ok(serde_json::json!(N * 8)), "{kind} {tool}");
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, mcp_calls);
criterion_main!(benches);
