/**
 * The sources of a `StreamReader`: one adapter for a Deno-style conn (reads
 * straight into the reader's buffer) and one for a `ReadableStream` (BYOB when
 * it is a byte stream), behind {@linkcode ReaderSource}. Internal.
 *
 * @module
 */

import { describe } from "../core/_describe.ts";
import {
  FIRST_READ,
  MAX_READ,
  pulled,
  pulledChunk,
  pullFailed,
  pullRoom,
  type Reader,
  type StreamReader,
  type StreamReaderSource,
  swapSource,
} from "./stream_reader.ts";

/**
 * Where a reader's bytes come from. The reader asks for one read at a time
 * (`pull`) and the source reports it with exactly one of `pulled`,
 * `pulledChunk` or `pullFailed`.
 */
export interface ReaderSource {
  /** Starts one read for `reader`. */
  pull(reader: StreamReader): void;
  /** Lets go of the source (a stream's lock); once is enough, more is a no-op. */
  release(): void;
  /**
   * Cancels the source on behalf of the reader's `readable`: a promise that
   * settles once it is cancelled and let go, or `null` when there is nothing
   * to cancel (a conn, or a stream already let go).
   */
  cancel(reason: unknown): Promise<void> | null;
}

/**
 * Whether `e` is what Deno throws at an operation on a resource this side
 * closed (rather than a failure of the connection). Internal to the stream
 * modules.
 *
 * @param e An error.
 * @returns `true` for `BadResource` and `Interrupted`.
 */
export function isLocalClose(e: unknown): boolean {
  return typeof Deno !== "undefined" &&
    (e instanceof Deno.errors.Interrupted || e instanceof Deno.errors.BadResource);
}

/** A conn: each read fills the room after the reader's buffered bytes. */
class ConnSource implements ReaderSource {
  readonly #conn: Reader;
  #reader: StreamReader | null = null;
  /** The size of the room the read in flight got. */
  #room = 0;
  // Made once: a read costs no closures of its own.
  readonly #done = (n: number | null) => pulled(this.#reader!, n, this.#room);
  // A conn closed on this side ends the stream, as asyncio's
  // connection_lost(None) does; any other error fails it.
  readonly #failed = (e: unknown) => pullFailed(this.#reader!, e, isLocalClose(e));

  constructor(conn: Reader) {
    this.#conn = conn;
  }

  pull(reader: StreamReader): void {
    this.#reader = reader;
    const room = pullRoom(reader);
    this.#room = room.length;
    let pending: Promise<number | null>;
    try {
      pending = this.#conn.read(room);
    } catch (e) {
      pending = Promise.reject(e);
    }
    pending.then(this.#done, this.#failed);
  }

  release(): void {}

  cancel(): null {
    return null;
  }
}

/** A `ReadableStream`, locked until the reader lets go of it. */
class StreamSource implements ReaderSource {
  #reader: ReadableStreamDefaultReader<Uint8Array> | ReadableStreamBYOBReader | null;
  /** The buffer of the next BYOB read; `null` for a default reader. */
  #scratch: ArrayBuffer | null;

  constructor(
    reader: ReadableStreamDefaultReader<Uint8Array> | ReadableStreamBYOBReader,
    byob: boolean,
  ) {
    this.#reader = reader;
    this.#scratch = byob ? new ArrayBuffer(FIRST_READ) : null;
  }

  pull(reader: StreamReader): void {
    const stream = this.#reader!;
    const finish = (result: ReadableStreamReadResult<Uint8Array>) => {
      const chunk = result.value;
      if (result.done) {
        pulledChunk(reader, null);
      } else if (chunk instanceof Uint8Array) {
        pulledChunk(reader, chunk);
      } else {
        const error = new TypeError(
          `Cannot read from the ReadableStream: chunks must be Uint8Array: current value is ${
            describe(chunk)
          }`,
        );
        stream.cancel(error).catch(() => {});
        pullFailed(reader, error, false);
      }
    };
    const failed = (e: unknown) => pullFailed(reader, e, false);
    const scratch = this.#scratch;
    if (scratch !== null) {
      (stream as ReadableStreamBYOBReader).read(new Uint8Array(scratch)).then((result) => {
        // The next read gets a buffer twice as large after one that filled it.
        const view = result.value;
        if (view) {
          this.#scratch = view.length === view.buffer.byteLength && view.length < MAX_READ
            ? new ArrayBuffer(view.length * 2)
            : view.buffer as ArrayBuffer;
        } else {
          this.#scratch = new ArrayBuffer(scratch.byteLength);
        }
        finish(result);
      }, failed);
    } else {
      (stream as ReadableStreamDefaultReader<Uint8Array>).read().then(finish, failed);
    }
  }

  release(): void {
    const stream = this.#reader;
    if (stream !== null) {
      this.#reader = null;
      stream.releaseLock();
    }
  }

  cancel(reason: unknown): Promise<void> | null {
    const stream = this.#reader;
    if (stream === null) return null;
    this.#reader = null;
    return stream.cancel(reason).then(() => stream.releaseLock());
  }
}

/**
 * The adapter for `source`, locking it if it is a stream.
 *
 * @param source What a reader was given to read from.
 * @param what What was being done, for the message: "create StreamReader".
 * @returns The source's adapter.
 * @throws {TypeError} If `source` is neither a `ReadableStream` nor an object
 * with `read(p)`, or is a locked stream.
 */
export function openSource(source: StreamReaderSource, what: string): ReaderSource {
  if (source instanceof ReadableStream) {
    try {
      return new StreamSource(source.getReader({ mode: "byob" }), true);
    } catch (e) {
      if (source.locked) {
        throw new TypeError(`Cannot ${what}: the ReadableStream is locked`, { cause: e });
      }
      return new StreamSource(source.getReader(), false);
    }
  }
  if (typeof (source as Reader | null)?.read === "function") {
    return new ConnSource(source as Reader);
  }
  throw new TypeError(
    `Cannot ${what}: 'source' must be a ReadableStream, an object with a read(p) method, ` +
      `or undefined: current value is ${describe(source)}`,
  );
}

/**
 * Swaps the source of `reader` for `source`, keeping every byte already
 * buffered: for upgrading a connection to TLS in place (`startTls`). A
 * `ReadableStream` source that is replaced has its lock released.
 *
 * @param reader The reader whose source changes.
 * @param source The new source, e.g. the `Deno.TlsConn` from `Deno.startTls`.
 * @throws {InvalidStateError} If a read from the current source is in flight.
 * @throws {TypeError} If `source` is not a source a reader accepts.
 */
export function replaceReaderSource(reader: StreamReader, source: StreamReaderSource): void {
  swapSource(reader, () => openSource(source, "replace the source of a StreamReader"));
}
