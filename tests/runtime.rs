//! The library as the IDE and other hosts use it: the event bus, custom
//! bridges, stop handles, and the outcome of a run.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use llmspell::{
    Bridge, Config, EngineKind, ErrorCode, Registry, RunOptions, Runtime, Spell, Value,
};

#[global_allocator]
static ALLOC: llmspell::CountingAllocator = llmspell::CountingAllocator;

fn opts(dir: &std::path::Path) -> RunOptions {
    let mut o = RunOptions::new(Config::for_dir(dir));
    o.output = Arc::new(|_| {});
    o.log = Arc::new(|_, _, _| {});
    o
}

fn spell(name: &str, src: &str, dir: &std::path::Path) -> Spell {
    let mut s = Spell::from_source(name, src).unwrap();
    s.dir = dir.to_path_buf();
    s
}

#[test]
fn the_bus_sees_a_run_from_start_to_end_in_order() {
    let d = tempfile::tempdir().unwrap();
    let rt = Runtime::new();
    let rx = rt.bus().subscribe("*");
    let src = "state.set('k', 1) log.warn('careful', { n = 1 }) events.emit('custom.topic', { x = true }) state.delete('k') return 'ok'";
    let out = rt.run(&spell("bus.lua", src, d.path()), &opts(d.path()));
    assert_eq!(out.result, Ok(serde_json::json!("ok")));
    let events: Vec<_> = rx.try_iter().collect();
    let topics: Vec<&str> = events.iter().map(|e| e.topic.as_str()).collect();
    assert_eq!(
        topics,
        [
            "spell.start",
            "state.set",
            "log",
            "custom.topic",
            "state.delete",
            "spell.end"
        ]
    );
    assert!(events.iter().all(|e| e.spell == "bus.lua" && e.time_ms > 0));
    assert_eq!(events[1].data, serde_json::json!({"key": "k", "value": 1}));
    assert_eq!(
        events[2].data,
        serde_json::json!({"level": "warn", "message": "careful", "fields": {"n": 1}})
    );
    assert_eq!(events[5].data["ok"], serde_json::json!(true));
}

#[test]
fn spell_end_carries_the_error_of_a_failed_run() {
    let d = tempfile::tempdir().unwrap();
    let rt = Runtime::new();
    let rx = rt.bus().subscribe("spell.end");
    let out = rt.run(
        &spell("f.js", "throw new Error('nope');", d.path()),
        &opts(d.path()),
    );
    assert_eq!(out.result.unwrap_err().code, ErrorCode::SpellError);
    let end = rx.try_recv().unwrap();
    assert_eq!(end.data["ok"], serde_json::json!(false));
    assert_eq!(end.data["error"]["code"], serde_json::json!("spell.error"));
    assert!(rx.try_recv().is_err(), "spell.end sent twice");
}

#[test]
fn a_bridge_added_to_the_registry_works_in_every_engine() {
    let mut registry = Registry::standard();
    registry.add(Bridge::new(
        "math2.add",
        "a, b",
        "number",
        "adds two integers",
        |_call, args| Ok(Value::Int(args.int(0, "a")? + args.int(1, "b")?)),
    ));
    let rt = Runtime::with_registry(registry);
    let d = tempfile::tempdir().unwrap();
    for (name, src) in [
        ("a.lua", "return math2.add(40, 2)"),
        ("a.js", "export default math2.add(40, 2);"),
        ("a.rhai", "math2.add(40, 2)"),
    ] {
        let out = rt.run(&spell(name, src, d.path()), &opts(d.path()));
        assert_eq!(out.result, Ok(serde_json::json!(42)), "{name}");
    }
    for (name, src) in [
        ("b.lua", "return math2.add('x', 2)"),
        ("b.js", "export default math2.add('x', 2);"),
        ("b.rhai", "math2.add(\"x\", 2)"),
    ] {
        let err = rt
            .run(&spell(name, src, d.path()), &opts(d.path()))
            .result
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::ArgsInvalid, "{name}");
        assert!(
            err.message.contains("math2.add: argument 1 (a)"),
            "{name}: {}",
            err.message
        );
        assert_eq!(err.location.map(|l| l.line), Some(1), "{name}");
    }
}

