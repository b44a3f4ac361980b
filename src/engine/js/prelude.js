// The globals a JavaScript programmer reaches for first, as node has them
// (docs/values.md lists each and how it differs): console, timers, Event
// and EventTarget, AbortController, structuredClone, TextEncoder and
// TextDecoder, URL and URLSearchParams, crypto, and Math.random drawn from
// the run's seed. A module (compiled once per process) whose default
// export each engine calls with the host's own functions (`host`, never a
// global); it returns what the host calls back.
export default (host) => {

  // A value as print shows it: text as it is; an error with its name,
  // message and stack; other objects as JSON, with BigInts as `1n` and a
  // cycle as "[Circular]".
  const json = (v) => {
    const seen = [];
    return JSON.stringify(v, function (k, x) {
      if (typeof x === "bigint") return `${x}n`;
      if (x !== null && typeof x === "object") {
        while (seen.length && seen[seen.length - 1] !== this) seen.pop();
        if (seen.includes(x)) return "[Circular]";
        seen.push(x);
      }
      return x;
    });
  };
  const show = (v) => {
    if (typeof v === "string") return v;
    if (v instanceof Error) {
      const head = `${v.name}: ${v.message}`;
      return v.stack ? `${head}\n${String(v.stack).replace(/\n$/, "")}` : head;
    }
    if (v !== null && typeof v === "object") {
      try { return json(v) ?? String(v); } catch (_) { return String(v); }
    }
    if (typeof v === "bigint") return `${v}n`;
    return String(v);
  };
  // console.log's format specifiers, as node applies them to a first
  // argument that is text: %s %d %i %f %o %O %j %c and %%.
  const format = (args) => {
    if (typeof args[0] !== "string" || !args[0].includes("%")) return args.map(show).join(" ");
    let rest = args.slice(1);
    const take = () => rest.shift();
    const text = args[0].replace(/%([sdifoOjc%])/g, (m, c) => {
      if (c === "%") return "%";
      if (rest.length === 0) return m;
      const v = take();
      switch (c) {
        case "s": return typeof v === "string" ? v : show(v);
        case "d": return typeof v === "bigint" ? `${v}n` : String(Number(v));
        case "i": return typeof v === "bigint" ? `${v}n` : String(parseInt(v));
        case "f": return String(parseFloat(v));
        case "c": return "";
        default: return show(v);
      }
    });
    return [text, ...rest.map(show)].join(" ");
  };
  const out = globalThis.print;
  const L = globalThis.log;
  let indent = "";
  const say = (to) => (...a) => {
    const text = format(a);
    to(indent ? text.split("\n").map((l) => indent + l).join("\n") : text);
  };
  globalThis.print = (...a) => out(format(a));
  const counts = new Map();
  const timers = new Map();
  const logged = say(out);
  const error = say(L.error);
  globalThis.console = {
    log: logged,
    info: say(L.info),
    debug: say(L.debug),
    warn: say(L.warn),
    error,
    trace: (...a) => error(`Trace: ${format(a)}\n${String(new Error().stack).replace(/\n$/, "")}`),
    dir: (v) => logged(show(v)),
    table: (rows) => {
      if (rows === null || typeof rows !== "object") return logged(rows);
      const keys = Object.keys(rows);
      const cols = [];
      for (const k of keys) {
        const r = rows[k];
        if (r !== null && typeof r === "object") {
          for (const c of Object.keys(r)) if (!cols.includes(c)) cols.push(c);
        }
      }
      const cell = (v) => (v === undefined ? "" : typeof v === "string" ? v : show(v));
      const table = [["(index)", ...(cols.length ? cols : ["Values"])]];
      for (const k of keys) {
        const r = rows[k];
        table.push([k, ...(cols.length ? cols.map((c) => cell(r?.[c])) : [cell(r)])]);
      }
      const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
      for (const row of table) logged(row.map((c, i) => c.padEnd(widths[i])).join(" | ").trimEnd());
    },
    assert: (ok, ...a) => {
      if (!ok) error(a.length ? `Assertion failed: ${format(a)}` : "Assertion failed");
    },
    count: (label = "default") => {
      const n = (counts.get(label) ?? 0) + 1;
      counts.set(label, n);
      logged(`${label}: ${n}`);
    },
    countReset: (label = "default") => { counts.delete(label); },
    time: (label = "default") => { timers.set(label, Date.now()); },
    timeLog: (label = "default", ...a) => {
      const at = timers.get(label);
      if (at === undefined) return L.warn(`Timer "${label}" does not exist`);
      logged(format([`${label}: ${Date.now() - at}ms`, ...a]));
    },
    timeEnd: (label = "default") => {
      const at = timers.get(label);
      if (at === undefined) return L.warn(`Timer "${label}" does not exist`);
      timers.delete(label);
      logged(`${label}: ${Date.now() - at}ms`);
    },
    group: (...a) => { if (a.length) logged(...a); indent += "  "; },
    groupCollapsed: (...a) => { if (a.length) logged(...a); indent += "  "; },
    groupEnd: () => { indent = indent.slice(2); },
  };
  // node's wording for an argument of the wrong type.
  const received = (v) => {
    if (v === null || v === undefined) return `Received ${v}`;
    if (typeof v === "function") return `Received function ${v.name || "<anonymous>"}`;
    if (typeof v === "object") return `Received an instance of ${v.constructor?.name ?? "Object"}`;
    const text = typeof v === "string" ? `'${v.length > 25 ? v.slice(0, 25) + "..." : v}'` : String(v);
    return `Received type ${typeof v} (${text})`;
  };
  const argType = (name, want, v) => {
    const e = new TypeError(`The "${name}" argument must be ${want}. ${received(v)}`);
    e.code = "ERR_INVALID_ARG_TYPE";
    return e;
  };

  // Timers: the host keeps them on the spell's clock (paused while a
  // debugger holds the spell) and fires those due together in the order
  // they were set, each followed by every Promise job.
  const T = host.timers;
  const delay = (ms) => {
    ms = Number(ms);
    return ms >= 1 && ms <= 2147483647 ? ms : 1;
  };
  class Timeout {
    #id;
    constructor(id) { this.#id = id; }
    ref() { T.refer(this.#id, true); return this; }
    unref() { T.refer(this.#id, false); return this; }
    hasRef() { return T.hasRef(this.#id); }
    refresh() { T.refresh(this.#id); return this; }
    close() { T.clear(this.#id); return this; }
    [Symbol.toPrimitive]() { return this.#id; }
  }
  const timer = (repeat) => function (callback, ms, ...args) {
    if (typeof callback !== "function") throw argType("callback", "of type function", callback);
    let t;
    const id = T.add(() => { callback.apply(t, args); }, delay(ms), repeat);
    t = new Timeout(id);
    return t;
  };
  const clear = (t) => {
    if (t === null || t === undefined) return;
    const id = t instanceof Timeout ? t[Symbol.toPrimitive]() : Number(t);
    if (Number.isInteger(id)) T.clear(id);
  };
  globalThis.setTimeout = timer(false);
  globalThis.setInterval = timer(true);
  globalThis.clearTimeout = (t) => clear(t);
  globalThis.clearInterval = (t) => clear(t);

  // The larger globals are made the first time a spell reaches for one
  // (a spell pays at start only for what it uses); each is then a plain
  // writable global, as in node.
  // Each group is a module of its own (web/), compiled once per process
  // and loaded by the host when first used.
  const loaded = {};
  const load = (group) =>
    (loaded[group] ??= host.load(group)({ argType, host, events: () => loaded.events }));
  const lazy = (names, group) => {
    for (const name of names) {
      const settle = (value) =>
        Object.defineProperty(globalThis, name, { value, writable: true, configurable: true });
      Object.defineProperty(globalThis, name, {
        configurable: true,
        get() {
          const value = load(group)[name];
          settle(value);
          return value;
        },
        set: settle,
      });
    }
  };
  lazy(["Event", "EventTarget", "AbortSignal", "AbortController"], "events");
  lazy(["structuredClone"], "clone");
  lazy(["TextEncoder", "TextDecoder"], "text");
  lazy(["URL", "URLSearchParams"], "url");
  // Random numbers from the run's seed (a fresh one from the system each
  // run, unless the run is given one to reproduce): Math.random and crypto
  // draw from one ChaCha20 stream the host keeps.
  const R = host.random;
  const pool = new Float64Array(256);
  let next = pool.length;
  Math.random = function random() {
    if (next === pool.length) {
      R.doubles(pool);
      next = 0;
    }
    return pool[next++];
  };
  lazy(["crypto"], "crypto");

  // What the host calls back: how a host handle becomes an object
  // (await bot.run("hi")), and signals for waiting calls.
  return {
    // A bridge that returns an object: its handle, copied and frozen, with
    // the methods the registry declares, each calling its bridge with the
    // handle first (options after the input, `{signal}`, go along).
    object: (make, methods) => {
      const wrap = (h) => {
        if (h === null || typeof h !== "object") return h;
        const o = { ...h };
        for (const [name, f] of methods) o[name] = (...a) => f(h, ...a);
        return Object.freeze(o);
      };
      return (...args) => {
        const made = make(...args);
        return made instanceof Promise ? made.then(wrap) : wrap(made);
      };
    },
    isSignal: (v) => loaded.events !== undefined && loaded.events.signals.has(v),
    // Calls `f` once `signal` aborts; the function returned stops that.
    onAbort: (signal, f) => {
      signal.addEventListener("abort", f, { once: true });
      return () => signal.removeEventListener("abort", f);
    },
  };
};
