// TextEncoder and TextDecoder, made the first time a spell reaches for one
// of them (see prelude.js).
export default ({ argType, host }) => {
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
  return { TextEncoder, TextDecoder };

};