#[test]
fn print_goes_to_the_output_sink_in_each_languages_style() {
    let d = tempfile::tempdir().unwrap();
    let rt = Runtime::new();
    for (kind, src, want) in [
        (
            EngineKind::Lua,
            "print('a', 1, 2.5, nil, true)",
            "a\t1\t2.5\tnil\ttrue",
        ),
        (
            EngineKind::Js,
            "print('a', 1, 2.5, null, true, [1], {k: 'v'})",
            "a 1 2.5 null true [1] {\"k\":\"v\"}",
        ),
        (EngineKind::Rhai, "print(2.5)", "2.5"),
    ] {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let mut o = opts(d.path());
        let sink = lines.clone();
        o.output = Arc::new(move |l| {
            sink.lock()
                .unwrap()
                .push(String::from_utf8_lossy(l).into_owned())
        });
        let name = format!("p.{}", kind.extension());
        rt.run(&spell(&name, src, d.path()), &o).result.unwrap();
        assert_eq!(*lines.lock().unwrap(), [want], "{kind}");
    }
}

#[test]
fn a_stopped_spell_reports_cancelled_and_runs_no_more_handlers() {
    let d = tempfile::tempdir().unwrap();
    let rt = Runtime::new();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let mut o = opts(d.path());
    let sink = lines.clone();
    o.output = Arc::new(move |l| {
        sink.lock()
            .unwrap()
            .push(String::from_utf8_lossy(l).into_owned())
    });
    let src = "events.on('spell.end', function() print('handler ran') end) while true do end";
    let h = rt.spawn(spell("s.lua", src, d.path()), o);
    std::thread::sleep(Duration::from_millis(50));
    h.stop_handle().stop();
    assert_eq!(h.join().result.unwrap_err().code, ErrorCode::Cancelled);
    assert!(lines.lock().unwrap().is_empty());
}

#[test]
fn a_spell_waiting_on_another_process_lock_can_still_be_stopped() {
    let d = tempfile::tempdir().unwrap();
    // Create the database, then hold its write lock from "another process".
    llmspell::store::Store::open(d.path()).unwrap();
    let mut other = rusqlite::Connection::open(d.path().join(".llmspell/state.db")).unwrap();
    let lock = other
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .unwrap();
    let rt = Runtime::new();
    let h = rt.spawn(
        spell("w.lua", "state.set('k', 1)", d.path()),
        opts(d.path()),
    );
    std::thread::sleep(Duration::from_millis(200));
    assert!(!h.is_finished(), "the write should be waiting for the lock");
    let stopped = std::time::Instant::now();
    h.stop_handle().stop();
    let out = h.join();
    assert_eq!(out.result.unwrap_err().code, ErrorCode::Cancelled);
    assert!(
        stopped.elapsed() < Duration::from_secs(2),
        "{:?}",
        stopped.elapsed()
    );
    drop(lock);
}

#[test]
fn by_default_a_spell_recurses_as_deep_as_its_engine_safely_goes() {
    let d = tempfile::tempdir().unwrap();
    let rt = Runtime::new();
    // Ordinary recursion, and (in Lua) a runaway one caught as Lua catches it.
    let lua = "local function f(n) if n == 0 then return 0 end return 1 + f(n - 1) end\n\
               local function inf(n) return 1 + inf(n) end\n\
               local ok, e = pcall(inf, 1)\n\
               return {f(5000), f(100000), ok, (tostring(e):match('stack overflow'))}";
    let out = rt.run(&spell("deep.lua", lua, d.path()), &opts(d.path()));
    assert_eq!(
        out.result,
        Ok(serde_json::json!([5000, 100000, false, "stack overflow"]))
    );
    let js = "function f(n) { return n === 0 ? 0 : 1 + f(n - 1); }\nexport default f(1500);";
    let out = rt.run(&spell("deep.js", js, d.path()), &opts(d.path()));
    assert_eq!(out.result, Ok(serde_json::json!(1500)));
    let rhai = "fn f(n) { if n == 0 { 0 } else { 1 + f(n - 1) } }\nf(900)";
    let out = rt.run(&spell("deep.rhai", rhai, d.path()), &opts(d.path()));
    assert_eq!(out.result, Ok(serde_json::json!(900)));
    // Uncaught, an engine's own overflow is limit.depth in every engine,
    // saying what the limit was (not a call_depth of 0); a C function
    // refused room for its results is Lua's own error.
    for (name, src) in [
        (
            "inf.lua",
            "local function f() return f() + 1 end return f()",
        ),
        (
            "index.lua",
            "local t = setmetatable({}, {__index = function(t, k) return t[k] end}) return t.x",
        ),
        (
            "inf.js",
            "function f() { return f() + 1; }\nexport default f();",
        ),
    ] {
        let out = rt.run(&spell(name, src, d.path()), &opts(d.path()));
        let e = out.result.unwrap_err();
        assert_eq!(e.code, ErrorCode::LimitDepth, "{name}: {e}");
        assert!(e.message.contains("stack overflow"), "{name}: {e}");
        assert!(!e.message.contains("than 0"), "{name}: {e}");
    }
    let slice = "local s = string.rep('x', 1e7) return select('#', s:byte(1, -1))";
    let out = rt.run(&spell("slice.lua", slice, d.path()), &opts(d.path()));
    let e = out.result.unwrap_err();
    assert_eq!(e.code, ErrorCode::SpellError, "{e}");
    assert_eq!(e.message, "stack overflow (string slice too long)");
    // An explicit call_depth is a limit no pcall can catch.
    let mut o = opts(d.path());
    o.config.limits.call_depth = 200;
    let capped = "local function f(n) if n == 0 then return 0 end return 1 + f(n - 1) end\n\
                  local ok = pcall(f, 5000) return ok";
    let out = rt.run(&spell("capped.lua", capped, d.path()), &o);
    assert_eq!(out.result.unwrap_err().code, ErrorCode::LimitDepth);
}

