/**
 * `StreamWriter`: a buffered byte writer over a socket or a `WritableStream`,
 * with asyncio's flow control (`drain` and write-buffer limits), half-close
 * and in-place TLS upgrade, like asyncio's `StreamWriter`.
 *
 * @module
 */

import { abortReason, cancellable, currentScope } from "../core/cancellation.ts";
import { InvalidStateError } from "../core/errors.ts";
import { isLocalClose, type StreamReader } from "./stream_reader.ts";
import { startTls } from "./_tls_upgrade.ts";
import { describe } from "../core/_describe.ts";
import { checkWaterMarks } from "../core/_check.ts";
import { Fifo } from "../core/_fifo.ts";
import { park, WaiterQueue } from "../core/_waiters.ts";
import { giveBuffer, takeBuffer } from "./_buffer_pool.ts";

/**
 * Anything with a Deno-style `write(p)` that writes some of `p` and resolves
 * to how many bytes it wrote. `Deno.Conn`, `Deno.TlsConn`, `Deno.UnixConn`
 * and `Deno.FsFile` qualify.
 *
 * @example A custom target
 * ```ts
 * import { StreamWriter, type Writer } from "@aio/asyncio";
 * import { assertEquals } from "@std/assert";
 *
 * const sent: number[] = [];
 * const target: Writer = {
 *   write: (p) => {
 *     sent.push(p.length);
 *     return Promise.resolve(p.length);
 *   },
 * };
 * const writer = new StreamWriter(target);
 * writer.write("many ");
 * writer.write("small ");
 * writer.write("writes");
 * writer.close();
 * await writer.waitClosed();
 * assertEquals(sent, [17]); // one write call
 * ```
 */
export interface Writer {
  /**
   * Writes up to `p.length` bytes from the start of `p`.
   *
   * @param p The bytes to write; not modified, and not kept after the promise settles.
   * @returns The number of bytes written.
   */
  write(p: Uint8Array): Promise<number>;
  /** Closes the connection; optional. */
  close?(): void | Promise<void>;
  /** Shuts down the write side (half-close); optional. */
  closeWrite?(): Promise<void>;
  /** The local address, for `getExtraInfo("sockname")`; optional. */
  readonly localAddr?: Deno.Addr;
  /** The remote address, for `getExtraInfo("peername")`; optional. */
  readonly remoteAddr?: Deno.Addr;
}

/** What a {@linkcode StreamWriter} writes to. */
export type StreamWriterTarget = WritableStream<Uint8Array> | Writer;

/**
 * The write-buffer limits of a {@linkcode StreamWriter}, in bytes, as in
 * asyncio's `set_write_buffer_limits`.
 */
export interface WriteBufferLimits {
  /**
   * Above this many buffered bytes, `drain()` waits. Default 64 KiB, or
   * `4 * low` when only `low` is given.
   */
  high?: number;
  /**
   * A waiting `drain()` resolves once the buffer is back to this many bytes
   * or fewer. Default `high / 4` (rounded down).
   */
  low?: number;
}

/** Options for the {@linkcode StreamWriter} constructor. */
export interface StreamWriterOptions {
  /**
   * The reader of the same connection: `drain()` rejects with its error, as
   * asyncio's does, and `startTls()` moves it onto the TLS connection.
   */
  reader?: StreamReader;
  /** The write-buffer limits; default 64 KiB high, 16 KiB low. */
  writeBufferLimits?: WriteBufferLimits;
}

/** Options for {@linkcode StreamWriter.drain} and {@linkcode StreamWriter.waitClosed}. */
export interface WriterWaitOptions {
  /** Aborting it rejects the wait with the signal's reason. */
  signal?: AbortSignal;
}

/** Options for {@linkcode StreamWriter.startTls}. */
export interface StartTlsOptions {
  /**
   * The server name to verify the certificate against (and to send as SNI).
   * Default: the host the connection was opened to, else the peer's address.
   */
  hostname?: string;
  /** Extra root certificates (PEM) to trust, e.g. a test or private CA. */
  caCerts?: string[];
  /** Application-Layer Protocol Negotiation protocols to offer. */
  alpnProtocols?: string[];
  /**
   * Aborting it cancels the handshake; the connection is then closed, since
   * a half-done handshake leaves it unusable.
   */
  signal?: AbortSignal;
}

/** The names {@linkcode StreamWriter.getExtraInfo} knows. */
export type ExtraInfoName = "peername" | "sockname" | "socket";

const DEFAULT_HIGH = 64 * 1024;
/** Writes shorter than this are copied into a shared buffer, so that many small writes make one syscall. */
const COPY_BELOW = 16 * 1024;
/**
 * The largest capacity of a buffer small writes are copied into. It starts
 * at {@linkcode FIRST_TAIL} and doubles (keeping its data) when a burst of
 * small writes overflows it before a flush: a connection that writes little
 * holds little, and a burst up to this size still goes out in one write.
 */
const TAIL_SIZE = 64 * 1024;
const FIRST_TAIL = 512;

const OPEN = 0;
/** `writeEof()` was called: no more writes; the write side shuts down once flushed. */
const EOF = 1;
/** `close()` was called: the connection closes once flushed. */
const CLOSING = 2;
const CLOSED = 3;

