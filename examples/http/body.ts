/**
 * Reading a response body off a `StreamReader`: by `Content-Length`, chunked
 * (RFC 9112 §7.1, trailers included) or until the connection closes.
 *
 * @module
 */

import {
  IncompleteReadError,
  LimitOverrunError,
  type ReadOptions,
  type StreamReader,
} from "../../mod.ts";
import { HttpProtocolError, IncompleteBodyError } from "./errors.ts";
import { type Framing, headTooLarge, latin1, parseFields, quote, trimOws } from "./head.ts";

/** The most bytes one `next()` returns. */
const CHUNK = 64 * 1024;
const HEX = /^[0-9a-fA-F]{1,13}$/;

/** Limits on trailer fields. */
export interface BodyLimits {
  /** The most bytes of trailer fields. */
  maxHeadSize: number;
  /** The most trailer fields. */
  maxFields: number;
}

/**
 * The body of one response, read chunk by chunk. `next()` resolves to the
 * next bytes, or `null` after the last; errors are typed: an
 * {@linkcode IncompleteBodyError} when the connection ends early, an
 * {@linkcode HttpProtocolError} for bad chunked framing.
 */
export class BodyReader {
  readonly #reader: StreamReader;
  readonly #framing: Framing;
  readonly #url: string;
  readonly #limits: BodyLimits;
  /** Bytes left: of the body (length), of the current chunk (chunked). */
  #left: number;
  /** Chunked: the next read is a chunk-size line. */
  #atSize = true;
  #received = 0;
  #done: boolean;
  #trailers: [string, string][] = [];

  /**
   * Starts reading a body.
   *
   * @param reader The connection's reader, positioned after the head.
   * @param framing How the body is delimited.
   * @param url The request URL, for error messages.
   * @param limits Limits on trailer fields.
   */
  constructor(reader: StreamReader, framing: Framing, url: string, limits: BodyLimits) {
    this.#reader = reader;
    this.#framing = framing;
    this.#url = url;
    this.#limits = limits;
    this.#left = framing.kind === "length" ? framing.length : 0;
    this.#done = framing.kind === "none" || (framing.kind === "length" && framing.length === 0);
  }

  /** Whether the whole body was read. */
  get done(): boolean {
    return this.#done;
  }

  /** How many body bytes were read so far. */
  get received(): number {
    return this.#received;
  }

  /** The trailer fields of a chunked body (empty until it is read to the end). */
  get trailers(): readonly [string, string][] {
    return this.#trailers;
  }

