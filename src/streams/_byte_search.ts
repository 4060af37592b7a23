/**
 * The reader's byte search: finding one byte four at a time, and turning a
 * `readUntil` separator argument into byte strings. Internal.
 *
 * @module
 */

import { describe } from "../core/_describe.ts";
import type { Separator } from "./stream_reader.ts";

const encoder = new TextEncoder();

/**
 * The index of the first `byte` in `buf[from, end)`, or -1. Tests four bytes
 * at a time through `words` (a view of the same memory) for a zero byte in
 * `word ^ pattern`; about three times faster than `Uint8Array#indexOf`. An
 * empty `words` (a small buffer) makes it `indexOf`.
 */
export function findByte(
  buf: Uint8Array,
  words: Uint32Array,
  byte: number,
  from: number,
  end: number,
): number {
  if (words.length === 0) {
    // A small buffer: no word view (see `StreamReader`), a native scan.
    const at = buf.indexOf(byte, from);
    return at >= 0 && at < end ? at : -1;
  }
  let i = from;
  while ((i & 3) !== 0) {
    if (i >= end) return -1;
    if (buf[i] === byte) return i;
    i++;
  }
  const pattern = Math.imul(byte, 0x01010101);
  const last = end >> 2;
  let j = i >> 2;
  for (; j < last; j++) {
    const x = words[j] ^ pattern;
    if (((x - 0x01010101) & ~x & 0x80808080) !== 0) break;
  }
  for (i = j << 2; i < end; i++) if (buf[i] === byte) return i;
  return -1;
}

/** The separators of a `readUntil` call as byte strings; throws a typed error for a bad one. */
export function toSeparators(separator: Separator): Uint8Array[] {
  const fail = () =>
    new TypeError(
      "Cannot read until separator: 'separator' must be a Uint8Array, a string or an array of " +
        `them: current value is ${describe(separator)}`,
    );
  const one = (s: unknown): Uint8Array => {
    const bytes = typeof s === "string" ? encoder.encode(s) : s;
    if (!(bytes instanceof Uint8Array)) throw fail();
    if (bytes.length === 0) {
      throw new RangeError(
        `Cannot read until separator: a separator must not be empty: current value is ${
          describe(s)
        }`,
      );
    }
    return bytes;
  };
  if (Array.isArray(separator)) {
    if (separator.length === 0) {
      throw new RangeError(
        "Cannot read until separator: 'separator' must hold at least one separator: current " +
          "value is []",
      );
    }
    return separator.map(one);
  }
  return [one(separator)];
}
