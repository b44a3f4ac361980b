// URL and URLSearchParams, made the first time a spell reaches for one of
// them (see prelude.js).
export default ({ argType, host }) => {
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
  return { URL, URLSearchParams };

};