const EOF_NONE = 0;
const EOF_WANTED = 1;
const EOF_SENDING = 2;
const EOF_SENT = 3;

const encoder = new TextEncoder();

/** A {@linkcode Writer} over a `WritableStream`, which it locks. */
function streamTarget(stream: WritableStream<Uint8Array>): Writer {
  let writer: WritableStreamDefaultWriter<Uint8Array>;
  try {
    writer = stream.getWriter();
  } catch (e) {
    throw new TypeError("Cannot create StreamWriter: the WritableStream is locked", { cause: e });
  }
  let ended = false;
  return {
    write: (p) => writer.write(p).then(() => p.length),
    closeWrite: () => {
      ended = true;
      return writer.close();
    },
    close: () => {
      if (ended) return writer.closed.then(() => writer.releaseLock());
      ended = true;
      return writer.close().then(() => writer.releaseLock());
    },
  };
}

/** Internal access to private state, for connections and servers. */
let internals: {
  abort(writer: StreamWriter): void;
  setHostname(writer: StreamWriter, hostname: string): void;
};

// The writer's side of a TLS upgrade, for `_tls_upgrade.ts`; set in the
// class's static block.

/**
 * What an upgrade works on: the transport, the paired reader and the host the
 * connection was opened to. Refuses (throws) unless the writer is open, has
 * not failed and is not being upgraded already.
 */
export let upgradeTarget: (writer: StreamWriter) => {
  transport: StreamWriterTarget;
  reader: StreamReader | undefined;
  hostname: string | undefined;
};
/**
 * Starts the upgrade: writes made from now on wait for it, and this resolves
 * once what was buffered before went out in clear. If the wait is cancelled
 * or the writer fails or closes meanwhile, the upgrade is called off and this
 * rejects.
 */
export let flushBeforeUpgrade: (writer: StreamWriter, signal?: AbortSignal) => Promise<void>;
/** Ends the upgrade: over `tls` from now on, or (`null`) over the old conn as before. */
export let finishUpgrade: (writer: StreamWriter, tls: Deno.TlsConn | null) => void;
/** The handshake failed: the writer fails with `error` and closes `conn`. */
export let failUpgrade: (writer: StreamWriter, conn: Deno.Conn, error: unknown) => void;

/**
 * A buffered writer, like asyncio's `StreamWriter`: {@linkcode write} never
 * waits and never drops data; the bytes are written in order in the
 * background, and {@linkcode drain} is the flow-control point that waits
 * while more than the high-water mark (default 64 KiB) is buffered, until the
 * buffer is down to the low-water mark (default 16 KiB).
 *
 * Many small writes made together are copied into one buffer and sent with
 * one write call; chunks of 16 KiB and more are sent as they are, without a
 * copy, so do not modify a chunk after passing it to `write()` (the writer
 * keeps a reference until it is written, as Node's `socket.write` does).
 *
 * When writing fails (the peer reset the connection), the data still
 * buffered is dropped and the error is reported: the next `write()` throws
 * it, `drain()` and `waitClosed()` reject with it. `close()` releases the
 * connection; `await using` does both.
 *
 * The writer writes to a Deno conn (or anything with `write(p)`) or to any
 * `WritableStream<Uint8Array>` (which it locks).
 *
 * @example Writing to a peer with backpressure
 * ```ts
 * import { startServer, openConnection } from "@aio/asyncio";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = await startServer(async (reader, writer) => {
 *   for await (const line of reader) writer.write(line); // echo
 * }, { host: "127.0.0.1", port: 0 });
 *
 * await using conn = await openConnection("127.0.0.1", server.addr.port);
 * const [reader, writer] = conn;
 * writer.write("hello\n");
 * await writer.drain();
 * assertEquals(new TextDecoder().decode(await reader.readLine()), "hello\n");
 * ```
 *
 * @example Writing to a WritableStream
 * ```ts
 * import { StreamWriter } from "@aio/asyncio";
 * import { assertEquals } from "@std/assert";
 *
 * const chunks: Uint8Array[] = [];
 * const writer = new StreamWriter(new WritableStream({ write: (c) => void chunks.push(c) }));
 * writer.write("a");
 * writer.write("b");
 * writer.close();
 * await writer.waitClosed();
 * assertEquals(chunks.map((c) => new TextDecoder().decode(c)), ["ab"]);
 * ```
 */
