// The globals a JavaScript programmer reaches for first, as node has them
// (docs/values.md lists each and how it differs): console, timers, Event
// and EventTarget, AbortController, structuredClone, TextEncoder and
// TextDecoder, URL and URLSearchParams, crypto, and Math.random drawn from
// the run's seed. Evaluated once per engine to a function that is given
// the host's own functions (`host`, never a global) and returns what the
// host calls back (`internals`).
((host) => {

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

  // Event and EventTarget, enough for AbortSignal and for code that
  // dispatches its own events.
  let dispatching;
  class Event {
    #type; #bubbles; #cancelable; #composed;
    #prevented = false; #stopped = false; #target = null; #current = null; #phase = 0;
    #time = performance.now();
    constructor(type, init = undefined) {
      if (arguments.length === 0) throw argType("type", "specified", undefined);
      this.#type = String(type);
      this.#bubbles = !!init?.bubbles;
      this.#cancelable = !!init?.cancelable;
      this.#composed = !!init?.composed;
    }
    get type() { return this.#type; }
    get bubbles() { return this.#bubbles; }
    get cancelable() { return this.#cancelable; }
    get composed() { return this.#composed; }
    get defaultPrevented() { return this.#cancelable && this.#prevented; }
    get returnValue() { return !this.defaultPrevented; }
    get target() { return this.#target; }
    get currentTarget() { return this.#current; }
    get srcElement() { return this.#target; }
    get eventPhase() { return this.#phase; }
    get timeStamp() { return this.#time; }
    get isTrusted() { return false; }
    get cancelBubble() { return this.#stopped; }
    preventDefault() { this.#prevented = true; }
    stopPropagation() {}
    stopImmediatePropagation() { this.#stopped = true; }
    composedPath() { return this.#current ? [this.#current] : []; }
    static {
      dispatching = (e, target, on) => {
        e.#target = target;
        e.#current = on ? target : null;
        e.#phase = on ? 2 : 0;
        return () => e.#stopped;
      };
    }
  }
  for (const [k, v] of [["NONE", 0], ["CAPTURING_PHASE", 1], ["AT_TARGET", 2], ["BUBBLING_PHASE", 3]]) {
    Object.defineProperty(Event, k, { value: v, enumerable: true });
  }
  class EventTarget {
    #listeners = new Map();
    addEventListener(type, listener, options = undefined) {
      if (listener === null || listener === undefined) return;
      const once = typeof options === "object" && !!options?.once;
      const capture = typeof options === "boolean" ? options : !!options?.capture;
      const signal = typeof options === "object" ? options?.signal : undefined;
      if (signal?.aborted) return;
      type = String(type);
      const list = this.#listeners.get(type) ?? [];
      if (list.some((l) => l.listener === listener && l.capture === capture)) return;
      const entry = { listener, capture, once, removed: false };
      list.push(entry);
      this.#listeners.set(type, list);
      signal?.addEventListener("abort", () => this.removeEventListener(type, listener, { capture }), { once: true });
    }
    removeEventListener(type, listener, options = undefined) {
      const capture = typeof options === "boolean" ? options : !!options?.capture;
      const list = this.#listeners.get(String(type));
      if (!list) return;
      const i = list.findIndex((l) => l.listener === listener && l.capture === capture);
      if (i >= 0) list.splice(i, 1)[0].removed = true;
    }
    dispatchEvent(event) {
      if (!(event instanceof Event)) throw argType("event", "an instance of Event", event);
      const stopped = dispatching(event, this, true);
      const list = [...(this.#listeners.get(event.type) ?? [])];
      const call = (f) => {
        // A listener's error does not stop the others; as in node, it
        // is uncaught (it fails the run) once this dispatch is over.
        try {
          if (typeof f === "function") f.call(this, event);
          else if (typeof f?.handleEvent === "function") f.handleEvent(event);
        } catch (err) {
          queueMicrotask(() => { throw err; });
        }
      };
      for (const l of list) {
        if (l.removed) continue;
        if (l.once) this.removeEventListener(event.type, l.listener, { capture: l.capture });
        call(l.listener);
        if (stopped()) break;
      }
      dispatching(event, this, false);
      return !event.defaultPrevented;
    }
  }

  // AbortController and AbortSignal. A signal given to a waiting bridge
  // call (`workflow.sleep(1000, {signal})`, `llm.chat(p, {signal})`)
  // cancels it: the call stops and its Promise rejects with the reason.
  const signals = new WeakSet();
  let aborting;
  const aborted = () => new DOMException("This operation was aborted", "AbortError");
  class AbortSignal extends EventTarget {
    #aborted = false;
    #reason = undefined;
    #onabort = null;
    #handling = false;
    constructor(key) {
      if (key !== signals) throw new TypeError("Illegal constructor");
      super();
      signals.add(this);
    }
    get aborted() { return this.#aborted; }
    get reason() { return this.#reason; }
    get onabort() { return this.#onabort; }
    set onabort(f) {
      // An event handler property: one listener, in the place of the
      // first time it was set.
      this.#onabort = typeof f === "function" ? f : null;
      if (!this.#handling) {
        this.#handling = true;
        this.addEventListener("abort", (e) => this.#onabort?.call(this, e));
      }
    }
    throwIfAborted() { if (this.#aborted) throw this.#reason; }
    static abort(reason = undefined) {
      const s = new AbortSignal(signals);
      aborting(s, reason === undefined ? aborted() : reason, false);
      return s;
    }
    static timeout(ms) {
      const s = new AbortSignal(signals);
      const t = setTimeout(() => {
        aborting(s, new DOMException("The operation was aborted due to timeout", "TimeoutError"), true);
      }, ms);
      t.unref();
      return s;
    }
    static any(list) {
      const s = new AbortSignal(signals);
      const from = [...list];
      const done = from.find((x) => x.aborted);
      if (done) {
        aborting(s, done.reason, false);
        return s;
      }
      for (const x of from) {
        x.addEventListener("abort", () => aborting(s, x.reason, true), { once: true });
      }
      return s;
    }
    static {
      aborting = (s, reason, tell) => {
        if (s.#aborted) return;
        s.#aborted = true;
        s.#reason = reason;
        if (tell) s.dispatchEvent(new Event("abort"));
      };
    }
  }
  class AbortController {
    #signal = new AbortSignal(signals);
    get signal() { return this.#signal; }
    abort(reason = undefined) { aborting(this.#signal, reason === undefined ? aborted() : reason, true); }
  }
  globalThis.Event = Event;
  globalThis.EventTarget = EventTarget;
  globalThis.AbortSignal = AbortSignal;
  globalThis.AbortController = AbortController;

  // structuredClone: the HTML structured clone of a value, as node has it.
  const cannot = (v) => {
    const what = typeof v === "function" || typeof v === "symbol" ? String(v)
      : `#<${Object.prototype.toString.call(v).slice(8, -1)}>`;
    return new DOMException(`${what} could not be cloned.`, "DataCloneError");
  };
  const errorTypes = { Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError };
  const copy = (v, seen, moved) => {
    if (typeof v === "function" || typeof v === "symbol") throw cannot(v);
    if (v === null || typeof v !== "object") return v;
    if (seen.has(v)) return seen.get(v);
    const keep = (out) => { seen.set(v, out); return out; };
    const props = (out) => {
      for (const k of Object.keys(v)) out[k] = copy(v[k], seen, moved);
      return out;
    };
    if (Array.isArray(v)) return props(keep(new Array(v.length)));
    if (v instanceof Date) return keep(new Date(v.getTime()));
    if (v instanceof RegExp) return keep(new RegExp(v.source, v.flags));
    if (v instanceof Boolean || v instanceof Number || v instanceof String || v instanceof BigInt) {
      return keep(Object(v.valueOf()));
    }
    if (v instanceof ArrayBuffer) return keep(moved.includes(v) ? v.transfer() : v.slice(0));
    if (ArrayBuffer.isView(v)) {
      const buffer = copy(v.buffer, seen, moved);
      if (v instanceof DataView) return keep(new DataView(buffer, v.byteOffset, v.byteLength));
      return keep(new v.constructor(buffer, v.byteOffset, v.length));
    }
    if (v instanceof Map) {
      const out = keep(new Map());
      for (const [k, x] of v) out.set(copy(k, seen, moved), copy(x, seen, moved));
      return out;
    }
    if (v instanceof Set) {
      const out = keep(new Set());
      for (const x of v) out.add(copy(x, seen, moved));
      return out;
    }
    if (v instanceof Error) {
      const make = errorTypes[v.name] ?? Error;
      const out = keep(new make(v.message));
      if (v.stack !== undefined) out.stack = v.stack;
      if ("cause" in v) out.cause = copy(v.cause, seen, moved);
      return out;
    }
    if (v instanceof Promise || v instanceof WeakMap || v instanceof WeakSet || v instanceof WeakRef ||
        v instanceof EventTarget || v instanceof Event) {
      throw cannot(v);
    }
    return props(keep({}));
  };
  globalThis.structuredClone = function structuredClone(value, options = undefined) {
    if (arguments.length === 0) throw argType("value", "specified", undefined);
    return copy(value, new Map(), [...(options?.transfer ?? [])]);
  };

  // TextEncoder (UTF-8) and TextDecoder (every WHATWG encoding), by the host.
  const X = host.text;
  class TextEncoder {
    get encoding() { return "utf-8"; }
    encode(input = "") { return X.encode(String(input).toWellFormed()); }
    encodeInto(source, destination) {
      if (!(destination instanceof Uint8Array)) throw argType("dest", "an instance of Uint8Array", destination);
      const [read, written] = X.encodeInto(String(source).toWellFormed(), destination);
      return { read, written };
    }
  }
  const bytesOf = (input) => {
    if (input === undefined) return new Uint8Array(0);
    if (input instanceof ArrayBuffer || input instanceof SharedArrayBuffer) return new Uint8Array(input);
    if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    throw argType("input", "an instance of ArrayBuffer or ArrayBufferView", input);
  };
  class TextDecoder {
    #state; #encoding; #fatal; #ignoreBOM;
    constructor(label = "utf-8", options = undefined) {
      this.#fatal = !!options?.fatal;
      this.#ignoreBOM = !!options?.ignoreBOM;
      const made = X.decoder(String(label), this.#ignoreBOM);
      if (made == null) {
        const e = new RangeError(`The "${label}" encoding is not supported`);
        e.code = "ERR_ENCODING_NOT_SUPPORTED";
        throw e;
      }
      [this.#state, this.#encoding] = made;
    }
    get encoding() { return this.#encoding; }
    get fatal() { return this.#fatal; }
    get ignoreBOM() { return this.#ignoreBOM; }
    decode(input = undefined, options = undefined) {
      const text = X.decode(this.#state, bytesOf(input), this.#fatal, !!options?.stream);
      if (text == null) {
        const e = new TypeError(`The encoded data was not valid for encoding ${this.#encoding}`);
        e.code = "ERR_ENCODING_INVALID_ENCODED_DATA";
        throw e;
      }
      return text;
    }
  }
  globalThis.TextEncoder = TextEncoder;
  globalThis.TextDecoder = TextDecoder;

  // URL and URLSearchParams, parsed and set by the host (WHATWG URL).
  const U = host.url;
  // The parts the host gives, in this order.
  const [HREF, ORIGIN, PROTOCOL, USERNAME, PASSWORD, HOST, HOSTNAME, PORT, PATHNAME, SEARCH, HASH] =
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  let paramsList, paramsOwner, searchFromParams;
  class URLSearchParams {
    #list = [];
    #url = null;
    constructor(init = "") {
      if (init instanceof URLSearchParams) {
        this.#list = init.#list.map(([k, v]) => [k, v]);
      } else if (init !== null && typeof init === "object") {
        if (typeof init[Symbol.iterator] === "function") {
          for (const pair of init) {
            const p = [...pair];
            if (p.length !== 2) {
              const e = new TypeError("Each query pair must be an iterable [name, value] tuple");
              e.code = "ERR_INVALID_TUPLE";
              throw e;
            }
            this.#list.push([String(p[0]), String(p[1])]);
          }
        } else {
          for (const k of Object.keys(init)) this.#list.push([k, String(init[k])]);
        }
      } else {
        const text = String(init);
        this.#list = U.query(text.startsWith("?") ? text.slice(1) : text);
      }
    }
    #update() { if (this.#url) searchFromParams(this.#url, this.toString()); }
    get size() { return this.#list.length; }
    append(name, value) { this.#list.push([String(name), String(value)]); this.#update(); }
    delete(name, value = undefined) {
      name = String(name);
      const v = value === undefined ? undefined : String(value);
      this.#list = this.#list.filter(([k, x]) => k !== name || (v !== undefined && x !== v));
      this.#update();
    }
    get(name) {
      name = String(name);
      const p = this.#list.find(([k]) => k === name);
      return p ? p[1] : null;
    }
    getAll(name) {
      name = String(name);
      return this.#list.filter(([k]) => k === name).map(([, v]) => v);
    }
    has(name, value = undefined) {
      name = String(name);
      const v = value === undefined ? undefined : String(value);
      return this.#list.some(([k, x]) => k === name && (v === undefined || x === v));
    }
    set(name, value) {
      name = String(name);
      value = String(value);
      const i = this.#list.findIndex(([k]) => k === name);
      if (i < 0) this.#list.push([name, value]);
      else {
        this.#list[i] = [name, value];
        this.#list = this.#list.filter(([k], j) => k !== name || j <= i);
      }
      this.#update();
    }
    sort() {
      // Stable, by UTF-16 code units, as the standard says.
      this.#list.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      this.#update();
    }
    forEach(f, that = undefined) {
      if (typeof f !== "function") throw argType("callback", "of type function", f);
      for (const [k, v] of this.#list) f.call(that, v, k, this);
    }
    keys() { return this.#list.map(([k]) => k)[Symbol.iterator](); }
    values() { return this.#list.map(([, v]) => v)[Symbol.iterator](); }
    entries() { return this.#list.map(([k, v]) => [k, v])[Symbol.iterator](); }
    [Symbol.iterator]() { return this.entries(); }
    toString() { return U.form(this.#list); }
    static {
      paramsList = (p, list) => { p.#list = list; };
      paramsOwner = (p, url) => { p.#url = url; };
    }
  }
  const invalidUrl = (input, base) => {
    const e = new TypeError("Invalid URL");
    e.code = "ERR_INVALID_URL";
    e.input = input;
    if (base !== undefined) e.base = base;
    return e;
  };
  const parse = (input, base) =>
    base === undefined ? U.parse(String(input)) : U.parse(String(input), String(base));
  class URL {
    #parts;
    #params;
    constructor(input, base = undefined) {
      if (arguments.length === 0) throw argType("url", "specified", undefined);
      const parts = parse(input, base);
      if (parts == null) throw invalidUrl(String(input), base === undefined ? undefined : String(base));
      this.#parts = parts;
      this.#params = new URLSearchParams(parts[SEARCH]);
      paramsOwner(this.#params, this);
    }
    static canParse(input, base = undefined) { return parse(input, base) != null; }
    static parse(input, base = undefined) {
      return parse(input, base) == null ? null : new URL(input, base);
    }
    #set(part, value) {
      const parts = U.set(this.#parts[HREF], part, String(value));
      if (parts == null) {
        if (part === HREF) throw invalidUrl(String(value));
        return;
      }
      this.#parts = parts;
      if (part === HREF || part === SEARCH) paramsList(this.#params, U.query(parts[SEARCH].slice(1)));
    }
    get href() { return this.#parts[HREF]; }
    set href(v) { this.#set(HREF, v); }
    get origin() { return this.#parts[ORIGIN]; }
    get protocol() { return this.#parts[PROTOCOL]; }
    set protocol(v) { this.#set(PROTOCOL, v); }
    get username() { return this.#parts[USERNAME]; }
    set username(v) { this.#set(USERNAME, v); }
    get password() { return this.#parts[PASSWORD]; }
    set password(v) { this.#set(PASSWORD, v); }
    get host() { return this.#parts[HOST]; }
    set host(v) { this.#set(HOST, v); }
    get hostname() { return this.#parts[HOSTNAME]; }
    set hostname(v) { this.#set(HOSTNAME, v); }
    get port() { return this.#parts[PORT]; }
    set port(v) { this.#set(PORT, v); }
    get pathname() { return this.#parts[PATHNAME]; }
    set pathname(v) { this.#set(PATHNAME, v); }
    get search() { return this.#parts[SEARCH]; }
    set search(v) { this.#set(SEARCH, v); }
    get hash() { return this.#parts[HASH]; }
    set hash(v) { this.#set(HASH, v); }
    get searchParams() { return this.#params; }
    toString() { return this.#parts[HREF]; }
    toJSON() { return this.#parts[HREF]; }
    static {
      searchFromParams = (url, text) => {
        url.#parts = U.set(url.#parts[HREF], SEARCH, text) ?? url.#parts;
      };
    }
  }
  globalThis.URL = URL;
  globalThis.URLSearchParams = URLSearchParams;

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
  const integers = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array,
    Uint32Array, BigInt64Array, BigUint64Array];
  const hex = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
  globalThis.crypto = {
    getRandomValues(array) {
      if (!integers.some((t) => array instanceof t)) {
        throw new DOMException("The data argument must be an integer-type TypedArray", "TypeMismatchError");
      }
      if (array.byteLength > 65536) {
        throw new DOMException(
          `The ArrayBufferView's byte length (${array.byteLength}) exceeds the number of bytes of entropy available via this API (65536)`,
          "QuotaExceededError");
      }
      R.fill(new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
      return array;
    },
    randomUUID() {
      const b = new Uint8Array(16);
      R.fill(b);
      b[6] = (b[6] & 0x0f) | 0x40;
      b[8] = (b[8] & 0x3f) | 0x80;
      const h = Array.from(b, (x) => hex[x]).join("");
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    },
  };

  // What the host calls back: the wrappers that make host handles objects
  // (await bot.run("hi")), and signals for waiting calls.
  return {
    wrappers: {
      agent: (make) => (opts) => {
        const h = make(opts);
        return Object.freeze({
          id: h.id,
          name: h.name,
          run: (input) => agent.run(h, input),
          history: () => agent.history(h),
          reset: () => agent.reset(h),
          as_tool: (spec) => agent.as_tool(h, spec),
        });
      },
    },
    isSignal: (v) => signals.has(v),
    // Calls `f` once `signal` aborts; the function returned stops that.
    onAbort: (signal, f) => {
      signal.addEventListener("abort", f, { once: true });
      return () => signal.removeEventListener("abort", f);
    },
  };
})
