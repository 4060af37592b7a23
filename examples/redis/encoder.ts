/**
 * `CommandEncoder`: turns a command (an array of arguments) into RESP bytes,
 * an array of bulk strings, written straight into one reusable buffer.
 *
 * @module
 */

import { describe } from "../_shared/mod.ts";
import { encodeText } from "./text.ts";
import type { RedisArg } from "./types.ts";

const CRLF_LENGTH = 2;

/**
 * Encodes commands as RESP arrays of bulk strings. Text is sent as UTF-8,
 * bytes as they are (binary safe), numbers in decimal. `encode` encodes one
 * command; `append` and `take` collect several in the one buffer, to be
 * written together.
 *
 * @example
 * ```ts
 * import { CommandEncoder } from "./encoder.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const bytes = new CommandEncoder().encode(["SET", "k", 1]);
 * assertEquals(new TextDecoder().decode(bytes), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\n1\r\n");
 * ```
 */
export class CommandEncoder {
  #buf = new Uint8Array(4096);
  #pos = 0;

  /**
   * Encodes one command.
   *
   * @param args The command name and its arguments.
   * @returns The bytes: a view of the encoder's buffer, valid until the next call.
   * @throws {TypeError} If `args` is empty or an argument is not text, bytes or a number.
   */
  encode(args: readonly RedisArg[]): Uint8Array {
    this.#pos = 0;
    this.append(args);
    return this.#buf.subarray(0, this.#pos);
  }

  /** How many bytes {@linkcode CommandEncoder.append} collected since the last `take`. */
  get length(): number {
    return this.#pos;
  }

  /**
   * Encodes one more command after those collected. A command that fails
   * the checks leaves nothing behind.
   *
   * @param args The command name and its arguments.
   * @throws {TypeError} If `args` is empty or an argument is not text, bytes or a number.
   */
  append(args: readonly RedisArg[]): void {
    const mark = this.#pos;
    try {
      this.#append(args);
    } catch (e) {
      this.#pos = mark;
      throw e;
    }
  }

  /**
   * Hands over the collected bytes and starts afresh. Up to 16 KiB they
   * are a view that the next `append` overwrites (copy it or use it now);
   * past that the buffer itself is handed over and a new one started.
   *
   * @returns The bytes collected.
   */
  take(): Uint8Array {
    const n = this.#pos;
    this.#pos = 0;
    const out = this.#buf.subarray(0, n);
    if (n >= 16 * 1024) this.#buf = new Uint8Array(Math.min(this.#buf.length, 64 * 1024));
    return out;
  }

  /**
   * Drops what was collected after `length` bytes (a batch that failed its checks).
   *
   * @param length A length {@linkcode CommandEncoder.length} had.
   */
  truncate(length: number): void {
    if (length < this.#pos) this.#pos = length;
  }

  #append(args: readonly RedisArg[]): void {
    if (args.length === 0) {
      throw new TypeError(
        "Cannot send a command: it must have at least a name: current value is []",
      );
    }
    this.#header(0x2a, args.length);
    for (let i = 0; i < args.length; i++) {
      const arg = args[i];
      if (typeof arg === "string") this.#string(arg);
      else if (arg instanceof Uint8Array) this.#bytes(arg);
      else if (typeof arg === "number" || typeof arg === "bigint") this.#string(String(arg));
      else {
        throw new TypeError(
          `Cannot send a command: argument ${i} must be a string, Uint8Array, number or bigint: current value is ${
            describe(arg)
          }`,
        );
      }
    }
  }

  #room(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#pos + n) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.#buf.subarray(0, this.#pos));
    this.#buf = grown;
  }

  /** `*N\r\n` or `$N\r\n`. */
  #header(type: number, n: number): void {
    this.#room(24);
    const buf = this.#buf;
    let pos = this.#pos;
    buf[pos++] = type;
    if (n < 10) {
      buf[pos++] = 48 + n;
    } else {
      const digits = String(n);
      for (let i = 0; i < digits.length; i++) buf[pos++] = digits.charCodeAt(i);
    }
    buf[pos++] = 13;
    buf[pos++] = 10;
    this.#pos = pos;
  }

  #string(s: string): void {
    const n = s.length;
    if (n > 1024) return this.#bytes(encodeText(s));
    const mark = this.#pos;
    this.#header(0x24, n);
    this.#room(n + CRLF_LENGTH);
    const buf = this.#buf;
    let pos = this.#pos;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        this.#pos = mark;
        return this.#bytes(encodeText(s));
      }
      buf[pos++] = c;
    }
    buf[pos++] = 13;
    buf[pos++] = 10;
    this.#pos = pos;
  }

  #bytes(bytes: Uint8Array): void {
    this.#header(0x24, bytes.length);
    this.#room(bytes.length + CRLF_LENGTH);
    this.#buf.set(bytes, this.#pos);
    this.#pos += bytes.length;
    this.#buf[this.#pos++] = 13;
    this.#buf[this.#pos++] = 10;
  }
}
