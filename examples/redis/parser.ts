/**
 * `RespParser`: reads RESP2 and RESP3 replies one at a time from a
 * `StreamReader` with `readLine` and `readExactly`, under limits on bulk
 * length and nesting depth.
 *
 * @module
 */

import { IncompleteReadError, LimitOverrunError, type StreamReader } from "../../mod.ts";
import { RedisConnectionError, RedisError, RedisLimitError, RedisProtocolError } from "./errors.ts";
import { decodeText } from "./text.ts";
import { RespPush, type RespValue, VerbatimString } from "./types.ts";

/** Limits of a {@linkcode RespParser}. */
export interface RespLimits {
  /** The longest bulk string (or verbatim string, or blob error) accepted, in bytes; default 512 MiB. */
  maxBulkLength?: number;
  /** The deepest nesting of aggregates (arrays, maps, sets, pushes); default 64. */
  maxDepth?: number;
}

/** Redis's own `proto-max-bulk-len` default. */
export const DEFAULT_MAX_BULK_LENGTH = 512 * 1024 * 1024;
/** The default for `maxDepth`. */
export const DEFAULT_MAX_DEPTH = 64;

const CR = 13;
const MINUS = 45;

/** A text for messages: printable ASCII as is, the rest escaped, cut at 40 bytes. */
function quoteBytes(bytes: Uint8Array): string {
  let s = "";
  const end = Math.min(bytes.length, 40);
  for (let i = 0; i < end; i++) {
    const b = bytes[i];
    s += b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c
      ? String.fromCharCode(b)
      : `\\x${b.toString(16).padStart(2, "0")}`;
  }
  return `"${s}${bytes.length > end ? "..." : ""}"`;
}

/**
 * Parses the decimal integer in `line[1, end)`.
 *
 * @returns A number, or a bigint when it is past 2^53.
 */
function parseInteger(line: Uint8Array, end: number): number | bigint {
  let i = 1;
  let negative = false;
  if (line[1] === MINUS) {
    negative = true;
    i = 2;
  }
  if (i >= end) throw badLine("an integer", line);
  if (end - i > 15) {
    const text = decodeText(line.subarray(1, end));
    if (!/^-?[0-9]+$/.test(text)) throw badLine("an integer", line);
    const big = BigInt(text);
    return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(big)
      : big;
  }
  let n = 0;
  for (; i < end; i++) {
    const d = line[i] - 48;
    if (d < 0 || d > 9) throw badLine("an integer", line);
    n = n * 10 + d;
  }
  return negative ? -n : n;
}

function badLine(what: string, line: Uint8Array): RedisProtocolError {
  return new RedisProtocolError(`Cannot parse reply: expected ${what}, got ${quoteBytes(line)}`);
}

/**
 * Reads RESP replies from a `StreamReader`, one per {@linkcode RespParser.read}.
 * Every RESP2 and RESP3 type is understood; attributes (`|`) are read and
 * dropped. Bulk strings are returned as `Uint8Array` views the reader no
 * longer uses, or decoded as UTF-8 when `read(true)` is called.
 *
 * Failures: the end of the stream between replies is a
 * {@linkcode RedisConnectionError}; within one, or bytes that are not
 * RESP, a {@linkcode RedisProtocolError}; a length or depth past a limit, or
 * a line longer than the reader's `limit`, a {@linkcode RedisLimitError},
 * thrown before anything is buffered for it. After any of them the stream
 * is out of step: close it.
 *
 * @example
 * ```ts
 * import { StreamReader } from "../../mod.ts";
 * import { RespParser } from "./parser.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const reader = new StreamReader();
 * reader.feedData(new TextEncoder().encode("*2\r\n$3\r\nfoo\r\n:42\r\n%1\r\n+a\r\n#t\r\n"));
 * const parser = new RespParser(reader);
 * assertEquals(await parser.read(true), ["foo", 42]);
 * assertEquals(await parser.read(), new Map([["a", true]]));
 * ```
 */
export class RespParser {
  readonly #reader: StreamReader;
  readonly #maxBulk: number;
  readonly #maxDepth: number;
  readonly #maxLine: number;

