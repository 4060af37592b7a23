/**
 * The line reading of a `StreamReader`: `readLine` with asyncio's rules over
 * `limit`, the byte-line iterator (`for await (const line of reader)`), the
 * string-line iterator `lines()` (UTF-8, `\n` or `\r\n`), and the decoders
 * they share with `text()`. Internal.
 *
 * @module
 */

import { abortReason } from "../core/cancellation.ts";
import { IncompleteReadError, InvalidStateError, LimitOverrunError } from "../core/errors.ts";
import { findByte } from "./_byte_search.ts";
import {
  consume,
  findLine,
  isFailed,
  type LineSink,
  positionOf,
  type ReadOptions,
  type StreamReader,
  type Unread,
  unreadOf,
  waitForLine,
  waitForLineResult,
} from "./stream_reader.ts";

const NL = 10;
const CR_CODE = 13;
/**
 * `lines()` decodes the whole lines found in up to this many buffered bytes
 * at once, then hands them out one by one.
 */
const DECODE_AHEAD = 8 * 1024;

/** Decodes bytes as they are: a byte-order mark inside the stream is kept. */
const rawDecoder = new TextDecoder("utf-8", { ignoreBOM: true });
/** Decodes the start of a stream: drops a leading byte-order mark. */
const startDecoder = new TextDecoder("utf-8");

const done: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/** A fresh view for `unreadOf` to fill. */
function view(): Unread {
  return { buf: new Uint8Array(0), words: new Uint32Array(0), start: 0, end: 0, limit: 0 };
}

/**
 * Decodes `bytes`, which start at stream position `position`, as UTF-8: a
 * byte-order mark at the very start of the stream is dropped, one further on
 * is kept; invalid bytes become U+FFFD.
 */
export function decodeAt(position: number, bytes: Uint8Array): string {
  return (position === 0 ? startDecoder : rawDecoder).decode(bytes);
}

/** `StreamReader.readLine`. */
export function readLine(
  reader: StreamReader,
  signal: AbortSignal | undefined,
): Promise<Uint8Array<ArrayBuffer>> {
  if (signal !== undefined && signal.aborted) return Promise.reject(abortReason(signal));
  if (isFailed(reader)) return Promise.reject(reader.exception());
  let line: Uint8Array<ArrayBuffer> | null;
  try {
    line = findLine(reader);
  } catch (e) {
    try {
      return Promise.resolve(lineError(reader, e));
    } catch (e) {
      return Promise.reject(e);
    }
  }
  if (line !== null) return Promise.resolve(line);
  return waitForLine(reader, signal);
}

/**
 * asyncio's readline on a failed readuntil: the partial line at the end of
 * the stream is the last line; over the limit, the line is dropped up to and
 * including its `\n` if it is buffered, else the whole buffer, and the error
 * is thrown.
 */
export function lineError(reader: StreamReader, e: unknown): Uint8Array<ArrayBuffer> {
  if (e instanceof IncompleteReadError) return e.partial as Uint8Array<ArrayBuffer>;
  if (e instanceof LimitOverrunError) {
    const { buf, start, end } = unreadOf(reader, view());
    const at = start + e.consumed;
    consume(reader, at < end && buf[at] === NL ? e.consumed + 1 : end - start);
  }
  throw e;
}

/**
 * Rejects an iterator's `next()` with `error`, ending the iteration unless
 * the error is a cancellation (after which the iterator may go on).
 */
function endIteration(reader: StreamReader, error: unknown, finish: () => void): Promise<never> {
  stopOn(reader, error, finish);
  return Promise.reject(error);
}

/** Ends the iteration through `finish` unless `error` is a cancellation. */
export function stopOn(reader: StreamReader, error: unknown, finish: () => void): void {
  if (
    error === reader.exception() || error instanceof LimitOverrunError ||
    error instanceof InvalidStateError
  ) finish();
}