#[test]
fn lua_pcall_xpcall_and_setmetatable_say_what_lua_says() {
    let d = tempfile::tempdir().unwrap();
    let src = r#"
local out = {}
local function add(ok, e) out[#out + 1] = tostring(ok) .. " " .. (type(e) == "table" and "table" or tostring(e)) end
add(pcall(pcall))
add(pcall(xpcall, print))
add(xpcall(function() error("x") end, function() error("y") end))
add(pcall(setmetatable, 1, {}))
add(pcall(setmetatable, {}, 1))
add(pcall(function() setmetatable(setmetatable({}, {__metatable = 1}), {}) end))
add(pcall(error, {code = 5}))
add(xpcall(state.get, function(e) return "handled " .. e end))
add(pcall(setmetatable, {}, {__gc = print}))
return out
"#;
    let out = Runtime::new().run(&spell("pc.lua", src, d.path()), &opts(d.path()));
    assert_eq!(
        out.result.unwrap(),
        serde_json::json!([
            "false bad argument #1 to 'pcall' (value expected)",
            "false bad argument #2 to 'xpcall' (function expected, got no value)",
            "false error in error handling",
            "false bad argument #1 to 'setmetatable' (table expected, got number)",
            "false bad argument #2 to 'setmetatable' (nil or table expected, got number)",
            "false pc.lua:9: cannot change a protected metatable",
            "false table",
            "false handled args.invalid: state.get: argument 1 (key) must be a string, got null",
            "false sandbox.denied: __gc (finalizers) is not available to spells; the host is reached only through the bridges",
        ])
    );
}

#[test]
fn a_lua_spell_runs_on_the_main_thread_as_lua_runs_a_chunk() {
    let d = tempfile::tempdir().unwrap();
    let src = r#"
local yieldable = coroutine.isyieldable()
local _, main = coroutine.running()
local ok, e = pcall(coroutine.yield)
-- Waiting bridges still overlap inside workflow branches.
local r = workflow.parallel({function() workflow.sleep(20) return 1 end, function() workflow.sleep(20) return 2 end})
local inside = workflow.parallel({function() return coroutine.isyieldable() end})
return {yieldable, main, ok, e, r}
"#;
    let out = Runtime::new().run(&spell("main.lua", src, d.path()), &opts(d.path()));
    assert_eq!(
        out.result.unwrap(),
        serde_json::json!([
            false,
            true,
            false,
            "attempt to yield from outside a coroutine",
            [1, 2]
        ])
    );
}

#[test]
fn lua_load_names_chunks_and_reports_errors_as_lua_does() {
    let d = tempfile::tempdir().unwrap();
    let src = r#"
local out = {}
local function add(a, b) out[#out + 1] = tostring(a) .. " " .. tostring(b) end
add(load("return 1 +"))
add(load("return 1 +", "=raw"))
add(pcall(load("error('e')")))
local parts, i = {"return ", "4", "2"}, 0
add(load(function() i = i + 1 return parts[i] end)(), "from a reader")
add(load("return x", "c", "t", {x = 9})(), "with env")
add(load("\27Lua"))
add(pcall(load, "x = 1", "m", "b"))
add(load("\27Lua", "m", "t"))
add(pcall(function() return assert(load(function() return "\27Lu" end)) end))
add(load(function() return nil end, "=empty") ~= nil, "empty reader")
return out
"#;
    let out = Runtime::new().run(&spell("ld.lua", src, d.path()), &opts(d.path()));
    assert_eq!(
        out.result.unwrap(),
        serde_json::json!([
            "nil [string \"return 1 +\"]:1: unexpected symbol near <eof>",
            "nil raw:1: unexpected symbol near <eof>",
            "false [string \"error('e')\"]:1: e",
            "42 from a reader",
            "9 with env",
            "nil sandbox.denied: loading precompiled bytecode is not available to spells; the host is reached only through the bridges",
            "true nil",
            "nil attempt to load a binary chunk (mode is 't')",
            "false ld.lua:13: sandbox.denied: loading precompiled bytecode is not available to spells; the host is reached only through the bridges",
            "true empty reader",
        ])
    );
}

#[test]
fn lua_coroutine_wrap_and_require_of_a_loaded_library_say_what_lua_says() {
    let d = tempfile::tempdir().unwrap();
    let src = r#"
local out = {}
local function add(a, b) out[#out + 1] = tostring(a) .. " " .. tostring(b) end
add(pcall(coroutine.wrap, 1))
local f = coroutine.wrap(function() error("x") end)
add(pcall(function()
  f()
end))
local g = coroutine.wrap(function() return 1 end)
g()
add(pcall(function() g() end))
add(require("utf8") == utf8, require("string") == string)
add(pcall(require, "socket"))
-- An error inside a wrapped coroutine closes its to-be-closed variables;
-- an error while closing wins.
local closed = false
local h = coroutine.wrap(function()
  local x <close> = setmetatable({}, {__close = function() closed = true end})
  coroutine.yield(1)
  error("late", 0)
end)
h()
add(pcall(h))
add(closed, "closed")
local k = coroutine.wrap(function()
  local x <close> = setmetatable({}, {__close = function() error("in close", 0) end})
  error("first", 0)
end)
add(pcall(k))
-- package.preload and package.loaded, as require reads them.
package.preload.mine = function(name, extra) return {name = name, extra = extra} end
local m, how = require("mine")
add(m.name .. " " .. m.extra, how)
add(require("mine") == m, package.loaded.mine == m)
package.loaded.other = false
add(pcall(require, "other"))
add(pcall(require))
add(package.loaded.package == package, package.loaded.coroutine == coroutine)
add(pcall(function() return package.path end))
return out
"#;
    let out = Runtime::new().run(&spell("cw.lua", src, d.path()), &opts(d.path()));
    assert_eq!(
        out.result.unwrap(),
        serde_json::json!([
            "false bad argument #1 to 'wrap' (function expected, got number)",
            "false cw.lua:7: cw.lua:5: x",
            "false cw.lua:11: cannot resume dead coroutine",
            "true true",
            "false sandbox.denied: require(socket) is not available to spells; the host is reached only through the bridges",
            "false late",
            "true closed",
            "false in close",
            "mine :preload: :preload:",
            "true true",
            "false sandbox.denied: require(other) is not available to spells; the host is reached only through the bridges",
            "false bad argument #1 to 'require' (string expected, got no value)",
            "true true",
            "false sandbox.denied: package.path is not available to spells; the host is reached only through the bridges",
        ])
    );
}

#[test]
fn js_proxy_and_json_stringify_behave_as_in_node_with_their_lists_bounded() {
    let d = tempfile::tempdir().unwrap();
    // Expected values are node 20's for the same program.
    let src = r#"
const out = [];
const p = new Proxy({a: 1}, {get(t, k) { return k === "a" ? 42 : Reflect.get(t, k); }});
out.push(p.a, p.b, typeof Proxy, Proxy.name, Proxy.length, Proxy.prototype === undefined);
try { Proxy({}, {}); } catch (e) { out.push(e.constructor.name); }
const {proxy, revoke} = Proxy.revocable({x: 1}, {});
out.push(proxy.x); revoke();
try { proxy.x; } catch (e) { out.push(e.constructor.name); }
const h = {}; const q = new Proxy({z: 1}, h); h.get = () => "late trap";
out.push(q.z, Object.keys(new Proxy({a: 1, b: 2}, {ownKeys: () => ["b", "a"]})).join());
const fp = new Proxy(function (x) { return x * 2; }, {apply(t, th, args) { return t(...args) + 1; }});
out.push(fp(5), new (new Proxy(class { constructor() { this.v = 7; } }, {}))().v);
out.push(JSON.stringify({a: 1, b: 2, c: 3}, ["c", "a"]), JSON.stringify({a: [1]}, null, 2).length, JSON.stringify.name);
const many = []; for (let i = 0; i < 40000; i++) many.push("k" + i);
try { Reflect.ownKeys(new Proxy({}, {ownKeys: () => many})); } catch (e) { out.push(e.message); }
try { JSON.stringify({}, many); } catch (e) { out.push(e.message); }
export default out;
"#;
    let out = Runtime::new().run(&spell("px.js", src, d.path()), &opts(d.path()));
    assert_eq!(
        out.result.unwrap(),
        serde_json::json!([
            42,
            null,
            "function",
            "Proxy",
            2,
            true,
            "TypeError",
            1,
            "TypeError",
            "late trap",
            "b,a",
            11,
            7,
            "{\"c\":3,\"a\":1}",
            22,
            "stringify",
            "a Proxy's ownKeys may list at most 32768 keys",
            "JSON.stringify: a replacer list may hold at most 4096 names"
        ])
    );
}

#[test]
fn js_regexp_behaves_as_in_node_and_refuses_patterns_too_costly_to_compile() {
    let d = tempfile::tempdir().unwrap();
    // Expected values are node 20's for the same program, but for the
    // three patterns refused here (node compiles them; QuickJS would take
    // hours).
    let src = r#"
const out = [];
const r = new RegExp("a(b)", "g");
out.push(r instanceof RegExp, r.constructor === RegExp, RegExp.name, RegExp.length, typeof RegExp.prototype.exec);
out.push(RegExp(r) === r, RegExp(r, "i") === r, new RegExp(r) === r, new RegExp(r).flags, new RegExp(r, "y").flags);
out.push(String(RegExp("x")), String(new RegExp({toString() { return "q+"; }}, "m")), String(RegExp()), String(new RegExp(undefined)));
class R2 extends RegExp { exec(s) { return super.exec(s); } }
const r2 = new R2("c"); out.push(r2 instanceof R2, r2 instanceof RegExp, r2.test("abc"), r2.constructor === R2);
out.push("a-b-c".split(/-/).join(), "xaby".replace(/a(b)/, "[$1]"), [..."a1b2".matchAll(/\d/g)].map(m => m[0]).join(), "abc".search("c"), "abc".match("b").index);
out.push(Object.prototype.toString.call(r), RegExp.prototype.constructor === RegExp, /x/.constructor === RegExp, RegExp[Symbol.species] === RegExp);
const like = {[Symbol.match]: true, source: "z+", flags: "g"};
out.push(String(new RegExp(like)), String(new RegExp(like, "i")));
try { new RegExp("a|".repeat(1e6)); } catch (e) { out.push(e.name); }
try { "x".match("a|".repeat(1e6)); } catch (e) { out.push(e.name); }
try { /x/.compile("[" + "ab".repeat(1e5) + "]"); } catch (e) { out.push(e.name); }
out.push(new RegExp(Array.from({length: 3000}, (_, i) => "w" + i).join("|")).test("w2999"));
try { new RegExp("(") } catch (e) { out.push(e.name); }
export default out;
"#;
    let out = Runtime::new().run(&spell("rx.js", src, d.path()), &opts(d.path()));
    assert_eq!(
        out.result.unwrap(),
        serde_json::json!([
            true,
            true,
            "RegExp",
            2,
            "function",
            true,
            false,
            false,
            "g",
            "y",
            "/x/",
            "/q+/m",
            "/(?:)/",
            "/(?:)/",
            true,
            true,
            true,
            true,
            "a,b,c",
            "x[b]y",
            "1,2",
            2,
            1,
            "[object RegExp]",
            true,
            true,
            true,
            "/z+/g",
            "/z+/i",
            "SyntaxError",
            "SyntaxError",
            "SyntaxError",
            true,
            "SyntaxError"
        ])
    );
}

#[test]
fn rhai_text_sorting_and_printing_answer_as_plain_rhai() {
    // Every built-in llmspell replaces to keep it within the limits
    // (engine/rhai_lib.rs), over its edge cases, against Rhai's own.
    let d = tempfile::tempdir().unwrap();
    let src = r#"
let out = [];
fn show(x) { to_debug(x) }
for t in ["", "aXbXc", "XX", "héllo wörld", "abc"] {
    let a = t; a.replace("X", "--"); out.push(a);
    let b = t; b.replace("", "."); out.push(b);
    let c = t; c.replace('X', 'y'); out.push(c);
    let e = t; e.replace("X", 'z'); out.push(e);
    let f = t; f.replace('l', "LL"); out.push(f);
    for n in [-1, 0, 1, 2, 3, 100] {
        out.push(show(t.split("X", n))); out.push(show(t.split_rev("X", n)));
        out.push(show(t.split('X', n))); out.push(show(t.split_rev('X', n)));
        out.push(show(t.split("", n)));
    }
    out.push(show(t.split("X"))); out.push(show(t.split_rev("X")));
    out.push(show(t.split('X'))); out.push(show(t.split_rev('X')));
    out.push(show(t.split(""))); out.push(show(t.split("q"))); out.push(show(t.split(" ")));
    out.push(show(t.split())); out.push(show(t.to_chars()));
}
out.push(show("  a  b\tc ".split())); out.push(show("   ".split()));
let bl = blob(3, 7); bl.push(255); out.push(show(bl.to_array())); out.push(show(blob().to_array()));
let nested = [1, "two\n\"q\"", 'c', 3.5, (), true, [[], #{}], #{b: [1, #{c: "x"}], a: ()}, bl, Fn("f"), Fn("g").curry(1, "s")];
out.push(nested.to_string()); out.push(nested.to_debug()); out.push(`${nested}`); out.push(debug(nested));
out.push("pre " + nested); out.push(nested + " post"); out.push(show("tab\there \x07"));
let j = "j:"; j += nested; j += #{k: [1]}; j.append([2, "x"]); j.append(#{}); out.push(j);
out.push(`a${1}b${ {let q = #{k: [2]}; q} }c${`in${[3, "x"]}${'c'}`}d${()}${2.5}${"s"}${ #{} }${true}`);
out.push(`
${nested[0]} ${
  nested[1]
}`);
out.push("m " + #{a: 'c'}); out.push(#{a: "q"} + " m"); out.push(show(nested));
for n in [0, 1, 7, 8, 9, 16, 17] { let b = blob(n, 0xa5); b.push(n); out.push(b.to_string()); out.push(`${b}`); out.push(show([b])); out.push(debug(b)); }
let m = #{z: 1, a: [1, 2.5, "s", (), true, bl], n: #{x: Fn("f"), y: Fn("g").curry(2, [3])}, "q k": 'c'};
out.push(m.to_string()); out.push(m.to_debug()); out.push(`${m}`); out.push(m.to_json()); out.push(#{}.to_json());
let d1 = [1, 1, 2, "2", "2", 2.0, 2.0, [1], [1], (), (), 3]; d1.dedup(); out.push(show(d1));
let d2 = [1, 2, 4, 3, 5, 5, 10]; d2.dedup(|a, b| a >= b); out.push(show(d2));
let d3 = [1, 2, 3, 4]; d3.dedup(|a, b| { throw "no" }); out.push(show(d3));
let d4 = [1, 1, 2]; d4.dedup(|a, b| 42); out.push(show(d4));
let e = []; e.dedup(); e.dedup(|a, b| true); out.push(show(e));
let s1 = [5, 3, 9, 1, 7]; s1.sort(|a, b| a - b); out.push(show(s1));
let s2 = [5, 3, 9, 1, 7]; s2.sort(|a, b| a > b); out.push(show(s2));
let s3 = [5, "a", 3, 'c', 1.5, ()]; s3.sort(|a, b| "x"); out.push(show(s3.map(|x| type_of(x))));
let s4 = [3, 1, 2]; s4.sort(|a, b| { throw "no" }); out.push(show(s4.map(|x| type_of(x))));
let s5 = [3, 1, 2]; s5.sort_by(|a, b| b - a); out.push(show(s5));
let s6 = [3, 1, 2]; out.push(show(s6.order(|a, b| a - b))); out.push(show(s6.order_by(|a, b| b - a))); out.push(show(s6));
let inc = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25];
let bad = "sorted"; try { inc.sort(|a, b| 1); } catch (err) { bad = `${err}`; } out.push(bad);
let p = []; p.pad(3, [1, [2]]); out.push(show(p)); let p2 = []; p2.pad(2, #{a: blob(2)}); out.push(show(p2));
out.reduce(|s, x| s + "\n" + x, "")
"#;
    let plain: String = rhai::Engine::new().eval(src).unwrap();
    let out = Runtime::new().run(&spell("text.rhai", src, d.path()), &opts(d.path()));
    let ours = out.result.unwrap();
    let ours = ours.as_str().unwrap();
    for (i, (a, b)) in plain.lines().zip(ours.lines()).enumerate() {
        assert_eq!(b, a, "line {i} differs from plain Rhai");
    }
    assert_eq!(ours, plain);

    // The `${}` segments llmspell rewrites keep every line where it was.
    let src = "let a = [1];\nlet t = `${a} ${ {\n a.len() } }`;\nlet u = `x${t}`;\nno_such_fn(u);";
    let out = Runtime::new().run(&spell("lines.rhai", src, d.path()), &opts(d.path()));
    let err = out.result.unwrap_err();
    assert_eq!(err.location.as_ref().map(|l| l.line), Some(5), "{err:?}");

    // An `eval`'d source cannot be rewritten: its interpolations are refused,
    // the rest of `eval` works.
    let src = "let a = [1];\nlet n = eval(\"a.len() + 1\");\neval(\"`x${a}`\")";
    let out = Runtime::new().run(&spell("eval.rhai", src, d.path()), &opts(d.path()));
    let err = out.result.unwrap_err();
    assert!(err.message.contains("sandbox.denied"), "{err:?}");
    let src = "let a = [1];\neval(\"a.len() + 1\")";
    let out = Runtime::new().run(&spell("eval.rhai", src, d.path()), &opts(d.path()));
    assert_eq!(out.result.unwrap(), serde_json::json!(2));

    // `print` of an array or a map shows what Rhai's `print` shows.
    let printed = Arc::new(Mutex::new(Vec::<u8>::new()));
    let mut o = opts(d.path());
    let sink = printed.clone();
    o.output = Arc::new(move |b: &[u8]| {
        let mut sink = sink.lock().unwrap();
        sink.extend_from_slice(b);
        sink.push(b'\n');
    });
    let src = r#"let m = #{b: [1, "x\n"], a: ()}; print(m); print([m, 'c', 2.0]); print(blob(10, 0x0f));"#;
    Runtime::new()
        .run(&spell("print.rhai", src, d.path()), &o)
        .result
        .unwrap();
    let mut plain_engine = rhai::Engine::new();
    let seen = Arc::new(Mutex::new(String::new()));
    let lines = seen.clone();
    plain_engine.on_print(move |t| lines.lock().unwrap().push_str(&format!("{t}\n")));
    plain_engine.run(src).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&printed.lock().unwrap()),
        *seen.lock().unwrap()
    );
}

#[test]
fn rhai_array_searches_answer_as_plain_rhai() {
    let d = tempfile::tempdir().unwrap();
    let src = r#"
let out = [];
let a = [1, 2, "x", 3.5, true, [1, 2], #{a: 1}, 'c', (), 2];
out.push(a.contains(2)); out.push(a.contains("x")); out.push(a.contains("y"));
out.push(a.contains([1, 2])); out.push(a.contains(#{a: 1})); out.push(a.contains(()));
out.push(a.index_of(2)); out.push(a.index_of(2, 2)); out.push(a.index_of(2, -1));
out.push(a.index_of(2, -100)); out.push(a.index_of(2, 100)); out.push(a.index_of('c'));
out.push(a == a); out.push(a != a); out.push([1, 2] == [1, 2.0]); out.push([1] == ["1"]);
out.push([] == []); out.push([1, [2, [3]]] == [1, [2, [3]]]); out.push(2 in a); out.push("q" in a);
out.reduce(|s, x| s + " " + x, "")
"#;
    let plain: String = rhai::Engine::new().eval(src).unwrap();
    let out = Runtime::new().run(&spell("search.rhai", src, d.path()), &opts(d.path()));
    assert_eq!(out.result.unwrap(), serde_json::json!(plain));
}

/// Runs JavaScript `src`: its printed lines, and its log lines as
/// `LEVEL text`, in one list in the order they came.
fn js_lines(src: &str) -> Vec<String> {
    let d = tempfile::tempdir().unwrap();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let mut o = opts(d.path());
    let (printed, logged) = (lines.clone(), lines.clone());
    o.output = Arc::new(move |l| {
        printed
            .lock()
            .unwrap()
            .push(String::from_utf8_lossy(l).into_owned())
    });
    o.log = Arc::new(move |level, text, _| logged.lock().unwrap().push(format!("{level} {text}")));
    let outcome = Runtime::new().run(&spell("c.js", src, d.path()), &o);
    outcome.result.map_err(|e| e.report()).unwrap();
    let out = lines.lock().unwrap().clone();
    out
}

#[test]
fn js_console_formats_counts_groups_and_can_be_replaced_as_in_node() {
    // Expected lines are node 20's for the same program, but for what the
    // sandbox shows otherwise: %o and %O as JSON, errors to log events.
    let src = r#"
console.log("%s is %d years and %i, %f", "Bob", 42.9, 7.8, 1.5);
console.log("%o and %O and %j", {a: 1}, [1, 2], {b: 2});
console.log("%c styled", "color: red");
console.log("100%% sure", "extra");
console.log("no spec", 5, "%s");
console.assert(1 === 1, "not shown");
console.assert(false, "shown", 3);
console.count(); console.count(); console.count("x"); console.countReset(); console.count();
console.group("G"); console.log("inside"); console.group(); console.log("deeper\nand more");
console.groupEnd(); console.groupEnd(); console.log("out");
console.table([{a: 1, b: "x"}, {a: 22}]);
console.log(typeof require, typeof console.table, typeof console.dir, typeof console.timeEnd);
const print0 = print;
console.log = (...a) => print0("mine:", ...a); console.log("replaced");
print(new Error("boom").toString(), {n: 1n});
const cyc = {name: "c"}; cyc.self = cyc; print(cyc);
export default 0;
"#;
    assert_eq!(
        js_lines(src),
        [
            "Bob is 42.9 years and 7, 1.5",
            r#"{"a":1} and [1,2] and {"b":2}"#,
            " styled",
            "100% sure extra",
            "no spec 5 %s",
            "error Assertion failed: shown 3",
            "default: 1",
            "default: 2",
            "x: 1",
            "default: 1",
            "G",
            "  inside",
            "    deeper\n    and more",
            "out",
            "(index) | a  | b",
            "0       | 1  | x",
            "1       | 22 |",
            "undefined function function function",
            "mine: replaced",
            r#"Error: boom {"n":"1n"}"#,
            r#"{"name":"c","self":"[Circular]"}"#,
        ]
    );
}

#[test]
fn js_print_shows_an_error_with_its_message_and_stack() {
    let lines = js_lines(
        "function f() { return new Error(\"boom\"); }\nprint(f());\nconsole.trace(\"here\");",
    );
    assert!(
        lines[0].starts_with("Error: boom\n") && lines[0].contains("c.js:1"),
        "{lines:?}"
    );
    assert!(
        lines[1].starts_with("error Trace: here\n") && lines[1].contains("c.js:3"),
        "{lines:?}"
    );
}

#[test]
fn an_uncaught_js_value_is_reported_with_its_value_and_its_cause_chain() {
    let d = tempfile::tempdir().unwrap();
    let rt = Runtime::new();
    for (src, want) in [
        ("throw {code: 42, why: [1]};", r#"spell.error: {"code":42,"why":[1]}"#),
        (
            "function f() {\n  throw new Error(\"outer\", {cause: new TypeError(\"inner\", {cause: {n: 1}})});\n}\nf();",
            "spell.error: outer\ncaused by: TypeError: inner\ncaused by: {\"n\":1}\n  --> c.js:2",
        ),
        ("throw \"plain\";", "spell.error: plain"),
        (
            "const e = new Error(\"x\", {cause: \"why\"}); e.code = \"tool.failed\"; throw e;",
            "tool.failed: x\ncaused by: why\n  --> c.js:1",
        ),
    ] {
        let err = rt.run(&spell("c.js", src, d.path()), &opts(d.path())).result.unwrap_err();
        assert_eq!(err.report(), want, "{src}");
    }
}

#[test]
fn a_lua_string_argument_crosses_alike_however_long_it_is() {
    // One-argument bridges read a string of up to 256 bytes straight off
    // Lua's stack and a longer one as any value: the same results and the
    // same errors on both sides of that length.
    let d = tempfile::tempdir().unwrap();
    let rt = Runtime::new();
    let src = r#"
local out = {}
for _, n in ipairs({0, 1, 253, 254, 255, 256, 4000}) do
  local text = '"' .. string.rep("é", n // 2) .. string.rep("x", n % 2) .. '"'
  local ok, v = pcall(json.decode, text)
  out[#out + 1] = tostring(ok) .. ":" .. #v
  local bad = "\xff" .. string.rep(" ", n)
  local ok2, err = pcall(json.decode, bad)
  out[#out + 1] = tostring(ok2) .. ":" .. err
end
return out
"#;
    let out = rt
        .run(&spell("args.lua", src, d.path()), &opts(d.path()))
        .result
        .unwrap();
    let out: Vec<String> = serde_json::from_value(out).unwrap();
    let mut want = Vec::new();
    for n in [0usize, 1, 253, 254, 255, 256, 4000] {
        want.push(format!("true:{n}"));
        want.push("false:value.invalid: at argument 1: a string that is not valid UTF-8".into());
    }
    assert_eq!(out, want);
}