export class StreamWriter implements AsyncDisposable {
  static {
    internals = {
      abort: (writer) => writer.#abort(),
      setHostname: (writer, hostname) => void (writer.#hostname = hostname),
    };
    upgradeTarget = (writer) => writer.#upgradeTarget();
    flushBeforeUpgrade = (writer, signal) => writer.#flushBeforeUpgrade(signal);
    finishUpgrade = (writer, tls) => writer.#finishUpgrade(tls);
    failUpgrade = (writer, conn, error) => writer.#failUpgrade(conn, error);
  }

  /** What the bytes are written to (a stream is wrapped). */
  #target: Writer;
  /** What was passed in (or the TLS conn after `startTls`), for `getExtraInfo("socket")`. */
  #transport: StreamWriterTarget;
  /** Whether buffers handed to `#target.write` may be reused once written. */
  #reuse: boolean;
  #reader: StreamReader | undefined;
  #hostname: string | undefined;
  #high: number;
  #low: number;

  /** Sealed chunks waiting to be written. */
  #queue: Fifo<Uint8Array> | null = null;
  /** The buffer small writes are copied into; logically after every queued chunk. */
  #tail: Uint8Array | null = null;
  #tailLength = 0;
  /** A written small-writes buffer kept for reuse until the buffer is empty. */
  #spare: Uint8Array | null = null;
  /** The capacity of the next tail: grows when small writes overflow one. */
  #tailSize = FIRST_TAIL;
  /** Bytes written by the caller and not yet by the target, in flight included. */
  #size = 0;
  #paused = false;
  /** A flush is scheduled or running. */
  #flushing = false;
  #upgrading = false;
  /** How many buffered bytes go out before the TLS handshake. */
  #clearLeft = 0;
  /** Called when a flush stops for an upgrade. */
  #upgradeIdle: (() => void) | null = null;

  #state = OPEN;
  #eof = EOF_NONE;
  /** `close()` took effect: the target's close was called. */
  get #closed(): boolean {
    return this.#state === CLOSED;
  }
  /** The target's close completed. */
  #finished = false;
  #failed = false;
  #error: unknown = undefined;
  /** Whether the caller was handed `#error` (by write, drain or waitClosed). */
  #errorSeen = false;

  #drainers: WaiterQueue<void> | null = null;
  /** Waiting for the buffer to be empty, or for the end of the writer. */
  #idlers: WaiterQueue<void> | null = null;
  #closers: WaiterQueue<void> | null = null;
  #writable: WritableStream<Uint8Array> | undefined;
  readonly #flush = () => void this.#run();

  /**
   * Creates a writer.
   *
   * @param target A Deno conn or any object with `write(p)`, or a
   * `WritableStream<Uint8Array>` (locked by the writer).
   * @param options `reader`: the reader of the same connection;
   * `writeBufferLimits`: the high- and low-water marks.
   * @throws {TypeError} If `target` is none of the above, or a locked stream.
   * @throws {RangeError} If the limits are not integers with `high >= low >= 0`.
   *
   * @example
   * ```ts
   * import { StreamReader, StreamWriter } from "@aio/asyncio";
   * import { assertEquals } from "@std/assert";
   *
   * using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
   * using client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
   * using server = await listener.accept();
   * const writer = new StreamWriter(client, { writeBufferLimits: { high: 1024 } });
   * writer.write("ping");
   * writer.writeEof();
   * assertEquals(await new StreamReader(server).text(), "ping");
   * ```
   */
  constructor(target: StreamWriterTarget, options?: StreamWriterOptions) {
    [this.#high, this.#low] = checkWaterMarks(
      options?.writeBufferLimits,
      "writeBufferLimits",
      "create StreamWriter",
      DEFAULT_HIGH,
    );
    if (target instanceof WritableStream) {
      this.#target = streamTarget(target);
      this.#reuse = false;
    } else if (typeof (target as Writer | null)?.write === "function") {
      this.#target = target as Writer;
      this.#reuse = true;
    } else {
      throw new TypeError(
        "Cannot create StreamWriter: 'target' must be a WritableStream or an object with a " +
          `write(p) method: current value is ${describe(target)}`,
      );
    }
    this.#transport = target;
    this.#reader = options?.reader;
  }

  // ---------------------------------------------------------------- writing

