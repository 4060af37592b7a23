/**
 * `StreamReader`: a buffered byte reader over a socket, a `ReadableStream`
 * or data fed by hand, like asyncio's `StreamReader`.
 *
 * @module
 */

import { abortReason, Pending } from "../core/cancellation.ts";
import { IncompleteReadError, InvalidStateError, LimitOverrunError } from "../core/errors.ts";
import { describe } from "../core/_describe.ts";
import { findByte, toSeparators } from "./_byte_search.ts";
import { checkLimit } from "../core/_check.ts";
import { openSource, type ReaderSource } from "./_reader_source.ts";
import { byteLines, decodeAt, lineError, readLine, stringLines } from "./_lines.ts";

// `isLocalClose` belongs to the sources; the net layer reaches it from here.
export { isLocalClose } from "./_reader_source.ts";

/**
 * Anything with a Deno-style `read(p)`: fills `p` from its start and resolves
 * to the number of bytes written, or `null` at the end of the stream.
 * `Deno.Conn`, `Deno.TlsConn`, `Deno.UnixConn` and `Deno.FsFile` qualify.
 */
export interface Reader {
  /**
   * Reads up to `p.length` bytes into `p`.
   *
   * @param p The buffer to fill.
   * @returns The number of bytes read, or `null` at the end of the stream.
   */
  read(p: Uint8Array): Promise<number | null>;
}

/** What a {@linkcode StreamReader} reads from. */
export type StreamReaderSource = ReadableStream<Uint8Array> | Reader;

/** Options for the {@linkcode StreamReader} constructor. */
export interface StreamReaderOptions {
  /**
   * The most bytes `readLine` and `readUntil` look through for a separator
   * before failing with a {@linkcode LimitOverrunError}. Default 64 KiB.
   */
  limit?: number;
}

/** Options every {@linkcode StreamReader} read accepts. */
export interface ReadOptions {
  /**
   * Aborting it rejects a waiting read with the signal's reason; the bytes
   * stay in the reader's buffer.
   */
  signal?: AbortSignal;
}

/**
 * What `readUntil` stops at: bytes, a string (encoded as UTF-8), or several
 * of them, in which case the shortest read ending with any of them wins.
 */
export type Separator = Uint8Array | string | readonly (Uint8Array | string)[];

const DEFAULT_LIMIT = 64 * 1024;
/**
 * The first read from a source asks for this much; it doubles while reads
 * fill it, and halves after reads that fill a quarter of it or less, down
 * to {@linkcode MIN_READ}. A read waiting on an idle connection holds a
 * buffer of this size, so it starts small. Internal.
 */
export const FIRST_READ = 512;
const MIN_READ = 512;
/** The largest read from a source. Internal. */
export const MAX_READ = 256 * 1024;
/** How many reads in a row must fill at most a quarter of the read size before it halves. */
const SHRINK_AFTER = 2;
/**
 * Small chunks are copied out in blocks of this size and handed out as
 * views: allocating one `ArrayBuffer` per line costs more than finding it.
 */
const BLOCK = 8 * 1024;
/** Buffers at least this long are searched a 32-bit word at a time. */
const WORD_SEARCH = 4 * 1024;
/** Chunks at least this long get an `ArrayBuffer` of their own. */
const OWN_COPY = BLOCK / 2;
/** A new block has room for this many chunks of the size that made it (at most `BLOCK`). */
const BLOCK_CHUNKS = 4;
const NL = 10;
const NL_BYTES = new Uint8Array([NL]);
const NL_SEPS = [NL_BYTES];

/** The empty buffer every reader starts with: nothing is allocated until data arrives. */
const NO_BYTES = new Uint8Array(0);
const NO_WORDS = new Uint32Array(0);

/** The smallest power of two (at least 64) that is >= n. */
function capacityFor(n: number): number {
  let c = 64;
  while (c < n) c *= 2;
  return c;
}

// Internal access to the reader, for its sources (`_reader_source.ts`) and
// its line readers (`_lines.ts`); set in the class's static block.

/** Makes room for one read from a conn and returns it: the bytes after the buffered ones. */
export let pullRoom: (reader: StreamReader) => Uint8Array;
/** `n` bytes were read into the room of length `room` (`null`: the source ended). */
export let pulled: (reader: StreamReader, n: number | null, room: number) => void;
/** A chunk was read from a stream, to copy in (`null`: the stream ended). */
export let pulledChunk: (reader: StreamReader, chunk: Uint8Array | null) => void;
/** A read from the source failed with `error`; `ends`: it ends the stream instead of failing it. */
export let pullFailed: (reader: StreamReader, error: unknown, ends: boolean) => void;
/** Replaces the reader's source with `open()`'s, unless a read is in flight (then throws). */
export let swapSource: (reader: StreamReader, open: () => ReaderSource) => void;
/** Whether the stream failed (reads reject with `reader.exception()`). */
export let isFailed: (reader: StreamReader) => boolean;
/** The stream position of the first unread byte: how many bytes were consumed. */
export let positionOf: (reader: StreamReader) => number;
/** Consumes `n` buffered bytes; returns the new stream position. */
export let consume: (reader: StreamReader, n: number) => number;
/** Fills `view` with where the unread bytes are, and returns it. */
export let unreadOf: (reader: StreamReader, view: Unread) => Unread;
/** One search for a line in the buffer, as `readUntil("\n")` would make it. */
export let findLine: (reader: StreamReader) => Uint8Array<ArrayBuffer> | null;
/** `readLine`'s wait for a whole line, with asyncio's readline rules on a failed search. */
export let waitForLine: (
  reader: StreamReader,
  signal: AbortSignal | undefined,
) => Promise<Uint8Array<ArrayBuffer>>;
/** What waits for a line on behalf of the line iterator. Internal. */
export interface LineSink {
  /** The iterator's result for a line a wait brought (an empty one ends the iteration). */
  result(line: Uint8Array<ArrayBuffer>): IteratorResult<Uint8Array<ArrayBuffer>>;
  /** Ends the iteration if `error` ends it (anything but a cancellation). */
  stopOn(error: unknown): void;
}
/** Waits for a whole line for the line iterator `sink`: settles with its result. */
export let waitForLineResult: (
  reader: StreamReader,
  sink: LineSink,
) => Promise<IteratorResult<Uint8Array<ArrayBuffer>>>;
let dropWaiter: (reader: StreamReader, wait: ReadWait<unknown>) => void;
let untilAttempt: (
  reader: StreamReader,
  wait: UntilWait<unknown>,
) => Uint8Array<ArrayBuffer> | null;
let untilStart: (reader: StreamReader) => number;

