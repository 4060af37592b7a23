/**
 * `startServer` and `startUnixServer`: accept connections and run a handler
 * task per client with its `StreamReader` and `StreamWriter`, like asyncio's
 * `start_server` and `start_unix_server`.
 *
 * @module
 */

import {
  abortReason,
  currentScope,
  isCancellation,
  type Scope,
  scopes,
  subscribe,
} from "../core/cancellation.ts";
import { IncompleteReadError, InvalidStateError } from "../core/errors.ts";
import { isLocalClose, StreamReader } from "../streams/stream_reader.ts";
import { abortWriter, StreamWriter } from "../streams/stream_writer.ts";
import { adoptTask, createTask, type Task } from "../core/task.ts";
import { formatAddr, unbracket } from "./_address.ts";
import {
  checkBoolean,
  checkFunction,
  checkInteger,
  checkLimit,
  checkOptions,
  checkPort,
  checkString,
} from "../core/_check.ts";
import { type Delay, setDelay } from "../core/_timers.ts";
import { park, WaiterQueue } from "../core/_waiters.ts";

/**
 * A client handler: runs once per accepted connection, as a task owned by
 * the server. The writer is closed when it returns; what it throws is
 * reported (see `onError`) and never stops the server.
 *
 * @example A line-based protocol
 * ```ts
 * import { type ClientHandler, openConnection, startServer } from "@aio/asyncio";
 * import { assertEquals } from "@std/assert";
 *
 * const greet: ClientHandler = async (reader, writer) => {
 *   for await (const name of reader.lines()) writer.write(`hello, ${name}\n`);
 * };
 * await using server = await startServer(greet, { host: "127.0.0.1", port: 0 });
 * await using conn = await openConnection("127.0.0.1", server.addr.port);
 * conn.writer.write("Ada\n");
 * assertEquals(new TextDecoder().decode(await conn.reader.readLine()), "hello, Ada\n");
 * ```
 */
export type ClientHandler = (reader: StreamReader, writer: StreamWriter) => void | Promise<void>;

/** What the server says about an error it reports to `onError`. */
export interface ServerErrorContext {
  /** What failed, e.g. `"Client handler failed"`. */
  message: string;
  /** The client's address, when the error is about a client. */
  peername?: Deno.Addr;
}

/** Options of both {@linkcode startServer} and {@linkcode startUnixServer}. */
export interface BaseServerOptions {
  /** Each reader's `limit` for `readLine`/`readUntil`; default 64 KiB. */
  limit?: number;
  /** Aborting it closes the server and cancels its client handlers. */
  signal?: AbortSignal;
  /**
   * Called with what a client handler throws (cancellation excepted) and
   * with accept errors. Default: print them on stderr, as one line without
   * a stack when the client only went away (it reset the connection, or
   * closed it in the middle of a read: `IncompleteReadError`), in full
   * otherwise.
   */
  onError?: (error: unknown, context: ServerErrorContext) => void;
}

/** Options for {@linkcode startServer}. */
export interface StartServerOptions extends BaseServerOptions {
  /** The address to listen on; default `"0.0.0.0"` (every IPv4 interface). */
  host?: string;
  /** The port to listen on; default 0 (one the system picks: read `server.addr.port`). */
  port?: number;
  /** A certificate chain and private key (PEM) to serve TLS. */
  tls?: { cert: string; key: string; alpnProtocols?: string[] };
  /** The listen backlog (pending connections the system queues); default 511. */
  backlog?: number;
  /** Whether to set `TCP_NODELAY` on accepted connections; default `true`. */
  noDelay?: boolean;
}

/** Options for {@linkcode startUnixServer}. */
export interface StartUnixServerOptions extends BaseServerOptions {
  /**
   * The socket's file system path. A stale socket file there is replaced,
   * and the file is removed when the server closes (asyncio 3.13).
   */
  path: string;
}