  /**
   * Creates a parser.
   *
   * @param reader Where the replies come from.
   * @param limits `maxBulkLength` and `maxDepth`.
   * @param maxLineLength The reader's `limit`, named in the error when a line is longer.
   * @throws {RangeError} If a limit is not a positive integer.
   */
  constructor(reader: StreamReader, limits: RespLimits = {}, maxLineLength = 64 * 1024) {
    this.#reader = reader;
    this.#maxBulk = checkLimit("maxBulkLength", limits.maxBulkLength, DEFAULT_MAX_BULK_LENGTH);
    this.#maxDepth = checkLimit("maxDepth", limits.maxDepth, DEFAULT_MAX_DEPTH);
    this.#maxLine = maxLineLength;
  }

  /**
   * Reads one whole reply. An error reply is returned as a
   * {@linkcode RedisError} value, not thrown.
   *
   * @param decode Return bulk strings as text (UTF-8) rather than bytes.
   * @returns The reply, or a {@linkcode RespPush} for a RESP3 push.
   * @throws {RedisConnectionError} (as a rejection) If the stream ends before the reply starts.
   * @throws {RedisProtocolError} (as a rejection) If the stream ends inside the reply, or it is not RESP.
   * @throws {RedisLimitError} (as a rejection) If the reply breaks a limit.
   */
  async read(decode = false): Promise<RespValue | RespPush> {
    // The common replies (a simple string, an integer, a bulk string) are
    // read here without a further async call (so the line is read here as
    // #line reads it): one or two awaits each.
    let line: Uint8Array;
    try {
      line = await this.#reader.readLine();
    } catch (e) {
      throw this.#readError(e);
    }
    this.#checkLine(line, true);
    const type = line[0];
    if (type === 0x24) {
      const length = this.#bulkLength(line, "bulk string");
      if (length === -1) return null;
      let data: Uint8Array;
      try {
        data = await this.#reader.readExactly(length + 2);
      } catch (e) {
        throw this.#readError(e, "bulk string", length);
      }
      const value = this.#bulkData(data, length, "bulk string");
      return decode ? decodeText(value) : value;
    }
    if (type === 0x2b) return decodeText(line.subarray(1, line.length - 2));
    if (type === 0x3a) return parseInteger(line, line.length - 2);
    return this.#value(line, 0, decode);
  }