/** Where a reader's unread bytes are: `buf[start, end)`, `words` a view of `buf`. Internal. */
export interface Unread {
  buf: Uint8Array;
  words: Uint32Array;
  start: number;
  end: number;
  /** The reader's `limit`. */
  limit: number;
}

/**
 * A read waiting for data: `attempt()` runs each time something arrives,
 * until it returns a result (`null`: wait on). Internal.
 */
export abstract class ReadWait<T> extends Pending<T> {
  readonly reader: StreamReader;

  constructor(reader: StreamReader) {
    super();
    this.reader = reader;
  }

  /** Tries to finish the read with what is buffered; `null` to wait on. May throw. */
  abstract attempt(): T | null;

  /** The promise of a read refused before it waited (another read waits). */
  refused(error: unknown): Promise<T> {
    return Promise.reject(error);
  }

  // A cancelled read consumes nothing: it only stops waiting.
  protected cancelled(): void {
    dropWaiter(this.reader, this as ReadWait<unknown>);
  }
}

/** A wait whose attempt is a function. */
class CallbackWait<T> extends ReadWait<T> {
  readonly #attempt: () => T | null;

  constructor(reader: StreamReader, attempt: () => T | null) {
    super(reader);
    this.#attempt = attempt;
  }

  attempt(): T | null {
    return this.#attempt();
  }
}

/**
 * A wait for a separator (`readUntil`, `readLine`), resuming its search where
 * the last one stopped; `found` makes the result of the chunk. Internal.
 */
export class UntilWait<T> extends ReadWait<T> {
  readonly seps: Uint8Array[];
  /** Where the next search starts, as a stream position (it survives other consumers). */
  from: number;

  constructor(reader: StreamReader, seps: Uint8Array[]) {
    super(reader);
    this.seps = seps;
    this.from = untilStart(reader);
  }

  attempt(): T | null {
    const chunk = untilAttempt(this.reader, this as UntilWait<unknown>);
    return chunk === null ? null : this.found(chunk);
  }

  /** The result of the read that took `chunk`. */
  protected found(chunk: Uint8Array<ArrayBuffer>): T {
    return chunk as T;
  }
}

/**
 * The wait of `readLine`: a failed search ends it by asyncio's readline
 * rules ({@linkcode lineError}: the partial last line is the result, an
 * over-long line is dropped and the error thrown).
 */
class ReadLineWait<T> extends UntilWait<T> {
  constructor(reader: StreamReader) {
    super(reader, NL_SEPS);
  }

  override fail(error: unknown): void {
    let value: T;
    try {
      value = this.found(lineError(this.reader, error));
    } catch (e) {
      this.failed(e);
      super.fail(e);
      return;
    }
    this.settle(value);
  }

  /** Told the error the read rejects with. */
  protected failed(_error: unknown): void {}
}

/**
 * The wait of the line iterator: it settles the iterator's `next()` itself,
 * with the iterator's result, and ends the iteration on an error as the
 * iterator does.
 */
class LineWait extends ReadLineWait<IteratorResult<Uint8Array<ArrayBuffer>>> {
  readonly #sink: LineSink;

  constructor(reader: StreamReader, sink: LineSink) {
    super(reader);
    this.#sink = sink;
  }

  protected override found(line: Uint8Array<ArrayBuffer>): IteratorResult<Uint8Array<ArrayBuffer>> {
    return this.#sink.result(line);
  }

  protected override failed(error: unknown): void {
    this.#sink.stopOn(error);
  }

  override refused(error: unknown): Promise<IteratorResult<Uint8Array<ArrayBuffer>>> {
    this.#sink.stopOn(error);
    return Promise.reject(error);
  }
}

/**
 * A buffered reader of bytes, like asyncio's `StreamReader`: `readLine`,
 * `readUntil`, `readExactly`, `read`, line iteration, with asyncio's `limit`
 * and error rules.
 *
 * The reader reads from its source only when a read needs more data, into
 * one reusable buffer. The source is a Deno conn (or anything with
 * `read(p)`), any `ReadableStream<Uint8Array>` (read with a BYOB reader when
 * it is a byte stream; its lock is released at its end), or nothing, in which
 * case data is fed by hand with {@linkcode StreamReader.feedData} and
 * {@linkcode StreamReader.feedEof}.
 *
 * Every read takes `{ signal }`, and a read that has to wait is also
 * cancelled when the task it runs in is: it then rejects with the signal's
 * reason (a `CancelledError` for a task) and consumes nothing. A read the
 * buffer can serve does not wait, so, as in asyncio, it completes even in a
 * cancelled task (an explicit signal that is already aborted still rejects
 * it). Only one read may wait at a time; a second one rejects with an
 * `InvalidStateError`, as asyncio raises `RuntimeError`.
 *
 * Returned chunks hold bytes that the reader never writes again, and never
 * share an `ArrayBuffer` with bytes the reader still holds. A read of 4 KiB
 * or more that takes everything buffered may get the very bytes the source
 * read into (no copy; the reader then lets go of that buffer). Chunks
 * shorter than 4 KiB are views into a block shared with the chunks read
 * just before and after them (like Node's `Buffer` pool): call
 * `chunk.slice()` before transferring `chunk.buffer`. The reader allocates
 * nothing until data arrives, reads in sizes that follow the traffic (512
 * bytes at first, up to 256 KiB), and lets go of what it no longer needs,
 * so an idle connection costs little.
 *
 * @example Reading lines from a socket
 * ```ts
 * import { StreamReader } from "@aio/asyncio";
 * import { assertEquals } from "@std/assert";
 *
 * using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * using server = await listener.accept();
 * await client.write(new TextEncoder().encode("HELLO\r\nWORLD\r\n"));
 * client.close();
 *
 * const reader = new StreamReader(server);
 * const lines: string[] = [];
 * for await (const line of reader.lines()) lines.push(line);
 * assertEquals(lines, ["HELLO", "WORLD"]);
 * ```
 *
 * @example Feeding data by hand
 * ```ts
 * import { StreamReader } from "@aio/asyncio";
 * import { assertEquals } from "@std/assert";
 *
 * const reader = new StreamReader();
 * reader.feedData(new TextEncoder().encode("12345"));
 * reader.feedEof();
 * assertEquals(await reader.readExactly(2), new Uint8Array([0x31, 0x32]));
 * assertEquals(await reader.text(), "345");
 * ```
 */