/** An async iterator over `next`, which `return()` ends through `finish`. */
function iterator<T>(
  next: () => Promise<IteratorResult<T>>,
  finish: () => void,
): AsyncIterableIterator<T> {
  return {
    next,
    return(): Promise<IteratorResult<T>> {
      finish();
      return Promise.resolve(done);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

/** `StreamReader[Symbol.asyncIterator]`: the lines as bytes, `\n` included. */
export function byteLines(reader: StreamReader): AsyncIterableIterator<Uint8Array<ArrayBuffer>> {
  return new ByteLines(reader);
}

/**
 * The line iterator, one object for the whole iteration (a connection's
 * handler holds one for as long as it reads): no closures of its own.
 */
class ByteLines implements AsyncIterableIterator<Uint8Array<ArrayBuffer>>, LineSink {
  readonly #reader: StreamReader;
  #finished = false;

  constructor(reader: StreamReader) {
    this.#reader = reader;
  }

  next(): Promise<IteratorResult<Uint8Array<ArrayBuffer>>> {
    if (this.#finished) return Promise.resolve(done);
    const reader = this.#reader;
    if (isFailed(reader)) return this.#end(reader.exception());
    let line: Uint8Array<ArrayBuffer> | null;
    try {
      line = findLine(reader);
    } catch (e) {
      try {
        line = lineError(reader, e);
      } catch (e) {
        return this.#end(e);
      }
    }
    if (line === null) return waitForLineResult(reader, this);
    if (line.length > 0) return Promise.resolve({ done: false, value: line });
    this.#finished = true;
    return Promise.resolve(done);
  }

  return(): Promise<IteratorResult<Uint8Array<ArrayBuffer>>> {
    this.#finished = true;
    return Promise.resolve(done);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  result(line: Uint8Array<ArrayBuffer>): IteratorResult<Uint8Array<ArrayBuffer>> {
    if (line.length > 0) return { done: false, value: line };
    this.#finished = true;
    return done;
  }

  stopOn(error: unknown): void {
    stopOn(this.#reader, error, () => this.#finished = true);
  }

  #end(error: unknown): Promise<never> {
    this.stopOn(error);
    return Promise.reject(error);
  }
}

/** `StreamReader.lines`: the lines decoded as UTF-8, without `\n` or `\r\n`. */
export function stringLines(
  reader: StreamReader,
  options: ReadOptions | undefined,
): AsyncIterableIterator<string> {
  const signal = options?.signal;
  let finished = false;
  // Lines decoded ahead, whose bytes are still buffered: `text` from
  // index `at` holds the next lines, the first one starting at stream
  // position `position`. `ascii` when every byte decoded to one UTF-16
  // unit, so that a line's bytes are its length plus one.
  let text = "";
  let at = 1;
  let position = -1;
  let ascii = false;
  // Filled in place for each look at the buffer; it lives as long as the iterator.
  const unread = view();
  const finish = () => finished = true;
  const next = (): Promise<IteratorResult<string>> => {
    if (finished) return Promise.resolve(done);
    if (signal !== undefined && signal.aborted) return Promise.reject(abortReason(signal));
    if (isFailed(reader)) return endIteration(reader, reader.exception(), finish);
    if (at > text.length || position !== positionOf(reader)) {
      text = "";
      at = 1;
      const { buf, words, start, end, limit } = unreadOf(reader, unread);
      const windowEnd = Math.min(end, start + limit + 1);
      const first = findByte(buf, words, NL, start, windowEnd);
      if (first >= 0) {
        // Decode every whole line of the next block at once.
        let last = Math.max(first, Math.min(windowEnd, start + DECODE_AHEAD) - 1);
        while (last > first && buf[last] !== NL) last--;
        position = positionOf(reader);
        text = decodeAt(position, buf.subarray(start, last));
        at = 0;
        ascii = text.length === last - start;
      }
    }
    if (at <= text.length) {
      let nl = text.indexOf("\n", at);
      if (nl < 0) nl = text.length;
      const line = text.slice(at, text.charCodeAt(nl - 1) === CR_CODE && nl > at ? nl - 1 : nl);
      let n = nl - at + 1;
      if (!ascii) {
        const { buf, words, start, end } = unreadOf(reader, unread);
        n = findByte(buf, words, NL, start, end) - start + 1;
      }
      position = consume(reader, n);
      at = nl + 1;
      return Promise.resolve({ done: false, value: line });
    }
    return readLine(reader, signal).then((bytes) => {
      if (bytes.length === 0) {
        finished = true;
        return done;
      }
      const lineStart = positionOf(reader) - bytes.length;
      let n = bytes.length;
      if (bytes[n - 1] === NL) n -= bytes[n - 2] === CR_CODE ? 2 : 1;
      return { done: false, value: decodeAt(lineStart, bytes.subarray(0, n)) };
    }, (e) => endIteration(reader, e, finish));
  };
  return iterator(next, finish);
}