  async #line(): Promise<Uint8Array> {
    let line: Uint8Array;
    try {
      line = await this.#reader.readLine();
    } catch (e) {
      throw this.#readError(e);
    }
    this.#checkLine(line, false);
    return line;
  }

  /** The error for a failed read: a line too long, or the end inside a bulk string. */
  #readError(e: unknown, what?: string, length?: number): unknown {
    if (e instanceof LimitOverrunError) {
      return new RedisLimitError("maxLineLength", this.#maxLine, "a line without an end");
    }
    if (e instanceof IncompleteReadError) {
      return new RedisProtocolError(
        `Cannot parse reply: the stream ended inside a ${what} of ${length} bytes, after ${e.partial.length}`,
      );
    }
    return e;
  }

  #checkLine(line: Uint8Array, first: boolean): void {
    const n = line.length;
    if (n >= 3 && line[n - 2] === CR) return;
    if (n === 0) {
      if (first) {
        throw new RedisConnectionError("Cannot read reply: the server closed the connection");
      }
      throw new RedisProtocolError("Cannot parse reply: the stream ended inside a reply");
    }
    if (line[n - 1] !== 10) {
      throw new RedisProtocolError(
        `Cannot parse reply: the stream ended inside a reply, after ${quoteBytes(line)}`,
      );
    }
    throw badLine("a line ending in CRLF", line);
  }

  /** The length in a `$`, `=` or `!` header: -1 for a null, else checked against the limit. */
  #bulkLength(line: Uint8Array, what: string): number {
    const length = parseInteger(line, line.length - 2);
    if (length === -1) return -1;
    if (typeof length !== "number" || length < 0) throw badLine(`a ${what} length`, line);
    if (length > this.#maxBulk) {
      throw new RedisLimitError("maxBulkLength", this.#maxBulk, `a ${what} of ${length} bytes`);
    }
    return length;
  }

  /** The bulk string in `data` (its `length` bytes and CRLF). */
  #bulkData(data: Uint8Array, length: number, what: string): Uint8Array {
    if (data[length] !== CR || data[length + 1] !== 10) {
      throw badLine(`CRLF after a ${what} of ${length} bytes`, data.subarray(length));
    }
    return data.subarray(0, length);
  }

  async #bulk(line: Uint8Array, what: string): Promise<Uint8Array | null> {
    const length = this.#bulkLength(line, what);
    if (length === -1) return null;
    let data: Uint8Array;
    try {
      data = await this.#reader.readExactly(length + 2);
    } catch (e) {
      throw this.#readError(e, what, length);
    }
    return this.#bulkData(data, length, what);
  }

  async #value(line: Uint8Array, depth: number, decode: boolean): Promise<RespValue | RespPush> {
    const end = line.length - 2;
    switch (line[0]) {
      case 0x24: { // $ bulk string
        const data = await this.#bulk(line, "bulk string");
        return data === null || !decode ? data : decodeText(data);
      }
      case 0x2b: // + simple string
        return decodeText(line.subarray(1, end));
      case 0x3a: // : integer
        return parseInteger(line, end);
      case 0x2d: // - error
        return new RedisError(decodeText(line.subarray(1, end)));
      case 0x2a: { // * array
        const count = this.#count(line, depth, "an array");
        if (count === -1) return null;
        const items: RespValue[] = [];
        for (let i = 0; i < count; i++) items.push(await this.#child(depth, decode));
        return items;
      }
      case 0x25: { // % map
        const count = this.#count(line, depth, "a map");
        const map = new Map<RespValue, RespValue>();
        for (let i = 0; i < count; i++) {
          const key = await this.#child(depth, decode);
          map.set(key, await this.#child(depth, decode));
        }
        return map;
      }
      case 0x7e: { // ~ set
        const count = this.#count(line, depth, "a set");
        const set = new Set<RespValue>();
        for (let i = 0; i < count; i++) set.add(await this.#child(depth, decode));
        return set;
      }
      case 0x3e: { // > push
        const count = this.#count(line, depth, "a push");
        if (count < 1) throw badLine("a push with a kind", line);
        const kind = await this.#child(depth, decode);
        const data: RespValue[] = [];
        for (let i = 1; i < count; i++) data.push(await this.#child(depth, decode));
        return new RespPush(typeof kind === "string" ? kind : decodeText(kind as Uint8Array), data);
      }
      case 0x5f: // _ null
        if (end !== 1) throw badLine("a null", line);
        return null;
      case 0x23: // # boolean
        if (end !== 2 || (line[1] !== 0x74 && line[1] !== 0x66)) throw badLine("a boolean", line);
        return line[1] === 0x74;
      case 0x2c: { // , double
        const text = decodeText(line.subarray(1, end));
        if (text === "inf") return Infinity;
        if (text === "-inf") return -Infinity;
        if (text === "nan" || text === "-nan") return NaN;
        const n = Number(text);
        if (text === "" || Number.isNaN(n)) throw badLine("a double", line);
        return n;
      }
      case 0x28: { // ( big number
        const text = decodeText(line.subarray(1, end));
        if (!/^[-+]?[0-9]+$/.test(text)) throw badLine("a big number", line);
        return BigInt(text);
      }
      case 0x3d: { // = verbatim string
        const data = await this.#bulk(line, "verbatim string");
        if (data === null) return null;
        if (data.length < 4 || data[3] !== 0x3a) throw badLine("a verbatim string", data);
        return new VerbatimString(decodeText(data.subarray(0, 3)), decodeText(data.subarray(4)));
      }
      case 0x21: { // ! blob error
        const data = await this.#bulk(line, "blob error");
        return new RedisError(data === null ? "ERR" : decodeText(data));
      }
      case 0x7c: { // | attribute: read and dropped; the value follows
        const count = this.#count(line, depth, "an attribute");
        for (let i = 0; i < 2 * count; i++) await this.#child(depth, decode);
        return this.#value(await this.#line(), depth, decode);
      }
      default:
        throw badLine("a RESP type byte", line);
    }
  }

  async #child(depth: number, decode: boolean): Promise<RespValue> {
    const value = await this.#value(await this.#line(), depth + 1, decode);
    if (value instanceof RespPush) {
      throw new RedisProtocolError("Cannot parse reply: a push message inside an aggregate");
    }
    return value;
  }

  /** The element count of an aggregate at `depth` (0 for a top-level reply). */
  #count(line: Uint8Array, depth: number, what: string): number {
    const count = parseInteger(line, line.length - 2);
    if (count === -1 && line[0] === 0x2a) return -1;
    if (typeof count !== "number" || count < 0) throw badLine(`${what} length`, line);
    if (depth + 1 > this.#maxDepth) {
      throw new RedisLimitError("maxDepth", this.#maxDepth, `${what} nested ${depth + 1} deep`);
    }
    return count;
  }
}

function checkLimit(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(
      `Cannot create RespParser: '${name}' must be a positive integer: current value is ${value}`,
    );
  }
  return value;
}