export class StreamReader {
  static {
    pullRoom = (reader) => reader.#pullRoom();
    pulled = (reader, n, room) => reader.#pulled(n, room);
    pulledChunk = (reader, chunk) => reader.#pulledChunk(chunk);
    pullFailed = (reader, error, ends) => reader.#pullFailed(error, ends);
    swapSource = (reader, open) => reader.#swapSource(open);
    isFailed = (reader) => reader.#failed;
    positionOf = (reader) => reader.#consumed;
    consume = (reader, n) => {
      reader.#discard(n);
      return reader.#consumed;
    };
    unreadOf = (reader, view) => {
      view.buf = reader.#buf;
      view.words = reader.#wordView();
      view.start = reader.#start;
      view.end = reader.#end;
      view.limit = reader.#limit;
      return view;
    };
    findLine = (reader) => reader.#tryByte(NL, 0);
    dropWaiter = (reader, wait) => {
      if (reader.#waiter === wait) reader.#waiter = null;
    };
    waitForLineResult = (reader, sink) =>
      reader.#waitWith("readLine", undefined, new LineWait(reader, sink));
    untilStart = (reader) => reader.#consumed + reader.#nextOffset;
    untilAttempt = (reader, wait) => {
      const consumed = reader.#consumed;
      const chunk = reader.#tryUntil(wait.seps, wait.from > consumed ? wait.from - consumed : 0);
      if (chunk === null) wait.from = reader.#consumed + reader.#nextOffset;
      return chunk;
    };
    waitForLine = (reader, signal) =>
      reader.#waitWith("readLine", signal, new ReadLineWait<Uint8Array<ArrayBuffer>>(reader));
  }

  readonly #limit: number;
  #buf: Uint8Array<ArrayBuffer> = NO_BYTES;
  #words: Uint32Array = NO_WORDS;
  /** Unread bytes are `#buf[#start, #end)`. */
  #start = 0;
  #end = 0;
  /** Stream position of `#buf[#start]`: how many bytes were consumed. */
  #consumed = 0;
  /**
   * The block small chunks are copied into: `#out[0, #outFill)` holds the
   * stream's bytes from position `#outPos` on; the rest is free.
   */
  #out: ArrayBuffer = NO_BYTES.buffer;
  #outPos = 0;
  #outFill = 0;
  /** Whether a block was used up: the next ones have room for a few chunks. */
  #outUsedUp = false;
  #eof = false;
  #failed = false;
  #exception: unknown = undefined;
  /** The one read waiting for data. */
  #waiter: ReadWait<unknown> | null = null;
  /** The last room handed to the source: `#roomOf[#roomAt...]`. */
  #room: Uint8Array = NO_BYTES;
  #roomOf: Uint8Array = NO_BYTES;
  #roomAt = 0;
  /** Whether a read from the source is in flight. */
  #pulling = false;
  #readSize = FIRST_READ;
  /** Reads in a row that filled at most a quarter of `#readSize`. */
  #smallReads = 0;
  /**
   * The size of buffer that fits what the last read brought, with room to
   * spare (0 after a read that filled its room: more may be coming).
   */
  #fit = 0;
  /** Where `readUntil` resumes after waiting, relative to `#start`. */
  #nextOffset = 0;
  /** What the reader reads from; `null` when data is fed by hand. */
  #source: ReaderSource | null = null;
  #readable: ReadableStream<Uint8Array> | undefined;

  /**
   * Creates a reader.
   *
   * @param source A Deno conn or any object with `read(p)`, a
   * `ReadableStream<Uint8Array>` (locked by the reader until its end), or
   * nothing to feed data by hand.
   * @param options `limit`: how far `readLine`/`readUntil` look for a
   * separator, default 64 KiB.
   * @throws {RangeError} If `limit` is not a positive integer.
   * @throws {TypeError} If `source` is none of the above, or a locked stream.
   *
   * @example
   * ```ts
   * import { StreamReader } from "@aio/asyncio";
   * import { assertEquals } from "@std/assert";
   *
   * const reader = new StreamReader(ReadableStream.from([new Uint8Array([1, 2, 3])]), {
   *   limit: 1024,
   * });
   * assertEquals(await reader.bytes(), new Uint8Array([1, 2, 3]));
   * ```
   */
  constructor(source?: StreamReaderSource, options?: StreamReaderOptions) {
    const limit = checkLimit(options?.limit ?? undefined, "create StreamReader") ?? DEFAULT_LIMIT;
    this.#limit = limit;
    if (source !== undefined && source !== null) {
      this.#source = openSource(source, "create StreamReader");
    }
  }

  #swapSource(open: () => ReaderSource): void {
    if (this.#pulling) {
      throw new InvalidStateError(
        "Cannot replace the source of a StreamReader while a read from it is in flight",
      );
    }
    const old = this.#source;
    this.#source = open();
    old?.release();
  }

  // ---------------------------------------------------------------- state

  /**
   * Whether the stream has ended and every byte was read: `feedEof` was
   * called (or the source ended) and the buffer is empty.
   *
   * @returns `true` when no read can return data any more.
   *
   * @example
   * ```ts
   * import { StreamReader } from "@aio/asyncio";
   * import { assert, assertFalse } from "@std/assert";
   *
   * const reader = new StreamReader();
   * reader.feedData(new Uint8Array([1]));
   * reader.feedEof();
   * assertFalse(reader.atEof());
   * await reader.read();
   * assert(reader.atEof());
   * ```
   */
  atEof(): boolean {
    return this.#eof && this.#start === this.#end;
  }