  /**
   * Reads the next part of the body.
   *
   * @param options `signal` to cancel the wait.
   * @returns The next bytes, or `null` at the end of the body.
   */
  async next(options?: ReadOptions): Promise<Uint8Array | null> {
    if (this.#done) return null;
    switch (this.#framing.kind) {
      case "length":
        return await this.#nextLength(options);
      case "chunked":
        return await this.#nextChunked(options);
      default:
        return await this.#nextEof(options);
    }
  }

  /**
   * Reads the rest of the body into one array.
   *
   * @param options `signal` to cancel the waits.
   * @param eachWait Called around each wait for data (`arm` before,
   * `disarm` after); given, the body is read part by part even when its
   * length is known, so that each part is one wait.
   * @returns The remaining bytes.
   */
  async rest(
    options?: ReadOptions,
    eachWait?: { arm(): void; disarm(): void },
  ): Promise<Uint8Array> {
    if (this.#framing.kind === "length" && !this.#done && eachWait === undefined) {
      // One wait and one copy for the whole body.
      const n = this.#left;
      let bytes: Uint8Array;
      try {
        bytes = await this.#reader.readExactly(n, options);
      } catch (e) {
        if (e instanceof IncompleteReadError) {
          this.#received += e.partial.length;
          throw new IncompleteBodyError(this.#url, this.#received, this.#framing.length);
        }
        throw e;
      }
      this.#received += n;
      this.#left = 0;
      this.#done = true;
      return bytes;
    }
    const parts: Uint8Array[] = [];
    let total = 0;
    while (!this.#done) {
      eachWait?.arm();
      const part = await this.next(options);
      eachWait?.disarm();
      if (part === null) break;
      parts.push(part);
      total += part.length;
    }
    if (parts.length === 1) return parts[0];
    const all = new Uint8Array(total);
    let at = 0;
    for (const part of parts) {
      all.set(part, at);
      at += part.length;
    }
    return all;
  }

  async #nextLength(options: ReadOptions | undefined): Promise<Uint8Array | null> {
    const bytes = await this.#reader.read(this.#left < CHUNK ? this.#left : CHUNK, options);
    if (bytes.length === 0) {
      throw new IncompleteBodyError(
        this.#url,
        this.#received,
        (this.#framing as { length: number }).length,
      );
    }
    this.#received += bytes.length;
    this.#left -= bytes.length;
    if (this.#left === 0) this.#done = true;
    return bytes;
  }

  async #nextEof(options: ReadOptions | undefined): Promise<Uint8Array | null> {
    const bytes = await this.#reader.read(CHUNK, options);
    if (bytes.length === 0) {
      this.#done = true;
      return null;
    }
    this.#received += bytes.length;
    return bytes;
  }

  async #nextChunked(options: ReadOptions | undefined): Promise<Uint8Array | null> {
    if (this.#atSize) {
      const size = await this.#chunkSize(options);
      if (size === 0) {
        await this.#readTrailers(options);
        this.#done = true;
        return null;
      }
      this.#left = size;
      this.#atSize = false;
    }
    const bytes = await this.#reader.read(this.#left < CHUNK ? this.#left : CHUNK, options);
    if (bytes.length === 0) throw new IncompleteBodyError(this.#url, this.#received, null);
    this.#received += bytes.length;
    this.#left -= bytes.length;
    if (this.#left === 0) {
      await this.#chunkEnd(options);
      this.#atSize = true;
    }
    return bytes;
  }

  /** Reads a line of the chunked framing; the end of the stream is an incomplete body. */
  async #line(options: ReadOptions | undefined, what: string): Promise<string> {
    let bytes: Uint8Array;
    try {
      bytes = await this.#reader.readLine(options);
    } catch (e) {
      if (e instanceof LimitOverrunError) {
        if (what === "trailer") headTooLarge(this.#url, "trailer", this.#limits.maxHeadSize, e);
        throw new HttpProtocolError(
          `Invalid chunked body from ${this.#url}: the ${what} line is too long`,
          this.#url,
          { cause: e },
        );
      }
      throw e;
    }
    if (bytes.length === 0 || bytes[bytes.length - 1] !== 0x0a) {
      throw new IncompleteBodyError(this.#url, this.#received, null);
    }
    const end = bytes.length > 1 && bytes[bytes.length - 2] === 0x0d ? 2 : 1;
    return latin1(bytes.subarray(0, bytes.length - end));
  }

  async #chunkSize(options: ReadOptions | undefined): Promise<number> {
    const line = await this.#line(options, "chunk size");
    const semicolon = line.indexOf(";");
    const size = trimOws(semicolon < 0 ? line : line.slice(0, semicolon));
    if (!HEX.test(size)) {
      throw new HttpProtocolError(
        `Invalid chunked body from ${this.#url}: bad chunk size line ${quote(line)}`,
        this.#url,
      );
    }
    return parseInt(size, 16);
  }

  async #chunkEnd(options: ReadOptions | undefined): Promise<void> {
    const rest = await this.#line(options, "chunk end");
    if (rest !== "") {
      throw new HttpProtocolError(
        `Invalid chunked body from ${this.#url}: chunk data longer than its size ` +
          `(${quote(rest)} before the line end)`,
        this.#url,
      );
    }
  }

  async #readTrailers(options: ReadOptions | undefined): Promise<void> {
    const lines: string[] = [];
    let size = 0;
    const limit = this.#limits.maxHeadSize;
    for (;;) {
      const line = await this.#line(options, "trailer");
      if (line === "") break;
      size += line.length + 2;
      if (size > limit) headTooLarge(this.#url, "trailer", limit);
      lines.push(line);
    }
    this.#trailers = parseFields(lines, 0, this.#url, this.#limits.maxFields, "trailer");
  }
}
