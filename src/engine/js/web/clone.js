// structuredClone, made the first time a spell reaches for it (see
// prelude.js).
export default ({ argType, events }) => {
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
        (events() && (v instanceof events().EventTarget || v instanceof events().Event))) {
      throw cannot(v);
    }
    return props(keep({}));
  };
  const structuredClone = function structuredClone(value, options = undefined) {
    if (arguments.length === 0) throw argType("value", "specified", undefined);
    return copy(value, new Map(), [...(options?.transfer ?? [])]);
  };
  return { structuredClone };
};