  /**
   * The error the stream failed with (a read error of the source, or one set
   * with {@linkcode StreamReader.setException}), or `undefined`.
   *
   * @returns The stream's error, if any.
   *
   * @example
   * ```ts
   * import { StreamReader } from "@aio/asyncio";
   * import { assertEquals } from "@std/assert";
   *
   * const reader = new StreamReader();
   * assertEquals(reader.exception(), undefined);
   * ```
   */
  exception(): unknown {
    return this.#exception;
  }

  /**
   * Fails the stream: the waiting read, if any, and every later read reject
   * with `error`, even if data is buffered (as in asyncio).
   *
   * @param error The error reads reject with.
   *
   * @example
   * ```ts
   * import { StreamReader } from "@aio/asyncio";
   * import { assertEquals, assertRejects } from "@std/assert";
   *
   * const reader = new StreamReader();
   * const pending = reader.readLine();
   * reader.setException(new Error("connection lost"));
   * await assertRejects(() => pending, Error, "connection lost");
   * assertEquals((reader.exception() as Error).message, "connection lost");
   * ```
   */
  setException(error: unknown): void {
    this.#failed = true;
    this.#exception = error;
    this.#wake();
  }

  /**
   * Appends bytes to a reader without a source (the bytes are copied).
   *
   * @param data The bytes; empty data is ignored.
   * @throws {TypeError} If `data` is not a `Uint8Array`.
   * @throws {InvalidStateError} After `feedEof`, or if the reader has a source.
   *
   * @example
   * ```ts
   * import { StreamReader } from "@aio/asyncio";
   * import { assertEquals } from "@std/assert";
   *
   * const reader = new StreamReader();
   * const line = reader.readLine();
   * reader.feedData(new TextEncoder().encode("hi\n"));
   * assertEquals(new TextDecoder().decode(await line), "hi\n");
   * ```
   */
  feedData(data: Uint8Array): void {
    if (!(data instanceof Uint8Array)) {
      throw new TypeError(
        `Cannot feed data: 'data' must be a Uint8Array: current value is ${describe(data)}`,
      );
    }
    if (this.#eof) throw new InvalidStateError("Cannot feed data: feedEof() was already called");
    if (this.#source !== null) {
      throw new InvalidStateError("Cannot feed data: the reader reads from a source");
    }
    if (data.length === 0) return;
    this.#append(data);
    this.#wake();
  }

  /**
   * Marks the end of the stream: reads return what is buffered, then end.
   * With a source, the reader stops reading from it (a `ReadableStream`'s
   * lock is released).
   *
   * @example
   * ```ts
   * import { StreamReader } from "@aio/asyncio";
   * import { assertEquals } from "@std/assert";
   *
   * const reader = new StreamReader();
   * const all = reader.read();
   * reader.feedData(new Uint8Array([7]));
   * reader.feedEof();
   * assertEquals(await all, new Uint8Array([7]));
   * ```
   */
  feedEof(): void {
    this.#eof = true;
    if (!this.#pulling) this.#source?.release();
    this.#wake();
  }

  // ---------------------------------------------------------------- reads

  /**
   * Reads up to `n` bytes: what is buffered if anything is, else waits for
   * the next data. With `n = -1` (the default), reads until the end of the
   * stream. An empty result means the end of the stream.
   *
   * @param n The most bytes to return, or -1 for everything until the end.
   * @param options `signal` to cancel the wait.
   * @returns The bytes read.
   * @throws {RangeError} (as a rejection) If `n` is not an integer >= -1.
   * @throws {InvalidStateError} (as a rejection) If another read is waiting.
   *
   * @example
   * ```ts
   * import { StreamReader } from "@aio/asyncio";
   * import { assertEquals } from "@std/assert";
   *
   * const reader = new StreamReader(ReadableStream.from([new Uint8Array([1, 2, 3])]));
   * assertEquals(await reader.read(2), new Uint8Array([1, 2]));
   * assertEquals(await reader.read(), new Uint8Array([3]));
   * assertEquals(await reader.read(), new Uint8Array());
   * ```
   */
  read(n: number = -1, options?: ReadOptions): Promise<Uint8Array<ArrayBuffer>> {
    if (!Number.isInteger(n) || n < -1) {
      return Promise.reject(
        new RangeError(
          `Cannot read: 'n' must be an integer >= -1: current value is ${describe(n)}`,
        ),
      );
    }
    const signal = options?.signal;
    if (signal !== undefined && signal.aborted) return Promise.reject(abortReason(signal));
    if (this.#failed) return Promise.reject(this.#exception);
    if (n === 0) return Promise.resolve(new Uint8Array(0));
    if (n === -1) return this.#readAll("read", signal).then(() => this.#takeOwn());
    const live = this.#end - this.#start;
    if (live > 0) return Promise.resolve(this.#take(n < live ? n : live));
    if (this.#eof) return Promise.resolve(new Uint8Array(0));
    return this.#readSome(n, signal);
  }

  #readSome(n: number, signal: AbortSignal | undefined): Promise<Uint8Array<ArrayBuffer>> {
    return this.#waitUntil("read", signal, () => {
      const live = this.#end - this.#start;
      if (live > 0) return this.#take(n < live ? n : live);
      return this.#eof ? new Uint8Array(0) : null;
    });
  }

  /**
   * Reads exactly `n` bytes.
   *
   * @param n How many bytes to read.
   * @param options `signal` to cancel the wait.
   * @returns The `n` bytes.
   * @throws {IncompleteReadError} (as a rejection) If the stream ends first;
   * its `partial` holds the bytes read (they are consumed).
   * @throws {RangeError} (as a rejection) If `n` is not an integer >= 0.
   * @throws {InvalidStateError} (as a rejection) If another read is waiting.
   *
   * @example Reading length-prefixed frames
   * ```ts
   * import { StreamReader } from "@aio/asyncio";
   * import { assertEquals } from "@std/assert";
   *
   * const reader = new StreamReader();
   * reader.feedData(new Uint8Array([0, 0, 0, 3, 97, 98, 99]));
   * const size = new DataView((await reader.readExactly(4)).slice().buffer).getUint32(0);
   * assertEquals(new TextDecoder().decode(await reader.readExactly(size)), "abc");
   * ```
   */
  readExactly(n: number, options?: ReadOptions): Promise<Uint8Array<ArrayBuffer>> {
    if (!Number.isInteger(n) || n < 0) {
      return Promise.reject(
        new RangeError(
          `Cannot read exactly: 'n' must be a non-negative integer: current value is ${
            describe(n)
          }`,
        ),
      );
    }
    const signal = options?.signal;
    if (signal !== undefined && signal.aborted) return Promise.reject(abortReason(signal));
    if (this.#failed) return Promise.reject(this.#exception);
    if (this.#end - this.#start >= n) return Promise.resolve(this.#take(n));
    if (this.#eof) {
      return Promise.reject(new IncompleteReadError(this.#take(this.#end - this.#start), n));
    }
    return this.#readExactlyWait(n, signal);
  }

  #readExactlyWait(n: number, signal: AbortSignal | undefined): Promise<Uint8Array<ArrayBuffer>> {
    return this.#waitUntil("readExactly", signal, () => {
      if (this.#end - this.#start >= n) return this.#take(n);
      if (this.#eof) throw new IncompleteReadError(this.#take(this.#end - this.#start), n);
      return null;
    });
  }

  /**
   * Reads one line, `\n` included. At the end of the stream returns the
   * unterminated rest, then an empty array.
   *
   * Over `limit` (asyncio's readline rules): if the `\n` is buffered, the
   * line is dropped up to and including it, otherwise the whole buffer is
   * dropped, then the {@linkcode LimitOverrunError} is thrown (asyncio
   * raises `ValueError` with the same message).
   *
   * @param options `signal` to cancel the wait.
   * @returns The line, or an empty array at the end of the stream.
   * @throws {LimitOverrunError} (as a rejection) If the line is longer than `limit`.
   * @throws {InvalidStateError} (as a rejection) If another read is waiting.
   *
   * @example
   * ```ts
   * import { StreamReader } from "@aio/asyncio";
   * import { assertEquals } from "@std/assert";
   *
   * const reader = new StreamReader(ReadableStream.from([new TextEncoder().encode("a\nb")]));
   * const decode = (b: Uint8Array) => new TextDecoder().decode(b);
   * assertEquals(decode(await reader.readLine()), "a\n");
   * assertEquals(decode(await reader.readLine()), "b");
   * assertEquals(decode(await reader.readLine()), "");
   * ```
   */
  readLine(options?: ReadOptions): Promise<Uint8Array<ArrayBuffer>> {
    return readLine(this, options?.signal);
  }

  /**
   * Reads up to and including a separator. With several separators, returns
   * the shortest read that ends with one of them (asyncio 3.13).
   *
   * @param separator Bytes, a string (UTF-8), or an array of them; default `"\n"`.
   * @param options `signal` to cancel the wait.
   * @returns The bytes read, separator included.
   * @throws {IncompleteReadError} (as a rejection) If the stream ends first;
   * `partial` holds everything that was buffered (it is consumed).
   * @throws {LimitOverrunError} (as a rejection) If no separator is found
   * within `limit` bytes; the data stays buffered.
   * @throws {TypeError} (as a rejection) If `separator` has the wrong type.
   * @throws {RangeError} (as a rejection) If a separator is empty.
   * @throws {InvalidStateError} (as a rejection) If another read is waiting.
   *
   * @example
   * ```ts
   * import { StreamReader } from "@aio/asyncio";
   * import { assertEquals } from "@std/assert";
   *
   * const reader = new StreamReader();
   * reader.feedData(new TextEncoder().encode("HEAD\r\n\r\nbody"));
   * const head = await reader.readUntil("\r\n\r\n");
   * assertEquals(new TextDecoder().decode(head), "HEAD\r\n\r\n");
   * ```
   */
  readUntil(
    separator: Separator = NL_BYTES,
    options?: ReadOptions,
  ): Promise<Uint8Array<ArrayBuffer>> {
    let seps: Uint8Array[];
    try {
      seps = toSeparators(separator);
    } catch (e) {
      return Promise.reject(e);
    }
    const signal = options?.signal;
    if (signal !== undefined && signal.aborted) return Promise.reject(abortReason(signal));
    if (this.#failed) return Promise.reject(this.#exception);
    let chunk: Uint8Array<ArrayBuffer> | null;
    try {
      chunk = this.#tryUntil(seps, 0);
    } catch (e) {
      return Promise.reject(e);
    }
    if (chunk !== null) return Promise.resolve(chunk);
    return this.#untilWait(seps, "readUntil", signal);
  }

  /** Waits for data until a separator, resuming the search where it stopped. */
  #untilWait(
    seps: Uint8Array[],
    name: string,
    signal: AbortSignal | undefined,
  ): Promise<Uint8Array<ArrayBuffer>> {
    return this.#waitWith(name, signal, new UntilWait<Uint8Array<ArrayBuffer>>(this, seps));
  }

  /**
   * One search for a separator from `offset` (relative to the unread data):
   * the chunk when found; `null` when more data is needed (`#nextOffset` says
   * where to resume). Throws asyncio's errors.
   */
  #tryUntil(seps: Uint8Array[], offset: number): Uint8Array<ArrayBuffer> | null {
    if (seps.length === 1 && seps[0].length === 1) return this.#tryByte(seps[0][0], offset);
    const start = this.#start;
    const live = this.#end - start;
    let minLength = Infinity;
    let maxLength = 0;
    for (const sep of seps) {
      if (sep.length < minLength) minLength = sep.length;
      if (sep.length > maxLength) maxLength = sep.length;
    }
    if (live - offset >= minLength) {
      let bestStart = -1;
      let bestEnd = Infinity;
      for (const sep of seps) {
        // Only a match that ends before the best one so far can win.
        const at = this.#find(sep, start + offset, Math.min(this.#end, bestEnd - 1));
        if (at >= 0 && at + sep.length < bestEnd) {
          bestStart = at;
          bestEnd = at + sep.length;
        }
      }
      if (bestStart >= 0) {
        const matchStart = bestStart - start;
        if (matchStart > this.#limit) {
          throw new LimitOverrunError(
            "Separator is found, but chunk is longer than limit",
            matchStart,
          );
        }
        return this.#take(bestEnd - start);
      }
      offset = Math.max(0, live + 1 - maxLength);
      if (offset > this.#limit) {
        throw new LimitOverrunError("Separator is not found, and chunk exceed the limit", offset);
      }
    }
    if (this.#eof) throw new IncompleteReadError(this.#take(live), null);
    this.#nextOffset = offset;
    return null;
  }

  /** `#tryUntil` for a one-byte separator: the hot path of `readLine`. */
  #tryByte(byte: number, offset: number): Uint8Array<ArrayBuffer> | null {
    const start = this.#start;
    const end = this.#end;
    if (end - start > offset) {
      const i = findByte(this.#buf, this.#wordView(), byte, start + offset, end);
      if (i >= 0) {
        const at = i - start;
        if (at > this.#limit) {
          throw new LimitOverrunError("Separator is found, but chunk is longer than limit", at);
        }
        return this.#take(at + 1);
      }
      offset = end - start;
      if (offset > this.#limit) {
        throw new LimitOverrunError("Separator is not found, and chunk exceed the limit", offset);
      }
    }
    if (this.#eof) throw new IncompleteReadError(this.#take(end - start), null);
    this.#nextOffset = offset;
    return null;
  }

  /** The buffer index of `sep` in `buf[from, stop)`, or -1. */
  #find(sep: Uint8Array, from: number, stop: number): number {
    const buf = this.#buf;
    const first = sep[0];
    const n = sep.length;
    const last = stop - n + 1;
    while (from < last) {
      const i = findByte(buf, this.#wordView(), first, from, last);
      if (i < 0) return -1;
      let k = 1;
      while (k < n && buf[i + k] === sep[k]) k++;
      if (k === n) return i;
      from = i + 1;
    }
    return -1;
  }

  // ------------------------------------------------------ whole-stream reads

  /**
   * Reads everything until the end of the stream.
   *
   * @param options `signal` to cancel the wait (nothing is consumed then).
   * @returns All the remaining bytes, in an `ArrayBuffer` of their own.
   *
   * @example
   * ```ts
   * import { StreamReader } from "@aio/asyncio";
   * import { assertEquals } from "@std/assert";
   *
   * const reader = new StreamReader(ReadableStream.from([new Uint8Array([1]), new Uint8Array([2])]));
   * assertEquals(await reader.bytes(), new Uint8Array([1, 2]));
   * ```
   */
  bytes(options?: ReadOptions): Promise<Uint8Array<ArrayBuffer>> {
    const signal = options?.signal;
    if (signal !== undefined && signal.aborted) return Promise.reject(abortReason(signal));
    if (this.#failed) return Promise.reject(this.#exception);
    return this.#readAll("bytes", signal).then(() => this.#takeOwn());
  }

  /**
   * Reads everything until the end of the stream and decodes it as UTF-8
   * (invalid bytes become U+FFFD; a byte-order mark at the very start of the
   * stream is dropped, as `Response.text()` does).
   *
   * @param options `signal` to cancel the wait (nothing is consumed then).
   * @returns The remaining text.
   *
   * @example
   * ```ts
   * import { StreamReader } from "@aio/asyncio";
   * import { assertEquals } from "@std/assert";
   *
   * const bytes = new TextEncoder().encode("héllo");
   * const reader = new StreamReader(ReadableStream.from([bytes.subarray(0, 2), bytes.subarray(2)]));
   * assertEquals(await reader.text(), "héllo");
   * ```
   */
  text(options?: ReadOptions): Promise<string> {
    const signal = options?.signal;
    if (signal !== undefined && signal.aborted) return Promise.reject(abortReason(signal));
    if (this.#failed) return Promise.reject(this.#exception);
    return this.#readAll("text", signal).then(() => {
      const text = decodeAt(this.#consumed, this.#buf.subarray(this.#start, this.#end));
      this.#discard(this.#end - this.#start);
      return text;
    });
  }

  /** Waits (consuming nothing) until the source has ended. */
  async #readAll(name: string, signal: AbortSignal | undefined): Promise<void> {
    if (!this.#eof) await this.#waitUntil(name, signal, () => this.#eof || null);
  }

  // ---------------------------------------------------------- iteration

  /**
   * Iterates over the lines as bytes, `\n` included, until the end of the
   * stream, like `async for line in reader` in asyncio (the last line may lack
   * its `\n`). Lines over `limit` throw as in {@linkcode StreamReader.readLine}.
   *
   * @returns An async iterator of lines.
   *
   * @example
   * ```ts
   * import { StreamReader } from "@aio/asyncio";
   * import { assertEquals } from "@std/assert";
   *
   * const reader = new StreamReader(ReadableStream.from([new TextEncoder().encode("a\nb\n")]));
   * const lines: Uint8Array[] = [];
   * for await (const line of reader) lines.push(line);
   * assertEquals(lines.map((l) => new TextDecoder().decode(l)), ["a\n", "b\n"]);
   * ```
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<Uint8Array<ArrayBuffer>> {
    return byteLines(this);
  }

  /**
   * Iterates over the lines decoded as UTF-8, without their `\n` or `\r\n`,
   * until the end of the stream. Characters split across chunks decode
   * whole; invalid bytes become U+FFFD; a byte-order mark at the very start of
   * the stream is dropped. Breaking out of the loop consumes nothing beyond
   * the lines already yielded. Lines over `limit` throw as in
   * {@linkcode StreamReader.readLine}.
   *
   * @param options `signal` to cancel a wait for data.
   * @returns An async iterator of lines.
   *
   * @example Reading HTTP-style headers, then the body
   * ```ts
   * import { StreamReader } from "@aio/asyncio";
   * import { assertEquals } from "@std/assert";
   *
   * const reader = new StreamReader();
   * reader.feedData(new TextEncoder().encode("A: 1\r\nB: 2\r\n\r\nbody"));
   * reader.feedEof();
   * const headers: string[] = [];
   * for await (const line of reader.lines()) {
   *   if (line === "") break;
   *   headers.push(line);
   * }
   * assertEquals(headers, ["A: 1", "B: 2"]);
   * assertEquals(await reader.text(), "body");
   * ```
   */
  lines(options?: ReadOptions): AsyncIterableIterator<string> {
    return stringLines(this, options);
  }

  /**
   * A `ReadableStream` of the bytes not yet read (a byte stream: BYOB
   * readers are served without an extra copy). Created on first access; only
   * one exists per reader. Cancelling it cancels a `ReadableStream` source.
   *
   * @returns The stream of the remaining bytes.
   *
   * @example
   * ```ts
   * import { StreamReader } from "@aio/asyncio";
   * import { assertEquals } from "@std/assert";
   *
   * const reader = new StreamReader();
   * reader.feedData(new TextEncoder().encode("head\nrest of the body"));
   * reader.feedEof();
   * await reader.readLine();
   * const rest = await new Response(reader.readable).text();
   * assertEquals(rest, "rest of the body");
   * ```
   */
  get readable(): ReadableStream<Uint8Array> {
    return this.#readable ??= this.#makeReadable();
  }

  #makeReadable(): ReadableStream<Uint8Array> {
    const stop = new AbortController();
    return new ReadableStream({
      type: "bytes",
      pull: async (controller) => {
        try {
          while (this.#start === this.#end && !this.#eof) {
            if (this.#failed) throw this.#exception;
            await this.#waitForData("readable", stop.signal);
          }
          if (this.#failed) throw this.#exception;
        } catch (e) {
          if (!stop.signal.aborted) controller.error(e);
          return;
        }
        const live = this.#end - this.#start;
        const request = controller.byobRequest;
        if (live === 0) {
          controller.close();
          request?.respond(0);
          return;
        }
        const view = request?.view;
        if (request && view) {
          const n = Math.min(view.byteLength, live);
          new Uint8Array(view.buffer, view.byteOffset, n).set(
            this.#buf.subarray(this.#start, this.#start + n),
          );
          this.#discard(n);
          request.respond(n);
        } else {
          controller.enqueue(this.#takeOwn());
        }
      },
      cancel: async (reason) => {
        stop.abort(reason);
        const cancelled = this.#source?.cancel(reason);
        if (cancelled) {
          this.#eof = true;
          await cancelled;
        }
      },
    }, { highWaterMark: 0 });
  }

  // ------------------------------------------------------- buffer and source

  /**
   * Consumes `n` buffered bytes and returns them as bytes the reader never
   * writes again. A take of 4 KiB or more that empties a buffer it fills at
   * least half of, with no read from the source in flight, gets the
   * buffer's own bytes (a view, no copy) and the reader lets go of that
   * buffer; a chunk never shares its `ArrayBuffer` with bytes the reader
   * still holds, so transferring it loses nothing. Other large takes get a
   * copy of their own. Smaller ones are copied into a block shared with the
   * chunks taken before and after them (`#out`): the reader keeps its read
   * buffer, and one allocation serves several chunks.
   */
  #take(n: number): Uint8Array<ArrayBuffer> {
    const start = this.#start;
    const end = start + n;
    this.#start = end;
    const position = this.#consumed;
    this.#consumed = position + n;
    const buf = this.#buf;
    if (n >= OWN_COPY) {
      if (end === this.#end && !this.#pulling && n * 2 >= buf.length) {
        this.#buf = this.#roomOf = this.#room = NO_BYTES;
        this.#words = NO_WORDS;
        this.#start = this.#end = 0;
        return new Uint8Array(buf.buffer, start, n);
      }
      return buf.slice(start, end);
    }
    if (n === 0) return new Uint8Array(0);
    let block = this.#out;
    let at = position - this.#outPos;
    // A detached block (its buffer transferred by a caller) has length 0.
    if (at < 0 || at + n > this.#outFill || this.#outFill > block.byteLength) {
      // Not copied yet: copy as much of what is buffered as the block holds,
      // into its free room if the bytes follow on, else into a new block.
      const live = this.#end - start;
      let fill = this.#outFill;
      if (at !== fill || fill + n > block.byteLength) {
        // The first block holds what is buffered; once one was used up (the
        // connection keeps reading small chunks), blocks have room for more.
        const want = this.#outUsedUp ? Math.max(live, n * BLOCK_CHUNKS) : live;
        block = this.#out = new ArrayBuffer(want < BLOCK ? want : BLOCK);
        this.#outPos = position;
        at = fill = 0;
      }
      const k = Math.min(live, block.byteLength - fill);
      new Uint8Array(block, fill, k).set(buf.subarray(start, start + k));
      this.#outFill = fill + k;
    }
    // A block used up is let go, so that an idle reader holds none.
    if (at + n === block.byteLength) {
      this.#out = NO_BYTES.buffer;
      this.#outFill = 0;
      this.#outUsedUp = true;
    }
    return new Uint8Array(block, at, n);
  }

  /** Consumes every buffered byte into an `ArrayBuffer` of their own. */
  #takeOwn(): Uint8Array<ArrayBuffer> {
    const out = this.#buf.slice(this.#start, this.#end);
    this.#discard(out.length);
    return out;
  }

  #discard(n: number): void {
    this.#start += n;
    this.#consumed += n;
  }

  /** The buffer as 32-bit words, for the byte search. */
  #wordView(): Uint32Array {
    const words = this.#words;
    if (words !== NO_WORDS) return words;
    const buf = this.#buf;
    // A small buffer is searched byte by byte: an idle connection's 512
    // bytes need no 100-byte view beside them.
    return buf.length < WORD_SEARCH
      ? words
      : this.#words = new Uint32Array(buf.buffer, 0, buf.length >> 2);
  }

  #setBuffer(buf: Uint8Array<ArrayBuffer>): void {
    this.#buf = buf;
    // Made when a search needs it: most buffers of a bulk reader are never searched.
    this.#words = NO_WORDS;
  }

  /**
   * Makes room for at least `min` more bytes after `#end`. Never called while
   * a read from a conn is in flight (it writes into the buffer). The rule:
   * an empty buffer rewinds to its start (and
   * is swapped for a smaller one if it is more than twice what is needed);
   * unread bytes move to the front only when at least as many bytes were
   * consumed before them, so each byte moves at most once per byte consumed;
   * otherwise the buffer doubles.
   */
  #makeRoom(min: number): void {
    const start = this.#start;
    const live = this.#end - start;
    const capacity = this.#buf.length;
    const want = Math.max(min, this.#readSize);
    if (live === 0) {
      if (capacity < min || capacity > 2 * capacityFor(want)) {
        this.#setBuffer(new Uint8Array(capacityFor(want)));
      }
    } else if (capacity - this.#end >= min) {
      return;
    } else if (start >= live && live + min <= capacity) {
      this.#buf.copyWithin(0, start, this.#end);
    } else {
      const grown = new Uint8Array(capacityFor(Math.max(capacity * 2, live + min)));
      grown.set(this.#buf.subarray(start, this.#end));
      this.#setBuffer(grown);
    }
    this.#start = 0;
    this.#end = live;
  }

  #append(data: Uint8Array): void {
    this.#makeRoom(data.length);
    this.#buf.set(data, this.#end);
    this.#end += data.length;
  }

  /**
   * Data, the end or an error arrived: the waiting read tries again, right
   * here, and settles or waits on.
   */
  #wake(): void {
    const wait = this.#waiter;
    if (wait === null) return;
    this.#waiter = null;
    let result: unknown;
    try {
      if (this.#failed) throw this.#exception;
      result = wait.attempt();
    } catch (e) {
      wait.fail(e);
      return;
    }
    if (result !== null) wait.settle(result);
    else this.#park(wait);
  }

  /**
   * The one wait of every read: each time data, the end or an error
   * arrives, calls `attempt` right there, until it returns a result (`null`:
   * wait again), which settles the read. A failed stream rejects with its
   * exception; so does an `attempt` that throws. The bytes an attempt takes
   * are taken as the wait settles, so a cancel that lands later finds the
   * read done (its bytes are the caller's), and one that lands before finds
   * them still buffered.
   */
  #waitUntil<T>(
    name: string,
    signal: AbortSignal | undefined,
    attempt: () => T | null,
  ): Promise<T> {
    return this.#waitWith(name, signal, new CallbackWait(this, attempt));
  }

  /** {@linkcode StreamReader.#waitUntil} with the wait made by the caller. */
  #waitWith<T>(name: string, signal: AbortSignal | undefined, wait: ReadWait<T>): Promise<T> {
    if (this.#waiter !== null) {
      return wait.refused(
        new InvalidStateError(
          `${name}() called while another read is already waiting for incoming data`,
        ),
      );
    }
    const promise = wait.begin(signal);
    if (wait.waiting) this.#park(wait as ReadWait<unknown>);
    return promise;
  }

  /** Waits with `wait` as the one waiter; starts a read from the source if none is in flight. */
  #park(wait: ReadWait<unknown>): void {
    this.#waiter = wait;
    if (!this.#pulling && !this.#eof && this.#source !== null) {
      this.#pulling = true;
      this.#source.pull(this);
    }
  }

  /** Resolves when data, the end or an error arrives. */
  #waitForData(name: string, signal: AbortSignal | undefined): Promise<true> {
    return this.#waitUntil(name, signal, () => true);
  }