/**
 * A listening server, like asyncio's `Server`. It accepts connections from
 * the start; each one runs the handler as a task.
 *
 * @example Shutting down: stop accepting, cancel the clients, wait
 * ```ts
 * import { openConnection, startServer } from "@aio/asyncio";
 * import { assertEquals } from "@std/assert";
 *
 * const server = await startServer(async (reader) => {
 *   await reader.readLine(); // waits for a line that never comes
 * }, { host: "127.0.0.1", port: 0 });
 * await using conn = await openConnection("127.0.0.1", server.addr.port);
 *
 * server.close();
 * server.closeClients();
 * await server.waitClosed();
 * assertEquals(await conn.reader.read(), new Uint8Array()); // closed by the server
 * ```
 *
 * @typeParam A The listening address type: `Deno.NetAddr` for TCP,
 * `Deno.UnixAddr` for Unix sockets.
 */
export interface Server<A extends Deno.Addr = Deno.Addr> extends AsyncDisposable {
  /** The address the server listens on (with the real port when 0 was asked for). */
  readonly addr: A;
  /**
   * Whether the server still accepts connections.
   *
   * @returns `false` once `close()` was called.
   */
  isServing(): boolean;
  /**
   * Stops accepting connections and closes the listening socket; running
   * handlers go on (asyncio's `close`). Calling it again does nothing.
   */
  close(): void;
  /**
   * Cancels every running client handler; each connection is then closed
   * once its buffered data is written (a peer that never reads keeps it
   * open: see `abortClients`).
   */
  closeClients(): void;
  /**
   * Cancels every running client handler and closes every client connection
   * at once, dropping buffered data (asyncio's `abort_clients`).
   */
  abortClients(): void;
  /**
   * Waits until the server is closed and every client handler has ended and
   * its connection is closed.
   *
   * @param options `signal` to cancel the wait.
   * @returns A promise that resolves then.
   */
  waitClosed(options?: { signal?: AbortSignal }): Promise<void>;
  /**
   * Serves until the server is closed (by `close()` or its `signal`), then
   * waits like `waitClosed()`. Cancelling it (by `signal` or by cancelling
   * its task) closes the server and its clients, waits for them, and
   * rejects with the cancellation.
   *
   * @param options `signal` to stop serving.
   * @returns A promise that resolves once the server is closed.
   * @throws {InvalidStateError} (as a rejection) If the server is closed, or
   * `serveForever()` is already running.
   */
  serveForever(options?: { signal?: AbortSignal }): Promise<void>;
  /**
   * `close()` then `waitClosed()`, for `await using`.
   *
   * @returns A promise that resolves once everything is closed.
   */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Accept errors other than a closed listener are retried after this delay, as asyncio does. */
const ACCEPT_RETRY_MS = 1000;

/**
 * Whether `error` only says that the client went away: it reset the
 * connection, or closed it in the middle of a read. Every server sees
 * these; they need no stack.
 */
function isPeerGone(error: unknown): boolean {
  return error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.NotConnected ||
    error instanceof Deno.errors.UnexpectedEof ||
    error instanceof IncompleteReadError;
}

/**
 * The default `onError`: one line without a stack for a client that went
 * away (reset, or closed mid-read), the full report for anything else.
 */
function defaultOnError(error: unknown, context: ServerErrorContext): void {
  const peer = context.peername ? ` (client ${formatAddr(context.peername)})` : "";
  if (isPeerGone(error)) {
    const { name, message } = error as Error;
    console.error(`${context.message}${peer}: ${name}: ${message}`);
    return;
  }
  console.error(`${context.message}${peer}:`, error);
}

/** Runs `fn` outside any task scope, so that a caller's cancellation does not reach it. */
function detached<T>(fn: () => T): T {
  return scopes.run(undefined as unknown as Scope, fn);
}

class ServerImpl<A extends Deno.Addr> implements Server<A> {
  readonly #listener: Deno.Listener;
  readonly #handler: ClientHandler;
  readonly #limit: number | undefined;
  readonly #noDelay: boolean;
  readonly #onError: (error: unknown, context: ServerErrorContext) => void;
  readonly #onClose: (() => void) | undefined;
  /** The running client handlers and their writers. */
  readonly #clients = new Map<Task<unknown>, StreamWriter>();
  #serving = true;
  #accepting = true;
  #retry: Delay | undefined;
  #wakeRetry: (() => void) | undefined;
  /** Woken once the server is closed and every client is gone. */
  readonly #waiters = new WaiterQueue<void>();
  #forever = false;
  #unsubscribe: (() => void) | undefined;

