// Event, EventTarget, AbortSignal and AbortController, made the first time
// a spell reaches for one of them (see prelude.js).
export default ({ argType }) => {
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
  return { Event, EventTarget, AbortSignal, AbortController, signals };

};
