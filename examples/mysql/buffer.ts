/**
 * Reading and writing the fields inside a MySQL packet's payload:
 * little-endian integers, length-encoded integers and strings,
 * NUL-terminated strings.
 *
 * @module
 */

import { MysqlProtocolError } from "./errors.ts";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** Character codes of the ASCII field being decoded (reused: decoding is synchronous). */
const codes: number[] = [];

/**
 * Decodes UTF-8 bytes; short ASCII runs are decoded by hand, which is
 * faster than `TextDecoder` for the many small fields of a result set.
 *
 * @param bytes The bytes.
 * @param start The first byte.
 * @param end The byte after the last.
 * @returns The text.
 */
export function utf8(bytes: Uint8Array, start: number, end: number): string {
  const n = end - start;
  if (n > 48) return decoder.decode(bytes.subarray(start, end));
  codes.length = n;
  for (let i = 0; i < n; i++) {
    const b = bytes[start + i];
    if (b >= 0x80) return decoder.decode(bytes.subarray(start, end));
    codes[i] = b;
  }
  return String.fromCharCode.apply(null, codes);
}

/**
 * The digest of the parts joined, e.g. `digest("SHA-1", scramble, hash)`.
 *
 * @param algorithm A WebCrypto digest name.
 * @param parts The bytes to hash, in order.
 * @returns The digest.
 *
 * @example
 * ```ts
 * import { digest } from "./buffer.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const a = new Uint8Array([1]), b = new Uint8Array([2]);
 * assertEquals(await digest("SHA-1", a, b), await digest("SHA-1", new Uint8Array([1, 2])));
 * ```
 */
export async function digest(algorithm: string, ...parts: Uint8Array[]): Promise<Uint8Array> {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return new Uint8Array(await crypto.subtle.digest(algorithm, all));
}

/**
 * A read position in a payload, with readers for the protocol's field
 * types. Reading past the end throws a {@linkcode MysqlProtocolError}.
 *
 * @example
 * ```ts
 * import { PacketCursor } from "./buffer.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const cursor = new PacketCursor(new Uint8Array([0xfc, 0x10, 0x27, 3, 97, 98, 99]));
 * assertEquals(cursor.lenencInt(), 10000);
 * assertEquals(cursor.lenencString(), "abc");
 * ```
 */
export class PacketCursor {
  /** The bytes holding the payload. */
  readonly bytes: Uint8Array;
  /** The position of the next byte to read. */
  pos: number;
  /** The position after the payload's last byte. */
  readonly end: number;

  /**
   * Creates a cursor.
   *
   * @param bytes The payload, or bytes holding it.
   * @param pos Where to start.
   * @param end Where the payload ends in `bytes`; default its length.
   */
  constructor(bytes: Uint8Array, pos = 0, end = bytes.length) {
    this.bytes = bytes;
    this.pos = pos;
    this.end = end;
  }

  /** How many bytes are left. */
  get remaining(): number {
    return this.end - this.pos;
  }

  /**
   * Checks that `n` more bytes are there.
   *
   * @param n The bytes needed.
   * @param what The field, for the message.
   */
  need(n: number, what: string): void {
    if (this.pos + n > this.end) {
      throw new MysqlProtocolError(
        `Cannot read ${what}: it needs ${n} bytes at offset ${this.pos}, ` +
          `but the packet ends at offset ${this.end}`,
      );
    }
  }

  /** Reads one byte. */
  u8(): number {
    this.need(1, "an integer");
    return this.bytes[this.pos++];
  }

  /** Reads a 2-byte integer. */
  u16(): number {
    this.need(2, "an integer");
    const b = this.bytes, p = this.pos;
    this.pos += 2;
    return b[p] | (b[p + 1] << 8);
  }

  /** Reads a 3-byte integer. */
  u24(): number {
    this.need(3, "an integer");
    const b = this.bytes, p = this.pos;
    this.pos += 3;
    return b[p] | (b[p + 1] << 8) | (b[p + 2] << 16);
  }