  // ------------------------------------------------- what the source reports

  #pullRoom(): Uint8Array {
    const fit = this.#fit;
    if (this.#buf.length === 0 && fit > 0 && fit < this.#readSize) {
      // The last buffer went out whole with the bytes it held (see #take):
      // the next one is sized to what the source brought last time, so that
      // a 64 KiB message costs a 72 KiB buffer, not the read size's 128 KiB.
      this.#setBuffer(new Uint8Array(fit));
      return this.#buf;
    }
    this.#makeRoom(this.#readSize);
    // A connection that reads into the same room each time (every byte
    // consumed before the next read) reuses the view of it.
    const buf = this.#buf;
    const end = this.#end;
    if (this.#roomOf !== buf || this.#roomAt !== end) {
      this.#roomOf = buf;
      this.#roomAt = end;
      this.#room = buf.subarray(end);
    }
    return this.#room;
  }

  #pulled(n: number | null, room: number): void {
    this.#pulling = false;
    if (n === null) {
      this.#eof = true;
      this.#source?.release();
    } else if (n > 0) {
      this.#end += n;
      this.#adaptReadSize(n, room);
    }
    this.#wake();
  }

  #pulledChunk(chunk: Uint8Array | null): void {
    this.#pulling = false;
    if (chunk === null) this.#eof = true;
    else if (chunk.length > 0) this.#append(chunk);
    if (this.#eof || this.#failed) this.#source?.release();
    this.#wake();
  }

  #pullFailed(error: unknown, ends: boolean): void {
    this.#pulling = false;
    if (!this.#eof && !this.#failed) {
      if (ends) {
        this.#eof = true;
      } else {
        this.#failed = true;
        this.#exception = error;
      }
    }
    this.#source?.release();
    this.#wake();
  }

  /** Doubles the read size after a read that filled its room, halves it after small ones. */
  #adaptReadSize(n: number, room: number): void {
    const size = this.#readSize;
    // An eighth more than this read, in whole 512-byte steps.
    this.#fit = n === room ? 0 : ((n + (n >> 3)) | (MIN_READ - 1)) + 1;
    if (n === room) {
      this.#smallReads = 0;
      if (size < MAX_READ && room >= size) this.#readSize = size * 2;
    } else if (n * 4 <= size && size > MIN_READ) {
      if (++this.#smallReads >= SHRINK_AFTER) {
        this.#smallReads = 0;
        this.#readSize = size / 2;
      }
    } else {
      this.#smallReads = 0;
    }
  }
}