  constructor(
    listener: Deno.Listener,
    handler: ClientHandler,
    options: BaseServerOptions & { noDelay?: boolean },
    onClose?: () => void,
  ) {
    this.#listener = listener;
    this.#handler = handler;
    this.#limit = options.limit;
    this.#noDelay = options.noDelay ?? true;
    this.#onError = options.onError ?? defaultOnError;
    this.#onClose = onClose;
    const signal = options.signal;
    if (signal) {
      this.#unsubscribe = subscribe(signal, () => {
        this.close();
        this.closeClients();
      });
    }
    detached(() => void this.#acceptLoop());
  }

  get addr(): A {
    return this.#listener.addr as A;
  }

  isServing(): boolean {
    return this.#serving;
  }

  #report(error: unknown, context: ServerErrorContext): void {
    try {
      this.#onError(error, context);
    } catch (e) {
      console.error("The server's onError hook threw:", e, "while reporting:", error);
    }
  }

  async #acceptLoop(): Promise<void> {
    while (this.#serving) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
      } catch (e) {
        if (!this.#serving || isLocalClose(e)) break;
        this.#report(e, { message: "Accepting a connection failed" });
        await new Promise<void>((resolve) => {
          this.#wakeRetry = resolve;
          this.#retry = setDelay(resolve, ACCEPT_RETRY_MS);
        });
        this.#retry = this.#wakeRetry = undefined;
        continue;
      }
      if (!this.#serving) {
        conn.close();
        break;
      }
      this.#startClient(conn);
    }
    this.#accepting = false;
    this.#checkClosed();
  }

  #startClient(conn: Deno.Conn): void {
    const tcp = conn as Partial<Deno.TcpConn>;
    if (typeof tcp.setNoDelay === "function") {
      try {
        tcp.setNoDelay(this.#noDelay);
      } catch {
        // The peer may already be gone; the handler will find out.
      }
    }
    const reader = new StreamReader(conn, { limit: this.#limit });
    const writer = new StreamWriter(conn, { reader });
    const handler = this.#handler;
    const task = createTask<void>(() => handler(reader, writer), {
      name: `client ${formatAddr(conn.remoteAddr)}`,
    });
    this.#clients.set(task, writer);
    // One function per server, told synchronously when a handler ends: an
    // idle connection holds no callback, promise or closure of its own here.
    adoptTask(task, this.#clientDone);
  }

  #clientDone = (task: Task<unknown>): void => {
    let error: unknown;
    if (!task.cancelled()) {
      try {
        task.result();
      } catch (e) {
        error = e ?? new Error("Client handler failed");
      }
    }
    // Finished on a later microtask, as a promise callback would be (never
    // from inside the task's settling), and outside the task's scope: the
    // wait for the writer to close must not see the handler's cancellation.
    detached(() => queueMicrotask(() => this.#finishClient(task, error)));
  };

  #finishClient(task: Task<unknown>, error: unknown): void {
    const writer = this.#clients.get(task)!;
    if (error !== undefined && !isCancellation(error)) {
      const peername = writer.getExtraInfo("peername") as Deno.Addr;
      this.#report(error, { message: "Client handler failed", peername });
    }
    // After abortClients() the writer is closed already, and this does nothing.
    writer.close();
    const gone = () => {
      this.#clients.delete(task);
      this.#checkClosed();
    };
    writer.waitClosed().then(gone, gone);
  }

  #checkClosed(): void {
    if (this.#isClosed()) this.#waiters.resolveAll();
  }

  #isClosed(): boolean {
    return !this.#serving && !this.#accepting && this.#clients.size === 0;
  }

  close(): void {
    if (!this.#serving) return;
    this.#serving = false;
    this.#unsubscribe?.();
    this.#retry?.clear();
    this.#wakeRetry?.();
    try {
      this.#listener.close();
    } catch {
      // Already closed.
    }
    this.#onClose?.();
  }

  closeClients(): void {
    for (const task of this.#clients.keys()) {
      task.cancel("The server is closing its clients");
    }
  }

  abortClients(): void {
    for (const [task, writer] of this.#clients) {
      task.cancel("The server is aborting its clients");
      abortWriter(writer);
    }
  }

  waitClosed(options?: { signal?: AbortSignal }): Promise<void> {
    const signal = options?.signal;
    if (this.#isClosed()) {
      return signal?.aborted ? Promise.reject(abortReason(signal)) : Promise.resolve();
    }
    return park(this.#waiters, signal);
  }

  /** Resolves once everything is closed; not cancellable (not even by the ambient task). */
  #closedPromise(): Promise<void> {
    return this.#isClosed() ? Promise.resolve() : detached(() => park(this.#waiters, undefined));
  }

  async serveForever(options?: { signal?: AbortSignal }): Promise<void> {
    if (!this.#serving) throw new InvalidStateError("Cannot serve forever: the server is closed");
    if (this.#forever) {
      throw new InvalidStateError("Cannot serve forever: serveForever() is already running");
    }
    this.#forever = true;
    try {
      await park(this.#waiters, options?.signal);
    } catch (e) {
      this.close();
      this.closeClients();
      await this.#closedPromise();
      throw e;
    } finally {
      this.#forever = false;
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    if (currentScope()?.cancelRequested) {
      // Cancelled already: stop the clients, and let them end in the background.
      this.closeClients();
      return;
    }
    try {
      await this.waitClosed();
    } catch (e) {
      this.closeClients();
      throw e;
    }
  }
}

function checkHandler(handler: unknown, what: string): ClientHandler {
  return checkFunction(handler, "handler", what) as ClientHandler;
}

/** Rethrows a listen failure with the address in the message, keeping its class. */
function listenError(e: unknown, address: string): unknown {
  if (!(e instanceof Error) || e instanceof Deno.errors.NotCapable) return e;
  const Class = e.constructor as new (message: string, options?: ErrorOptions) => Error;
  try {
    const wrapped = new Class(`Cannot listen on ${address}: ${e.message}`, { cause: e });
    wrapped.name = e.name;
    return wrapped;
  } catch {
    return e;
  }
}

/**
 * Starts a TCP server (TLS with `tls`), like asyncio's `start_server`: it
 * listens at once, and runs `handler(reader, writer)` as a task for each
 * client. The writer is closed when the handler returns. A handler that
 * throws is reported to `onError` (stderr by default) and the server goes
 * on. Accepted connections get `TCP_NODELAY` unless `noDelay: false`.
 *
 * @param handler The client handler.
 * @param options `host`, `port`, `tls`, `limit`, `signal`, `onError`, `backlog`, `noDelay`.
 * @returns The server, listening.
 * @throws {TypeError} (as a rejection) If `handler` is not a function or an
 * option has the wrong type.
 * @throws {RangeError} (as a rejection) If `port`, `limit` or `backlog` is out of range.
 * @throws `Deno.errors.AddrInUse` and the like (as a rejection) if the
 * address cannot be listened on; the message names it.
 *
 * @example An echo server
 * ```ts
 * import { openConnection, startServer } from "@aio/asyncio";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = await startServer(async (reader, writer) => {
 *   for await (const line of reader) {
 *     writer.write(line);
 *     await writer.drain();
 *   }
 * }, { host: "127.0.0.1", port: 0 });
 *
 * await using conn = await openConnection("127.0.0.1", server.addr.port);
 * const [reader, writer] = conn;
 * writer.write("one\ntwo\n");
 * assertEquals(new TextDecoder().decode(await reader.readExactly(8)), "one\ntwo\n");
 * ```
 *
 * @example Serving until a signal
 * ```ts
 * import { openConnection, startServer } from "@aio/asyncio";
 *
 * const stop = new AbortController();
 * const server = await startServer(async (reader, writer) => {
 *   writer.write(await reader.readLine());
 *   stop.abort(); // the first client shuts the server down
 * }, { host: "127.0.0.1", port: 0, signal: stop.signal });
 *
 * const serving = server.serveForever();
 * {
 *   await using conn = await openConnection("127.0.0.1", server.addr.port);
 *   conn.writer.write("bye\n");
 *   await conn.reader.readLine();
 * }
 * await serving;
 * ```
 */
export function startServer(
  handler: ClientHandler,
  options?: StartServerOptions,
): Promise<Server<Deno.NetAddr>> {
  try {
    return Promise.resolve(listenTcp(handler, options ?? {}));
  } catch (e) {
    return Promise.reject(e);
  }
}

function listenTcp(handler: ClientHandler, options: StartServerOptions): Server<Deno.NetAddr> {
  const what = "start server";
  checkHandler(handler, what);
  checkOptions(options, what);
  const host = options.host === undefined ? "0.0.0.0" : checkString(options.host, "host", what);
  const port = options.port === undefined ? 0 : checkPort(options.port, what, 0);
  checkLimit(options.limit, what);
  const backlog = options.backlog;
  if (backlog !== undefined) checkInteger(backlog, "backlog", what, 0);
  checkBoolean(options.noDelay, "noDelay", what);
  const tls = options.tls;
  if (tls !== undefined) {
    if (typeof tls !== "object" || tls === null) {
      throw new TypeError(
        `Cannot ${what}: 'tls' must be an object like { cert, key }: current value is ${
          String(tls)
        }`,
      );
    }
    checkString(tls.cert, "tls.cert", what);
    checkString(tls.key, "tls.key", what);
  }
  if (options.signal?.aborted) throw abortReason(options.signal);
  const hostname = unbracket(host);
  let listener: Deno.Listener;
  try {
    listener = tls === undefined
      ? Deno.listen({ hostname, port, tcpBacklog: backlog })
      : Deno.listenTls({
        hostname,
        port,
        tcpBacklog: backlog,
        cert: tls.cert,
        key: tls.key,
        alpnProtocols: tls.alpnProtocols,
      });
  } catch (e) {
    throw listenError(e, formatAddr({ transport: "tcp", hostname, port }));
  }
  return new ServerImpl<Deno.NetAddr>(listener, handler, options);
}

/**
 * Starts a Unix domain socket server, like asyncio's `start_unix_server`:
 * the same client handling as {@linkcode startServer}. A stale socket file
 * at `path` is replaced, and the file is removed when the server closes.
 * Needs `--allow-read` and `--allow-write` for the path.
 *
 * @param handler The client handler.
 * @param options `path`, `limit`, `signal`, `onError`.
 * @returns The server, listening.
 * @throws {TypeError} (as a rejection) If `handler` is not a function or
 * `path` is not a non-empty string.
 * @throws `Deno.errors.AddrInUse` (as a rejection) if a file that is not a
 * socket is at `path`; the message names it.
 *
 * @example
 * ```ts
 * import { openUnixConnection, startUnixServer } from "@aio/asyncio";
 * import { assertEquals } from "@std/assert";
 *
 * const dir = await Deno.makeTempDir();
 * {
 *   await using server = await startUnixServer(async (_reader, writer) => {
 *     writer.write("hello from the server\n");
 *   }, { path: `${dir}/app.sock` });
 *   await using conn = await openUnixConnection(server.addr.path);
 *   assertEquals(await conn.reader.text(), "hello from the server\n");
 * }
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function startUnixServer(
  handler: ClientHandler,
  options: StartUnixServerOptions,
): Promise<Server<Deno.UnixAddr>> {
  const what = "start Unix server";
  checkHandler(handler, what);
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `Cannot ${what}: 'options' must be an object with a 'path': current value is ${
        String(options)
      }`,
    );
  }
  const path = checkString(options.path, "path", what);
  checkLimit(options.limit, what);
  if (options.signal?.aborted) throw abortReason(options.signal);
  let stale: Deno.FileInfo | undefined;
  try {
    stale = await Deno.lstat(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw listenError(e, path);
  }
  if (stale?.isSocket) await Deno.remove(path);
  let listener: Deno.UnixListener;
  let ino: number | null;
  try {
    listener = Deno.listen({ transport: "unix", path });
    ino = Deno.lstatSync(path).ino;
  } catch (e) {
    throw listenError(e, path);
  }
  return new ServerImpl<Deno.UnixAddr>(listener, handler, options, () => {
    try {
      if (Deno.lstatSync(path).ino === ino) Deno.removeSync(path);
    } catch {
      // Gone already.
    }
  });
}