  /**
   * Buffers `data` to be written; never waits. Strings are encoded as UTF-8.
   * Call {@linkcode drain} to let the buffer empty out when it is large.
   *
   * @param data The bytes or text to write. A `Uint8Array` of 16 KiB or more
   * is kept by reference until written: do not modify it meanwhile.
   * @throws {TypeError} If `data` is neither a `Uint8Array` nor a string.
   * @throws {InvalidStateError} After `close()` or `writeEof()`.
   * @throws The connection's error, if writing already failed.
   *
   * @example
   * ```ts
   * import { StreamWriter } from "@aio/asyncio";
   * import { assertEquals } from "@std/assert";
   *
   * const chunks: string[] = [];
   * const writer = new StreamWriter(new WritableStream({
   *   write: (c) => void chunks.push(new TextDecoder().decode(c)),
   * }));
   * writer.write("GET / HTTP/1.1\r\n");
   * writer.write(new TextEncoder().encode("\r\n"));
   * await writer.drain();
   * writer.close();
   * await writer.waitClosed();
   * assertEquals(chunks.join(""), "GET / HTTP/1.1\r\n\r\n");
   * ```
   */
  write(data: Uint8Array | string): void {
    if (this.#state !== OPEN || this.#failed) this.#refuse("write");
    let n: number;
    if (typeof data === "string") {
      n = this.#writeString(data);
    } else if (data instanceof Uint8Array) {
      n = data.length;
      if (n === 0) return;
      if (n < COPY_BELOW) {
        let tail = this.#tail;
        if (tail === null || tail.length - this.#tailLength < n) tail = this.#roomFor(n);
        tail.set(data, this.#tailLength);
        this.#tailLength += n;
      } else {
        this.#seal();
        (this.#queue ??= new Fifo()).push(data);
      }
    } else {
      throw new TypeError(
        `Cannot write: 'data' must be a Uint8Array or a string: current value is ${describe(data)}`,
      );
    }
    this.#size += n;
    if (this.#size > this.#high) this.#paused = true;
    if (!this.#flushing) {
      this.#flushing = true;
      // A large chunk with nothing before it goes to the target at once:
      // there are no small writes to gather, and it spares a microtask.
      if (n >= COPY_BELOW && !this.#upgrading) void this.#run();
      else queueMicrotask(this.#flush);
    }
  }

  #writeString(s: string): number {
    if (s.length * 3 >= COPY_BELOW) {
      const bytes = encoder.encode(s);
      if (bytes.length > 0) {
        this.#seal();
        (this.#queue ??= new Fifo()).push(bytes);
      }
      return bytes.length;
    }
    let tail = this.#tail;
    if (tail !== null) {
      // A failed attempt leaves garbage past #tailLength, which is harmless.
      const { read, written } = encoder.encodeInto(s, tail.subarray(this.#tailLength));
      if (read === s.length) {
        this.#tailLength += written;
        return written;
      }
    }
    // At most 3 bytes per UTF-16 unit: the tail now holds the whole string.
    tail = this.#roomFor(s.length * 3);
    const { written } = encoder.encodeInto(s, tail.subarray(this.#tailLength));
    this.#tailLength += written;
    return written;
  }

  /**
   * A tail with room for `need` more bytes after `#tailLength`: the current
   * one grown (a burst before a flush, which still goes out in one write
   * while it fits in `TAIL_SIZE`), else a fresh one after the current one is
   * queued.
   */
  #roomFor(need: number): Uint8Array {
    const tail = this.#tail;
    const used = this.#tailLength;
    if (tail !== null && used > 0 && used + need <= TAIL_SIZE) {
      let size = tail.length * 2;
      while (size < used + need) size *= 2;
      const grown = takeBuffer(Math.min(size, TAIL_SIZE));
      grown.set(tail.subarray(0, used));
      // The old tail was never handed to the target: free now.
      if (this.#reuse) giveBuffer(tail as Uint8Array<ArrayBuffer>);
      this.#tail = grown;
      if (grown.length > this.#tailSize) this.#tailSize = grown.length;
      return grown;
    }
    this.#seal();
    const size = Math.max(this.#tailSize, need);
    let fresh = this.#spare;
    if (fresh === null || fresh.length < size) {
      fresh = takeBuffer(size);
    }
    this.#spare = null;
    this.#tail = fresh;
    return fresh;
  }

  /** Moves the tail's data to the queue, so that what comes next goes after it. */
  #seal(): void {
    if (this.#tailLength > 0) {
      (this.#queue ??= new Fifo()).push(this.#tail!.subarray(0, this.#tailLength));
      this.#tail = null;
      this.#tailLength = 0;
    }
  }

  #refuse(what: string): never {
    if (this.#failed) {
      this.#errorSeen = true;
      throw this.#error;
    }
    throw new InvalidStateError(
      `Cannot ${what}: the writer is ${
        this.#state === EOF ? "shut down for writing (writeEof() was called)" : "closed"
      }`,
    );
  }

  /**
   * Writes each chunk of `lines` in order, as {@linkcode write} does; no
   * separators are added (asyncio's `writelines`).
   *
   * @param lines Chunks of bytes or text.
   * @throws {TypeError} If `lines` is not iterable, or a chunk has the wrong type.
   * @throws {InvalidStateError} After `close()` or `writeEof()`.
   *
   * @example
   * ```ts
   * import { StreamWriter } from "@aio/asyncio";
   * import { assertEquals } from "@std/assert";
   *
   * let text = "";
   * const writer = new StreamWriter(new WritableStream({
   *   write: (c) => void (text += new TextDecoder().decode(c)),
   * }));
   * writer.writeLines(["a\n", "b\n", new TextEncoder().encode("c\n")]);
   * writer.close();
   * await writer.waitClosed();
   * assertEquals(text, "a\nb\nc\n");
   * ```
   */
  writeLines(lines: Iterable<Uint8Array | string>): void {
    if (typeof (lines as Iterable<unknown> | null)?.[Symbol.iterator] !== "function") {
      throw new TypeError(
        `Cannot write lines: 'lines' must be an iterable of Uint8Array or string: current value is ${
          describe(lines)
        }`,
      );
    }
    for (const line of lines) this.write(line);
  }

  /** Writes the buffered chunks in order, until none is left. */
  async #run(): Promise<void> {
    const target = this.#target;
    try {
      for (;;) {
        if (this.#closed || this.#failed || (this.#upgrading && this.#clearLeft <= 0)) break;
        let chunk: Uint8Array;
        // The writer's own buffer, when the chunk is its small writes.
        let own: Uint8Array | null = null;
        const queue = this.#queue;
        if (queue !== null && queue.size > 0) {
          chunk = queue.shift();
        } else if (this.#tailLength > 0) {
          own = this.#tail!;
          chunk = own.subarray(0, this.#tailLength);
          this.#tail = null;
          this.#tailLength = 0;
        } else {
          break;
        }
        let offset = 0;
        while (offset < chunk.length) {
          const n = await target.write(offset === 0 ? chunk : chunk.subarray(offset));
          if (this.#closed) break;
          if (!(n > 0)) throw new Deno.errors.WriteZero("Cannot write: the target wrote 0 bytes");
          offset += n;
          this.#size -= n;
          this.#clearLeft -= n;
          if (this.#paused && this.#size <= this.#low) {
            this.#paused = false;
            this.#drainers?.resolveAll();
          }
        }
        if (this.#closed) break;
        if (own !== null && this.#reuse) {
          // The target is done with it: the next small writes may fill it again.
          if (this.#spare === null) this.#spare = own;
          else giveBuffer(own as Uint8Array<ArrayBuffer>);
        }
      }
    } catch (e) {
      this.#flushing = false;
      if (!this.#closed) this.#fail(e);
      this.#upgradeIdle?.();
      return;
    }
    this.#flushing = false;
    // Nothing left to write: an idle writer holds no buffer; the next busy
    // one takes it from the pool.
    const spare = this.#spare;
    if (spare !== null) {
      this.#spare = null;
      giveBuffer(spare as Uint8Array<ArrayBuffer>);
    }
    this.#upgradeIdle?.();
    this.#settleState();
  }

  /**
   * After a flush, a change of state or an upgrade: sends the EOF, closes,
   * and wakes who waits for the buffer to empty, as due.
   */
  #settleState(): void {
    if (this.#flushing || this.#upgrading || this.#closed) return;
    if (this.#failed) {
      if (this.#state === CLOSING) this.#finishClose();
      return;
    }
    if (this.#size > 0) {
      // Written while an upgrade was in progress.
      this.#flushing = true;
      queueMicrotask(this.#flush);
      return;
    }
    if (this.#eof === EOF_WANTED) {
      this.#eof = EOF_SENDING;
      let sent: Promise<void>;
      try {
        sent = this.#target.closeWrite!();
      } catch (e) {
        sent = Promise.reject(e);
      }
      sent.then(() => {
        this.#eof = EOF_SENT;
        this.#settleState();
      }, (e) => {
        this.#eof = EOF_SENT;
        if (!this.#closed) this.#fail(e);
      });
      return;
    }
    if (this.#eof === EOF_SENDING) return;
    this.#idlers?.resolveAll();
    if (this.#state === CLOSING) this.#finishClose();
  }

  /** Writing failed: drop the buffer and report `error` to every waiter. */
  #fail(error: unknown): void {
    if (this.#failed || this.#closed) return;
    this.#failed = true;
    this.#error = error;
    this.#dropBuffer();
    if (this.#drainers?.size || this.#idlers?.size) this.#errorSeen = true;
    this.#drainers?.rejectAll(() => error);
    this.#idlers?.rejectAll(() => error);
    if (this.#state === CLOSING) this.#finishClose();
  }

  #dropBuffer(): void {
    this.#queue = null;
    this.#tail = null;
    this.#tailLength = 0;
    this.#size = 0;
    this.#paused = false;
  }

  // ----------------------------------------------------------- flow control

  /**
   * Waits until the buffer is small enough to write more: resolves at once
   * unless more than the high-water mark is buffered, and then once the
   * buffer is down to the low-water mark. Rejects with the connection's
   * error if writing failed (the peer is gone) or the paired reader failed.
   *
   * @param options `signal` to cancel the wait; the ambient task cancels it too.
   * @returns A promise that resolves when writing may go on.
   * @throws The connection's error (e.g. `Deno.errors.BrokenPipe`,
   * `Deno.errors.ConnectionReset`), as a rejection.
   * @throws {InvalidStateError} (as a rejection) Once the writer is closed.
   *
   * @example
   * ```ts
   * import { StreamWriter } from "@aio/asyncio";
   * import { assertEquals } from "@std/assert";
   *
   * let received = 0;
   * const writer = new StreamWriter(new WritableStream({
   *   write: async (c) => {
   *     await new Promise((r) => setTimeout(r, 1));
   *     received += c.length;
   *   },
   * }));
   * for (let i = 0; i < 10; i++) {
   *   writer.write(new Uint8Array(50_000));
   *   await writer.drain();
   * }
   * writer.close();
   * await writer.waitClosed();
   * assertEquals(received, 500_000);
   * ```
   */
  drain(options?: WriterWaitOptions): Promise<void> {
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (this.#failed) {
      this.#errorSeen = true;
      return Promise.reject(this.#error);
    }
    const readerError = this.#reader?.exception();
    if (readerError !== undefined) return Promise.reject(readerError);
    if (this.#closed) {
      return Promise.reject(new InvalidStateError("Cannot drain: the writer is closed"));
    }
    if (!this.#paused) return Promise.resolve();
    return park(this.#drainers ??= new WaiterQueue(), signal);
  }

  /**
   * Sets the high- and low-water marks that {@linkcode drain} uses, like
   * asyncio's `transport.set_write_buffer_limits(high, low)`.
   *
   * @param limits `high` (default 64 KiB, or `4 * low`) and `low` (default `high / 4`).
   * @throws {RangeError} If a limit is not a non-negative integer, or `low > high`.
   *
   * @example
   * ```ts
   * import { StreamWriter } from "@aio/asyncio";
   * import { assertEquals } from "@std/assert";
   *
   * const writer = new StreamWriter(new WritableStream());
   * writer.setWriteBufferLimits({ high: 1024 });
   * assertEquals(writer.getWriteBufferLimits(), { high: 1024, low: 256 });
   * writer.close();
   * ```
   */
  setWriteBufferLimits(limits?: WriteBufferLimits): void {
    [this.#high, this.#low] = checkWaterMarks(
      limits,
      "limits",
      "set write buffer limits",
      DEFAULT_HIGH,
    );
    if (this.#size > this.#high) {
      this.#paused = true;
    } else if (this.#paused && this.#size <= this.#low) {
      this.#paused = false;
      this.#drainers?.resolveAll();
    }
  }

  /**
   * The current high- and low-water marks.
   *
   * @returns `{ high, low }` in bytes.
   *
   * @example
   * ```ts
   * import { StreamWriter } from "@aio/asyncio";
   * import { assertEquals } from "@std/assert";
   *
   * const writer = new StreamWriter(new WritableStream());
   * assertEquals(writer.getWriteBufferLimits(), { high: 65536, low: 16384 });
   * writer.close();
   * ```
   */
  getWriteBufferLimits(): { high: number; low: number } {
    return { high: this.#high, low: this.#low };
  }

  /**
   * How many bytes are buffered: written by the caller and not yet by the
   * connection (bytes in flight included).
   *
   * @returns The buffered byte count.
   *
   * @example
   * ```ts
   * import { StreamWriter } from "@aio/asyncio";
   * import { assertEquals } from "@std/assert";
   *
   * const writer = new StreamWriter(new WritableStream());
   * writer.write("abc");
   * assertEquals(writer.getWriteBufferSize(), 3);
   * writer.close();
   * await writer.waitClosed();
   * assertEquals(writer.getWriteBufferSize(), 0);
   * ```
   */
  getWriteBufferSize(): number {
    return this.#size;
  }

  // ---------------------------------------------------------- half-close

  /**
   * Whether {@linkcode writeEof} is supported: the target can shut down its
   * write side (TCP, TLS and Unix conns, streams).
   *
   * @returns `true` when `writeEof()` may be called.
   *
   * @example
   * ```ts
   * import { StreamWriter } from "@aio/asyncio";
   * import { assert, assertFalse } from "@std/assert";
   *
   * assert(new StreamWriter(new WritableStream()).canWriteEof());
   * assertFalse(new StreamWriter({ write: (p) => Promise.resolve(p.length) }).canWriteEof());
   * ```
   */
  canWriteEof(): boolean {
    return typeof this.#target.closeWrite === "function";
  }

  /**
   * Shuts down the write side once the buffered data is written (a TCP
   * half-close): the peer reads the end of the stream and may still answer,
   * which the paired reader reads. Later writes throw. Does nothing after
   * `close()` or a previous `writeEof()`.
   *
   * @throws {InvalidStateError} If the target cannot write EOF (see {@linkcode canWriteEof}).
   *
   * @example
   * ```ts
   * import { openConnection, startServer } from "@aio/asyncio";
   * import { assertEquals } from "@std/assert";
   *
   * await using server = await startServer(async (reader, writer) => {
   *   const request = await reader.text(); // until the client's EOF
   *   writer.write(`got ${request.length} bytes`);
   * }, { host: "127.0.0.1", port: 0 });
   *
   * await using conn = await openConnection("127.0.0.1", server.addr.port);
   * conn.writer.write("12345");
   * conn.writer.writeEof();
   * assertEquals(await conn.reader.text(), "got 5 bytes");
   * ```
   */
  writeEof(): void {
    if (this.#state !== OPEN) return;
    if (!this.canWriteEof()) {
      throw new InvalidStateError(
        "Cannot write EOF: the target has no closeWrite() (check canWriteEof() first)",
      );
    }
    this.#state = EOF;
    if (this.#failed) return;
    this.#eof = EOF_WANTED;
    this.#settleState();
  }

  // ---------------------------------------------------------------- closing

  /**
   * Closes the connection once the buffered data is written; returns at
   * once. Use {@linkcode waitClosed} to wait for it. The paired reader then
   * reads what it holds and then the end of the stream: once it is closed,
   * `reader.atEof()` is true when nothing is left. Calling it again does
   * nothing.
   *
   * @example
   * ```ts
   * import { StreamWriter } from "@aio/asyncio";
   * import { assert } from "@std/assert";
   *
   * const writer = new StreamWriter(new WritableStream());
   * writer.write("last words");
   * writer.close();
   * assert(writer.isClosing());
   * await writer.waitClosed();
   * ```
   */
  close(): void {
    if (this.#state >= CLOSING) return;
    this.#state = CLOSING;
    this.#settleState();
  }

  /** Closes the target now; the buffered data is dropped. */
  #abort(): void {
    if (this.#closed) return;
    this.#dropBuffer();
    this.#finishClose();
  }

  #finishClose(): void {
    if (this.#closed) return;
    this.#state = CLOSED;
    const dropped = new InvalidStateError("The writer was closed before its buffer was written");
    const reason = this.#failed ? this.#error : dropped;
    this.#drainers?.rejectAll(() => reason);
    this.#idlers?.rejectAll(() => reason);
    let closing: void | Promise<void> = undefined;
    try {
      closing = this.#target.close?.();
    } catch (e) {
      if (!isLocalClose(e)) this.#setError(e);
    }
    // Closing a conn closes both ways: the reader of the same connection
    // can read nothing more than it holds (asyncio feeds it EOF). A failed
    // connection leaves the reader to meet the failure; a WritableStream's
    // close ends only the writing side.
    if (!this.#failed && !(this.#transport instanceof WritableStream)) this.#reader?.feedEof();
    if (closing instanceof Promise) {
      closing.then(() => this.#closeDone(), (e) => {
        this.#setError(e);
        this.#closeDone();
      });
    } else {
      this.#closeDone();
    }
  }

  /** Records `error` as the writer's failure, unless it already failed. */
  #setError(error: unknown): void {
    if (!this.#failed) {
      this.#failed = true;
      this.#error = error;
    }
  }

  #closeDone(): void {
    this.#finished = true;
    if (this.#failed) {
      if (this.#closers?.size) this.#errorSeen = true;
      this.#closers?.rejectAll(() => this.#error);
    } else {
      this.#closers?.resolveAll();
    }
  }

  /**
   * Whether the writer is closing or closed: `close()` was called, or
   * writing failed.
   *
   * @returns `true` once no more data will be written.
   *
   * @example
   * ```ts
   * import { StreamWriter } from "@aio/asyncio";
   * import { assert, assertFalse } from "@std/assert";
   *
   * const writer = new StreamWriter(new WritableStream());
   * assertFalse(writer.isClosing());
   * writer.close();
   * assert(writer.isClosing());
   * ```
   */
  isClosing(): boolean {
    return this.#state >= CLOSING || this.#failed;
  }

  /**
   * Waits until the connection is closed (after {@linkcode close}, once the
   * buffer is written). Rejects with the connection's error if writing
   * failed, since buffered data was then lost.
   *
   * @param options `signal` to cancel the wait (the close goes on).
   * @returns A promise that resolves once the connection is closed.
   * @throws The connection's error, as a rejection.
   *
   * @example
   * ```ts
   * import { StreamWriter } from "@aio/asyncio";
   *
   * const writer = new StreamWriter(new WritableStream());
   * writer.close();
   * await writer.waitClosed();
   * ```
   */
  waitClosed(options?: WriterWaitOptions): Promise<void> {
    const signal = options?.signal;
    if (this.#finished) {
      if (signal?.aborted) return Promise.reject(abortReason(signal));
      if (this.#failed) {
        this.#errorSeen = true;
        return Promise.reject(this.#error);
      }
      return Promise.resolve();
    }
    return park(this.#closers ??= new WaiterQueue(), signal);
  }

  /**
   * `close()` then `waitClosed()`, for `await using`. Rejects with the
   * connection's error only if buffered data was lost and no earlier call
   * reported it. In an already cancelled task it does not wait: the close
   * goes on in the background.
   *
   * @returns A promise that resolves once the connection is closed.
   *
   * @example
   * ```ts
   * import { StreamWriter } from "@aio/asyncio";
   *
   * {
   *   await using writer = new StreamWriter(new WritableStream());
   *   writer.write("bye");
   * } // closed here
   * ```
   */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    if (currentScope()?.cancelRequested && !this.#closed) return;
    const seen = this.#errorSeen;
    try {
      await this.waitClosed();
    } catch (e) {
      if (this.#failed && e === this.#error && seen) return;
      throw e;
    }
  }

  // ------------------------------------------------------------ information

  /**
   * Information about the connection, like asyncio's `get_extra_info`:
   * `"peername"` (the remote address), `"sockname"` (the local address),
   * `"socket"` (the conn written to: the TLS conn after `startTls`).
   *
   * @param name What to look up.
   * @param defaultValue What to return when the information is not available.
   * @returns The value, or `defaultValue`.
   *
   * @example
   * ```ts
   * import { openConnection, startServer } from "@aio/asyncio";
   * import { assertEquals } from "@std/assert";
   *
   * await using server = await startServer(() => {}, { host: "127.0.0.1", port: 0 });
   * await using conn = await openConnection("127.0.0.1", server.addr.port);
   * const peer = conn.writer.getExtraInfo("peername") as Deno.NetAddr;
   * assertEquals(peer.port, server.addr.port);
   * assertEquals(conn.writer.getExtraInfo("cipher", "none"), "none");
   * ```
   */
  getExtraInfo(
    name: ExtraInfoName | (string & Record<never, never>),
    defaultValue?: unknown,
  ): unknown {
    const t = this.#transport as Writer;
    let value: unknown;
    switch (name) {
      case "peername":
        value = t.remoteAddr;
        break;
      case "sockname":
        value = t.localAddr;
        break;
      case "socket":
        value = t;
        break;
    }
    return value === undefined ? defaultValue : value;
  }

  // --------------------------------------------------------------- streams

  /**
   * A `WritableStream` that writes through this writer, waiting on
   * {@linkcode drain} after each chunk (so `pipeTo` gets backpressure).
   * Closing it writes EOF when the target supports it (the connection stays
   * open for reading), else closes the writer, and resolves once everything
   * is written. Aborting it closes the writer.
   *
   * @returns The stream; the same one on every access.
   *
   * @example
   * ```ts
   * import { openConnection, startServer } from "@aio/asyncio";
   * import { assertEquals } from "@std/assert";
   *
   * await using server = await startServer(async (reader, writer) => {
   *   writer.write((await reader.text()).toUpperCase());
   * }, { host: "127.0.0.1", port: 0 });
   *
   * await using conn = await openConnection("127.0.0.1", server.addr.port);
   * await ReadableStream.from(["a", "b", "c"])
   *   .pipeThrough(new TextEncoderStream())
   *   .pipeTo(conn.writer.writable);
   * assertEquals(await conn.reader.text(), "ABC");
   * ```
   */
  get writable(): WritableStream<Uint8Array> {
    return this.#writable ??= new WritableStream<Uint8Array>({
      write: (chunk) => {
        this.write(chunk);
        return this.drain();
      },
      close: () => {
        if (this.canWriteEof()) this.writeEof();
        else this.close();
        return this.#whenIdle();
      },
      abort: () => {
        this.close();
      },
    });
  }

  /** Resolves once the buffer is written (and the EOF sent, if asked for). */
  #whenIdle(signal?: AbortSignal): Promise<void> {
    if (this.#failed) {
      this.#errorSeen = true;
      return Promise.reject(this.#error);
    }
    if (this.#closed) {
      return this.#finished ? Promise.resolve() : park(this.#closers ??= new WaiterQueue(), signal);
    }
    if (
      !this.#flushing && this.#size === 0 && this.#eof !== EOF_WANTED && this.#eof !== EOF_SENDING
    ) {
      return Promise.resolve();
    }
    return park(this.#idlers ??= new WaiterQueue(), signal);
  }

  // -------------------------------------------------------------------- TLS

  /**
   * Upgrades the connection to TLS in place (`Deno.startTls`, client side),
   * like asyncio's `start_tls`: the buffered data is written in clear first,
   * then the handshake runs, and this writer and its paired reader go on over
   * TLS, keeping the bytes the reader had already buffered. Writes made
   * meanwhile are sent encrypted.
   *
   * The reader must not be in the middle of reading from the socket (no read
   * waiting for data); the connection must be a plain TCP one.
   *
   * @param options `hostname` to verify, `caCerts`, `alpnProtocols`, `signal`.
   * @returns A promise that resolves once the handshake is done.
   * @throws {InvalidStateError} (as a rejection) If the writer is closing or
   * already uses TLS, or the reader is reading.
   * @throws {TypeError} (as a rejection) If the connection is not TCP, or an
   * option has the wrong type.
   * @throws The handshake's error (the connection is then closed), as a rejection.
   *
   * @example
   * ```ts ignore
   * import { openConnection } from "@aio/asyncio";
   *
   * // A mail server that speaks STARTTLS.
   * await using conn = await openConnection("mail.example.com", 25);
   * const [reader, writer] = conn;
   * await reader.readLine();
   * writer.write("STARTTLS\r\n");
   * await reader.readLine();
   * await writer.startTls({ hostname: "mail.example.com" });
   * writer.write("EHLO me\r\n");
   * ```
   */
  startTls(options?: StartTlsOptions): Promise<void> {
    return startTls(this, options);
  }

  #upgradeTarget(): {
    transport: StreamWriterTarget;
    reader: StreamReader | undefined;
    hostname: string | undefined;
  } {
    if (this.#state !== OPEN || this.#failed) this.#refuse("start TLS");
    if (this.#upgrading) {
      throw new InvalidStateError("Cannot start TLS: an upgrade is already in progress");
    }
    return { transport: this.#transport, reader: this.#reader, hostname: this.#hostname };
  }

  async #flushBeforeUpgrade(signal: AbortSignal | undefined): Promise<void> {
    this.#upgrading = true;
    this.#seal();
    this.#clearLeft = this.#size;
    try {
      if (this.#flushing) {
        await cancellable<void>((resolve) => {
          this.#upgradeIdle = resolve;
          return () => void (this.#upgradeIdle = null);
        }, signal);
        this.#upgradeIdle = null;
      }
      if (this.#failed || this.#closed) this.#refuse("start TLS");
    } catch (e) {
      this.#upgradeIdle = null;
      this.#finishUpgrade(null);
      throw e;
    }
  }

  #finishUpgrade(tls: Deno.TlsConn | null): void {
    if (tls !== null) {
      this.#transport = tls;
      this.#target = tls;
    }
    this.#upgrading = false;
    this.#settleState();
  }

  #failUpgrade(conn: Deno.Conn, error: unknown): void {
    this.#transport = conn;
    this.#target = {
      write: () => Promise.reject(error),
      close: () => {
        try {
          conn.close();
        } catch {
          // Closed by the cancellation, or consumed by Deno.startTls.
        }
      },
    };
    this.#upgrading = false;
    this.#fail(error);
    this.#errorSeen = true;
    this.#abort();
  }
}

/**
 * Closes `writer`'s connection now, dropping what is buffered.
 *
 * @internal Not part of the public API.
 * @param writer The writer.
 */
export function abortWriter(writer: StreamWriter): void {
  internals.abort(writer);
}

/**
 * Records the host a writer's connection was opened to, the default server
 * name of `startTls`.
 *
 * @internal Not part of the public API.
 * @param writer The writer.
 * @param hostname The host name.
 */
export function setWriterHostname(writer: StreamWriter, hostname: string): void {
  internals.setHostname(writer, hostname);
}