  /** Reads a 4-byte integer. */
  u32(): number {
    this.need(4, "an integer");
    const b = this.bytes, p = this.pos;
    this.pos += 4;
    return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16)) + b[p + 3] * 0x1000000;
  }

  /** Reads an 8-byte unsigned integer. */
  u64(): bigint {
    const low = this.u32();
    const high = this.u32();
    // Below 2^53 the value is exact as a number: one bigint made instead of three.
    if (high < 0x200000) return BigInt(high * 0x100000000 + low);
    return (BigInt(high) << 32n) | BigInt(low);
  }

  /** Reads an 8-byte signed integer. */
  i64(): bigint {
    const low = this.u32();
    const high = this.u32();
    if (high < 0x200000) return BigInt(high * 0x100000000 + low);
    // Above -2^53, negative: the high word is 0xffe00000 or more.
    if (high >= 0xffe00000) return BigInt((high - 0x100000000) * 0x100000000 + low);
    return BigInt.asIntN(64, (BigInt(high) << 32n) | BigInt(low));
  }

  /**
   * Reads a length-encoded integer; `null` for the NULL marker (0xFB).
   * Values above 2^53 - 1 cannot be lengths and are refused.
   */
  lenencIntOrNull(): number | null {
    const first = this.u8();
    if (first < 0xfb) return first;
    if (first === 0xfb) return null;
    if (first === 0xfc) return this.u16();
    if (first === 0xfd) return this.u24();
    if (first === 0xfe) {
      const value = this.u64();
      if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
        throw new MysqlProtocolError(
          `Cannot read a length: it must be at most 2^53 - 1: current value is ${value}`,
        );
      }
      return Number(value);
    }
    throw new MysqlProtocolError(
      `Cannot read a length-encoded integer: its first byte must not be 0xff: ` +
        `current value is 0xff at offset ${this.pos - 1}`,
    );
  }

  /** Reads a length-encoded integer; the NULL marker is a protocol error here. */
  lenencInt(): number {
    const value = this.lenencIntOrNull();
    if (value === null) {
      throw new MysqlProtocolError(
        `Cannot read a length-encoded integer: found the NULL marker at offset ${this.pos - 1}`,
      );
    }
    return value;
  }

  /** Reads `n` bytes (a view into the payload). */
  bytesN(n: number): Uint8Array {
    this.need(n, "a byte string");
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Reads a length-encoded byte string. */
  lenencBytes(): Uint8Array {
    return this.bytesN(this.lenencInt());
  }

  /** Reads a length-encoded UTF-8 string. */
  lenencString(): string {
    const n = this.lenencInt();
    this.need(n, "a string");
    const s = utf8(this.bytes, this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  /** Reads a NUL-terminated string (the rest of the payload if no NUL). */
  nulString(): string {
    let end = this.bytes.subarray(0, this.end).indexOf(0, this.pos);
    if (end < 0) end = this.end;
    const s = decoder.decode(this.bytes.subarray(this.pos, end));
    this.pos = Math.min(end + 1, this.end);
    return s;
  }

  /** Reads the rest of the payload as a UTF-8 string. */
  restString(): string {
    const s = decoder.decode(this.bytes.subarray(this.pos, this.end));
    this.pos = this.end;
    return s;
  }
}

/**
 * A growable payload, with writers for the protocol's field types.
 *
 * @example
 * ```ts
 * import { PacketBuilder } from "./buffer.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const payload = new PacketBuilder().u8(3).lenencString("hi").finish();
 * assertEquals(payload, new Uint8Array([3, 2, 104, 105]));
 * ```
 */
export class PacketBuilder {
  #buf: Uint8Array;
  #view: DataView;
  #len = 0;

  /**
   * Creates an empty payload.
   *
   * @param capacity The initial capacity in bytes.
   */
  constructor(capacity = 64) {
    this.#buf = new Uint8Array(capacity);
    this.#view = new DataView(this.#buf.buffer);
  }

  #room(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    const next = new Uint8Array(Math.max(this.#buf.length * 2, this.#len + n));
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  /** How many bytes were appended. */
  get length(): number {
    return this.#len;
  }

  /**
   * Empties the payload, keeping the buffer (when a view of it handed out
   * is no longer used).
   */
  reset(): this {
    this.#len = 0;
    return this;
  }

  /**
   * Sets one byte already appended (e.g. a bit of a bitmap).
   *
   * @param at Its offset.
   * @param v The byte.
   */
  setU8(at: number, v: number): void {
    this.#buf[at] = v;
  }

  /** Appends one byte. */
  u8(v: number): this {
    this.#room(1);
    this.#buf[this.#len++] = v;
    return this;
  }

  /** Appends a 2-byte integer. */
  u16(v: number): this {
    this.#room(2);
    this.#view.setUint16(this.#len, v, true);
    this.#len += 2;
    return this;
  }

  /** Appends a 4-byte integer. */
  u32(v: number): this {
    this.#room(4);
    this.#view.setUint32(this.#len, v, true);
    this.#len += 4;
    return this;
  }

  /** Appends an 8-byte integer (two's complement for negative values). */
  u64(v: bigint): this {
    this.#room(8);
    this.#view.setBigUint64(this.#len, BigInt.asUintN(64, v), true);
    this.#len += 8;
    return this;
  }

  /** Appends a safe integer as an 8-byte two's complement integer (no `bigint` made). */
  i64(v: number): this {
    this.#room(8);
    this.#view.setUint32(this.#len, v >>> 0, true);
    this.#view.setInt32(this.#len + 4, Math.floor(v / 0x100000000) | 0, true);
    this.#len += 8;
    return this;
  }

  /** Appends an 8-byte IEEE double. */
  f64(v: number): this {
    this.#room(8);
    this.#view.setFloat64(this.#len, v, true);
    this.#len += 8;
    return this;
  }

  /** Appends a length-encoded integer. */
  lenencInt(v: number): this {
    if (v < 0xfb) return this.u8(v);
    if (v <= 0xffff) return this.u8(0xfc).u16(v);
    if (v <= 0xffffff) return this.u8(0xfd).u16(v & 0xffff).u8(v >>> 16);
    return this.u8(0xfe).u64(BigInt(v));
  }

  /** Appends bytes. */
  bytes(b: Uint8Array): this {
    this.#room(b.length);
    this.#buf.set(b, this.#len);
    this.#len += b.length;
    return this;
  }

  /** Appends `n` zero bytes. */
  zeros(n: number): this {
    this.#room(n);
    this.#buf.fill(0, this.#len, this.#len + n);
    this.#len += n;
    return this;
  }

  /** Appends a length-encoded byte string. */
  lenencBytes(b: Uint8Array): this {
    return this.lenencInt(b.length).bytes(b);
  }

  /** Appends a length-encoded UTF-8 string. */
  lenencString(s: string): this {
    return this.lenencBytes(encoder.encode(s));
  }

  /** Appends a UTF-8 string and a NUL byte. */
  nulString(s: string): this {
    return this.bytes(encoder.encode(s)).u8(0);
  }

  /** Appends a UTF-8 string without terminator. */
  string(s: string): this {
    this.#room(s.length * 3);
    this.#len += encoder.encodeInto(s, this.#buf.subarray(this.#len)).written;
    return this;
  }

  /** The payload built (a view of the internal buffer). */
  finish(): Uint8Array {
    return this.#buf.subarray(0, this.#len);
  }
}
