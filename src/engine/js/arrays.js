// Array methods (and two list checks) that cannot run past the spell's
// limits.
//
// QuickJS checks its interrupt handler (stop, time, instructions) on
// branches in script code. Several Array.prototype methods loop in C over
// `length` without running any: on a sparse array (`new Array(2**32 - 1)`)
// or an array-like (`{length: 2**53 - 1}`) they would run for hours with no
// way to stop them. Over a receiver longer than LARGE, these methods run
// the same C code on a Proxy of the receiver whose traps are script code
// (each with a branch), so every element they touch gives the interrupt
// handler its turn; shorter receivers take the C path unchanged. `flat`
// and `flatMap`, which reach arrays nested at any depth, are written here
// in full.
(() => {
  const LARGE = 1 << 16;
  const MAX_LENGTH = 2 ** 53 - 1;
  const AP = Array.prototype;
  const R = Reflect;
  const isArray = Array.isArray;
  const defineProperty = Object.defineProperty;
  const toLength = (v) => {
    const n = Math.trunc(Number(v));
    if (!(n > 0)) return 0;
    return n < MAX_LENGTH ? n : MAX_LENGTH;
  };
  const isObject = (o) => o !== null && (typeof o === "object" || typeof o === "function");
  const big = (o) => isObject(o) && toLength(o.length) > LARGE;
  const handler = {
    get(t, k) { if (k === undefined) return undefined; return R.get(t, k); },
    set(t, k, v) { if (k === undefined) return false; return R.set(t, k, v); },
    has(t, k) { if (k === undefined) return false; return R.has(t, k); },
    deleteProperty(t, k) { if (k === undefined) return false; return R.deleteProperty(t, k); },
    defineProperty(t, k, d) { if (k === undefined) return false; return R.defineProperty(t, k, d); },
    getOwnPropertyDescriptor(t, k) { if (k === undefined) return undefined; return R.getOwnPropertyDescriptor(t, k); },
  };
  const NativeProxy = Proxy;
  const guarded = (o) => new NativeProxy(o, handler);
  const like = (native, f) => {
    defineProperty(f, "name", { value: native.name });
    defineProperty(f, "length", { value: native.length });
    return f;
  };
  // The default order, as script code: compared as strings, undefined last
  // (sort itself puts undefined and holes last before comparing).
  const byString = (a, b) => {
    const x = String(a), y = String(b);
    if (x < y) return -1;
    if (x > y) return 1;
    return 0;
  };
  const wrap = (name, sorts) => {
    const native = AP[name];
    if (typeof native !== "function") return;
    const f = like(native, function (...args) {
      if (!big(this)) return R.apply(native, this, args);
      if (sorts && args[0] === undefined) args[0] = byString;
      const p = guarded(Object(this));
      const out = R.apply(native, p, args);
      return out === p ? this : out;
    });
    defineProperty(AP, name, { value: f, writable: true, configurable: true, enumerable: false });
  };
  for (const name of ["copyWithin", "fill", "join", "toLocaleString", "reverse", "shift",
    "unshift", "splice", "slice", "toReversed", "toSpliced", "with"]) {
    wrap(name, false);
  }
  wrap("sort", true);
  wrap("toSorted", true);

  // concat spreads its arguments too.
  const concat = AP.concat;
  const spreadable = (o) => {
    if (!isObject(o)) return false;
    const s = o[Symbol.isConcatSpreadable];
    return s !== undefined ? !!s : isArray(o);
  };
  defineProperty(AP, "concat", {
    value: like(concat, function (...items) {
      if (!big(this) && !items.some((i) => spreadable(i) && big(i))) {
        return R.apply(concat, this, items);
      }
      const o = Object(this);
      const args = items.map((i) => (spreadable(i) && big(i) ? guarded(i) : i));
      return R.apply(concat, big(o) ? guarded(o) : o, args);
    }),
    writable: true, configurable: true, enumerable: false,
  });

  // Iterating a long array from C (`new Set(a)`, `[...a]`, Array.from)
  // steps through it in script code instead.
  const iterate = (native, kind) => like(native, function () {
    if (!big(this)) return R.apply(native, this, []);
    const o = Object(this);
    return (function* () {
      for (let i = 0; i < toLength(o.length); i++) {
        if (kind === 0) yield i;
        else if (kind === 1) yield o[i];
        else yield [i, o[i]];
      }
    })();
  });
  const values = iterate(AP.values, 1);
  for (const [name, f] of [["keys", iterate(AP.keys, 0)], ["values", values],
    ["entries", iterate(AP.entries, 2)]]) {
    defineProperty(AP, name, { value: f, writable: true, configurable: true, enumerable: false });
  }
  defineProperty(AP, Symbol.iterator, { value: values, writable: true, configurable: true, enumerable: false });

  // flat and flatMap, as the specification writes FlattenIntoArray.
  const speciesCreate = (o) => {
    if (!isArray(o)) return [];
    let c = o.constructor;
    if (isObject(c)) {
      c = c[Symbol.species];
      if (c === null) c = undefined;
    }
    if (c === undefined) return [];
    if (typeof c !== "function") throw new TypeError("not a constructor");
    return new c(0);
  };
  const flatten = (target, source, sourceLen, start, depth, mapper, thisArg) => {
    let at = start;
    for (let i = 0; i < sourceLen; i++) {
      if (!(i in source)) continue;
      let el = source[i];
      if (mapper) el = R.apply(mapper, thisArg, [el, i, source]);
      if (depth > 0 && isArray(el)) {
        at = flatten(target, el, toLength(el.length), at, depth - 1);
      } else {
        if (at >= MAX_LENGTH) throw new TypeError("the flattened array is too long");
        defineProperty(target, at, { value: el, writable: true, enumerable: true, configurable: true });
        at++;
      }
    }
    return at;
  };
  defineProperty(AP, "flat", {
    value: like(AP.flat, function (depth) {
      const o = Object(this);
      const len = toLength(o.length);
      let d = depth === undefined ? 1 : Math.trunc(Number(depth));
      if (!(d > 0)) d = 0;
      const a = speciesCreate(o);
      flatten(a, o, len, 0, d);
      return a;
    }),
    writable: true, configurable: true, enumerable: false,
  });
  defineProperty(AP, "flatMap", {
    value: like(AP.flatMap, function (mapper, thisArg) {
      const o = Object(this);
      const len = toLength(o.length);
      if (typeof mapper !== "function") throw new TypeError("flatMap: not a function");
      const a = speciesCreate(o);
      flatten(a, o, len, 0, 1, mapper, thisArg);
      return a;
    }),
    writable: true, configurable: true, enumerable: false,
  });

  // Two lists QuickJS checks for duplicates pair by pair in C, which no
  // interrupt reaches: a million names would run for hours. A longer list
  // than these (where the check still takes a fraction of a second in a
  // debug build) is a RangeError.
  const MAX_OWN_KEYS = 1 << 15;
  const MAX_REPLACER_NAMES = 1 << 12;
  // A Proxy's ownKeys trap: every trap is the spell's own (looked up on
  // its handler at each use, as the specification does), ownKeys' list
  // measured before QuickJS reads it.
  const TRAPS = ["getPrototypeOf", "setPrototypeOf", "isExtensible", "preventExtensions",
    "getOwnPropertyDescriptor", "defineProperty", "has", "get", "set", "deleteProperty",
    "ownKeys", "apply", "construct"];
  const guardHandler = (handler) => {
    if (!isObject(handler)) return handler;
    const h = {};
    for (const name of TRAPS) {
      h[name] = function (...args) {
        const trap = handler[name];
        if (trap === undefined || trap === null) return R.apply(R[name], undefined, args);
        const out = R.apply(trap, handler, args);
        if (name === "ownKeys" && isObject(out) && toLength(out.length) > MAX_OWN_KEYS) {
          throw new RangeError(`a Proxy's ownKeys may list at most ${MAX_OWN_KEYS} keys`);
        }
        return out;
      };
    }
    return h;
  };
  const revocable = like(NativeProxy.revocable, function revocable(target, handler) {
    return NativeProxy.revocable(target, guardHandler(handler));
  });
  // Still Proxy itself to every test (name, length, no prototype, `new`
  // required): only the handler it is given changes.
  const GuardedProxy = new NativeProxy(NativeProxy, {
    construct(t, args) { return new NativeProxy(args[0], guardHandler(args[1])); },
    get(t, k, r) { return k === "revocable" ? revocable : R.get(t, k, r); },
  });
  defineProperty(globalThis, "Proxy", { value: GuardedProxy, writable: true, configurable: true, enumerable: false });

  // Compiling a regular expression runs in C where no interrupt reaches,
  // and two shapes cost the square of their size: many alternatives in
  // one group, and many characters in one class (a million alternatives
  // would compile for hours). A pattern whose estimated cost passes
  // MAX_REGEXP_COST (about a quarter of a second in a debug build) is a
  // SyntaxError. Patterns come from RegExp (called or constructed),
  // RegExp.prototype.compile and String.prototype.match, matchAll and
  // search; a literal in the source is compiled with the source.
  const MAX_REGEXP_COST = 2 ** 32;
  const NativeRegExp = RegExp;
  const regexpCost = (p, flags) => {
    const n = p.length;
    if (n < 4096) return 0;
    const nested = String(flags).includes("v");
    let bars = 0, classes = 0, depth = 0, start = 0;
    for (let i = 0; i < n; i++) {
      const c = p.charCodeAt(i);
      if (c === 92) { i++; continue; }
      if (depth > 0) {
        if (c === 93 && --depth === 0) classes += (i - start) ** 2 * 100;
        else if (c === 91 && nested) depth++;
      } else if (c === 91) { depth = 1; start = i; }
      else if (c === 124) bars++;
    }
    if (depth > 0) classes += (n - start) ** 2 * 100;
    return bars * n + classes;
  };
  const checkPattern = (p, flags) => {
    if (regexpCost(p, flags) > MAX_REGEXP_COST) {
      throw new SyntaxError(`a regular expression of ${p.length} characters this complex would compile past the spell's limits; split it`);
    }
  };
  const sourceOf = Object.getOwnPropertyDescriptor(NativeRegExp.prototype, "source").get;
  const isRegExp = (o) => {
    if (!isObject(o)) return false;
    try { R.apply(sourceOf, o, []); return o !== NativeRegExp.prototype; } catch (_) { return false; }
  };
  // The pattern and flags the native constructor would compile, as
  // strings, checked; a RegExp's own source was compiled once already.
  const patternArgs = (args) => {
    let [p, flags] = args;
    if (isRegExp(p)) return args;
    if (isObject(p) && p[Symbol.match]) {
      if (flags === undefined) flags = p.flags;
      p = p.source;
    }
    p = p === undefined ? "" : String(p);
    flags = flags === undefined ? undefined : String(flags);
    checkPattern(p, flags);
    return flags === undefined ? [p] : [p, flags];
  };
  const GuardedRegExp = new NativeProxy(NativeRegExp, {
    construct(t, args, target) {
      return R.construct(t, patternArgs(args), target === GuardedRegExp ? t : target);
    },
    apply(t, self, args) {
      // RegExp(re) with no flags gives re itself when it is a RegExp.
      const [p, flags] = args;
      if (flags === undefined && isObject(p) && p[Symbol.match] && p.constructor === GuardedRegExp) return p;
      return R.construct(t, patternArgs(args));
    },
  });
  defineProperty(NativeRegExp.prototype, "constructor", { value: GuardedRegExp, writable: true, configurable: true, enumerable: false });
  defineProperty(globalThis, "RegExp", { value: GuardedRegExp, writable: true, configurable: true, enumerable: false });
  const compile = NativeRegExp.prototype.compile;
  if (typeof compile === "function") {
    defineProperty(NativeRegExp.prototype, "compile", {
      value: like(compile, function (...args) { return R.apply(compile, this, patternArgs(args)); }),
      writable: true, configurable: true, enumerable: false,
    });
  }
  const SP = String.prototype;
  for (const [name, symbol, flags] of [["match", Symbol.match, undefined],
    ["matchAll", Symbol.matchAll, "g"], ["search", Symbol.search, undefined]]) {
    const native = SP[name];
    defineProperty(SP, name, {
      value: like(native, function (re, ...rest) {
        // An object with its own matcher is asked, as the native does;
        // anything else becomes a pattern that is compiled.
        if (re !== undefined && re !== null && (isObject(re) ? re[symbol] == null : true)) {
          re = re === undefined ? "" : String(re);
          checkPattern(re, flags);
        }
        return R.apply(native, this, [re, ...rest]);
      }),
      writable: true, configurable: true, enumerable: false,
    });
  }

  const stringify = JSON.stringify;
  defineProperty(JSON, "stringify", {
    value: like(stringify, function stringify_(value, replacer, space) {
      if (isArray(replacer) && toLength(replacer.length) > MAX_REPLACER_NAMES) {
        throw new RangeError(`JSON.stringify: a replacer list may hold at most ${MAX_REPLACER_NAMES} names`);
      }
      return R.apply(stringify, this, [value, replacer, space]);
    }),
    writable: true, configurable: true, enumerable: false,
  });
})();
