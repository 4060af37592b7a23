/**
 * `openConnection` and `openUnixConnection`: open a TCP (optionally TLS) or
 * Unix-socket connection and get its `StreamReader` and `StreamWriter`, like
 * asyncio's `open_connection` and `open_unix_connection`.
 *
 * @module
 */

import { abortReason, linkedSignal, subscribe, throwIfCancelled } from "../core/cancellation.ts";
import { TimeoutError } from "../core/errors.ts";
import { StreamReader } from "../streams/stream_reader.ts";
import { describe } from "../core/_describe.ts";
import { setWriterHostname, type StartTlsOptions, StreamWriter } from "../streams/stream_writer.ts";
import { setDelay } from "../core/_timers.ts";
import { formatAddress, unbracket } from "./_address.ts";
import { connectFrom } from "./_node_conn.ts";
import {
  checkBoolean,
  checkLimit,
  checkMs,
  checkOptions,
  checkPort,
  checkString,
  checkStrings,
} from "../core/_check.ts";

/**
 * Raised when a connection cannot be opened: the connection was refused, the
 * host name does not resolve, the TLS handshake failed... The message names
 * the address; `cause` is the original error (e.g. a
 * `Deno.errors.ConnectionRefused`). A connect that times out rejects with a
 * `TimeoutError` instead, and a cancelled one with the cancellation reason.
 *
 * @example
 * ```ts
 * import { ConnectionError, openConnection } from "@aio/asyncio";
 * import { assertEquals, assertInstanceOf, assertRejects } from "@std/assert";
 *
 * // Nothing listens on a port taken from a closed listener.
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const port = listener.addr.port;
 * listener.close();
 *
 * const error = await assertRejects(() => openConnection("127.0.0.1", port), ConnectionError);
 * assertEquals(error.message, `Cannot connect to 127.0.0.1:${port}: connection refused`);
 * assertEquals(error.port, port);
 * assertInstanceOf(error.cause, Deno.errors.ConnectionRefused);
 * ```
 */
export class ConnectionError extends Error {
  /** The host connected to, for TCP. */
  readonly host: string | undefined;
  /** The port connected to, for TCP. */
  readonly port: number | undefined;
  /** The socket path connected to, for Unix sockets. */
  readonly path: string | undefined;

  /**
   * Creates a connection error.
   *
   * @param message What failed, naming the address.
   * @param options The address (`host` and `port`, or `path`) and the original error as `cause`.
   */
  constructor(
    message: string,
    options?: { host?: string; port?: number; path?: string; cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ConnectionError";
    this.host = options?.host;
    this.port = options?.port;
    this.path = options?.path;
  }
}

/** TLS settings of {@linkcode openConnection}. */
export interface TlsOptions {
  /**
   * Extra root certificates (PEM) to trust besides the default ones, e.g. a
   * private CA or a test certificate.
   */
  caCerts?: string[];
  /**
   * The server name to verify the certificate against and send as SNI.
   * Default: the `host` connected to.
   */
  hostname?: string;
  /** Application-Layer Protocol Negotiation protocols to offer, e.g. `["h2", "http/1.1"]`. */
  alpnProtocols?: string[];
}

/** Options for {@linkcode openConnection}. */
export interface OpenConnectionOptions {
  /** `true` or TLS settings to connect over TLS; default plain TCP. */
  tls?: boolean | TlsOptions;
  /** Aborting it cancels the connect (and the TLS handshake). */
  signal?: AbortSignal;
  /**
   * Milliseconds the connect and the TLS handshake may take together before
   * rejecting with a `TimeoutError`; default no limit.
   */
  timeout?: number;
  /** The reader's `limit` for `readLine`/`readUntil`; default 64 KiB. */
  limit?: number;
  /**
   * The delay in milliseconds between connection attempts to the addresses
   * a host name resolves to (RFC 8305 "Happy Eyeballs", asyncio's
   * `happy_eyeballs_delay`). Deno races IPv6 and IPv4 by default with a
   * 250 ms delay; this sets that delay.
   */
  happyEyeballsDelay?: number;
  /**
   * The local IP address to connect from (bind before connecting). Such
   * connections go through Node's sockets, since `Deno.connect` cannot bind;
   * over TLS with `caCerts` they also need `--allow-sys`, to read the system
   * root certificates the extra ones are added to.
   */
  localAddress?: string;
  /**
   * Whether to set `TCP_NODELAY` (disable Nagle's algorithm). Default
   * `true`: the writer already coalesces small writes, and small messages
   * then go out without delay.
   */
  noDelay?: boolean;
}

/** Options for {@linkcode openUnixConnection}. */
export interface OpenUnixConnectionOptions {
  /** Aborting it cancels the connect. */
  signal?: AbortSignal;
  /** Milliseconds the connect may take before rejecting with a `TimeoutError`. */
  timeout?: number;
  /** The reader's `limit` for `readLine`/`readUntil`; default 64 KiB. */
  limit?: number;
}

/**
 * An open connection: its reader and writer. Destructure it either way,
 * `const [reader, writer] = conn` or `const { reader, writer } = conn`, and
 * close it with `await using` (which closes the writer, flushing what is
 * buffered, and waits until the connection is closed).
 *
 * @example
 * ```ts
 * import { type Connection, openConnection, startServer } from "@aio/asyncio";
 * import { assertStrictEquals } from "@std/assert";
 *
 * await using server = await startServer(() => {}, { host: "127.0.0.1", port: 0 });
 * await using conn: Connection = await openConnection("127.0.0.1", server.addr.port);
 * const [reader, writer] = conn;
 * assertStrictEquals(reader, conn.reader);
 * assertStrictEquals(writer, conn.writer);
 * ```
 */
export type Connection = readonly [reader: StreamReader, writer: StreamWriter] & {
  /** Reads from the connection. */
  readonly reader: StreamReader;
  /** Writes to the connection. */
  readonly writer: StreamWriter;
  /** Closes the writer (and so the connection) and waits until it is closed. */
  [Symbol.asyncDispose](): Promise<void>;
};

// ----------------------------------------------------------------- helpers

/** What to say about a failed connect, from the error it failed with. */
function reasonOf(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  const code = (e as { code?: unknown } | null)?.code;
  // Node's errors arrive as Deno's classes (see `denoError`); only a failed
  // lookup keeps Node's code.
  if (e instanceof Deno.errors.ConnectionRefused) return "connection refused";
  if (
    code === "ENOTFOUND" || code === "EAI_AGAIN" ||
    /failed to lookup address|name or service not known|nodename nor servname/i.test(message)
  ) {
    return `cannot resolve the host name (${message})`;
  }
  if (e instanceof Deno.errors.TimedOut) return "connection timed out";
  if (e instanceof Deno.errors.ConnectionReset) return "connection reset by peer";
  if (
    e instanceof Deno.errors.InvalidData || /certificate|handshake|tls|SSL routines/i.test(message)
  ) {
    return `TLS handshake failed (${message})`;
  }
  return message;
}

/** Wraps a connect failure in a {@linkcode ConnectionError} naming the address. */
function connectionError(
  address: string,
  where: { host?: string; port?: number; path?: string },
  e: unknown,
): unknown {
  // A missing permission is a setup problem, not a connection one.
  if (e instanceof Deno.errors.NotCapable) return e;
  return new ConnectionError(`Cannot connect to ${address}: ${reasonOf(e)}`, {
    ...where,
    cause: e,
  });
}

/** Anything `establish` may have to close when the connect is cancelled. */
interface Closable {
  close(): void;
}

/**
 * Runs `open` under one signal that aborts on the explicit signal, the
 * ambient task and the timeout; maps failures to typed errors. `open` hands
 * each resource it makes to `track`, which closes it on cancellation.
 */
async function establish<C extends Closable>(
  address: string,
  where: { host?: string; port?: number; path?: string },
  options: { signal?: AbortSignal; timeout?: number },
  open: (signal: AbortSignal, track: (c: Closable) => void) => Promise<C>,
): Promise<C> {
  throwIfCancelled(options.signal);
  const outer = linkedSignal(options.signal);
  const controller = new AbortController();
  const inner = controller.signal;
  let current: Closable | undefined;
  const closeCurrent = () => {
    try {
      current?.close();
    } catch {
      // Already closed, or consumed by a TLS upgrade.
    }
  };
  const stop = (reason: unknown) => {
    if (inner.aborted) return;
    controller.abort(reason);
    closeCurrent();
  };
  const unsubscribe = outer ? subscribe(outer, () => stop(abortReason(outer))) : undefined;
  const ms = options.timeout;
  const timer = ms === undefined ? undefined : setDelay(
    () => stop(new TimeoutError(`Cannot connect to ${address}: timed out after ${ms} ms`)),
    ms,
  );
  try {
    const conn = await open(inner, (c) => {
      current = c;
      if (inner.aborted) closeCurrent();
    });
    if (inner.aborted) {
      current = conn;
      closeCurrent();
      throw inner.reason;
    }
    return conn;
  } catch (e) {
    if (inner.aborted) throw inner.reason;
    throw connectionError(address, where, e);
  } finally {
    unsubscribe?.();
    timer?.clear();
  }
}

/** Makes the reader/writer pair of a conn into a {@linkcode Connection}. */
function makeConnection(reader: StreamReader, writer: StreamWriter): Connection {
  const pair = [reader, writer];
  Object.defineProperties(pair, {
    reader: { value: reader },
    writer: { value: writer },
    [Symbol.asyncDispose]: { value: () => writer[Symbol.asyncDispose]() },
  });
  return Object.freeze(pair) as unknown as Connection;
}

// -------------------------------------------------------------------- API

/**
 * Opens a TCP connection, over TLS if asked, and returns its reader and
 * writer: asyncio's `open_connection`. `TCP_NODELAY` is set by default (see
 * `noDelay`). Deno races the IPv6 and IPv4 addresses of a host name (RFC 8305
 * Happy Eyeballs); `happyEyeballsDelay` tunes it.
 *
 * The connect is cancelled by `signal`, by cancelling the task it runs in,
 * and by `timeout`; a cancelled connect leaves no socket open.
 *
 * @param host A host name or an IP address (IPv6 with or without brackets).
 * @param port The port, 1 to 65535.
 * @param options `tls`, `signal`, `timeout`, `limit`, `happyEyeballsDelay`,
 * `localAddress`, `noDelay`.
 * @returns The connection: `[reader, writer]`, also `{ reader, writer }`.
 * @throws {ConnectionError} (as a rejection) If the connection is refused,
 * the host does not resolve or the TLS handshake fails; the message names
 * `host:port`, `cause` holds the original error.
 * @throws {TimeoutError} (as a rejection) If `timeout` passes first.
 * @throws {TypeError} (as a rejection) If `host` or an option has the wrong type.
 * @throws {RangeError} (as a rejection) If `port`, `limit`, `timeout` or
 * `happyEyeballsDelay` is out of range.
 *
 * @example An echo round trip
 * ```ts
 * import { openConnection, startServer } from "@aio/asyncio";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = await startServer(async (reader, writer) => {
 *   writer.write(await reader.readLine());
 * }, { host: "127.0.0.1", port: 0 });
 *
 * await using conn = await openConnection("127.0.0.1", server.addr.port, { timeout: 5_000 });
 * const { reader, writer } = conn;
 * writer.write("ping\n");
 * assertEquals(new TextDecoder().decode(await reader.readLine()), "ping\n");
 * ```
 *
 * @example Over TLS
 * ```ts ignore
 * import { openConnection } from "@aio/asyncio";
 *
 * await using conn = await openConnection("example.com", 443, { tls: true });
 * const [reader, writer] = conn;
 * writer.write("HEAD / HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n");
 * console.log(new TextDecoder().decode(await reader.readLine()));
 * ```
 */
export async function openConnection(
  host: string,
  port: number,
  options?: OpenConnectionOptions,
): Promise<Connection> {
  if (options === undefined) options = {};
  const what = "open connection";
  checkString(host, "host", what);
  checkPort(port, what, 1);
  checkOptions(options, what);
  const limit = checkLimit(options.limit, what);
  const timeout = checkMs(options.timeout, "timeout", what);
  const delay = checkMs(options.happyEyeballsDelay, "happyEyeballsDelay", what);
  const noDelay = checkBoolean(options.noDelay ?? undefined, "noDelay", what) ?? true;
  const localAddress = options.localAddress === undefined
    ? undefined
    : checkString(options.localAddress, "localAddress", what);
  const tlsOption = options.tls ?? false;
  if (typeof tlsOption !== "boolean" && (typeof tlsOption !== "object" || tlsOption === null)) {
    throw new TypeError(
      `Cannot ${what}: 'tls' must be a boolean or an object: current value is ${
        describe(tlsOption)
      }`,
    );
  }
  const tls = tlsOption === false ? undefined : tlsOption === true ? {} : tlsOption;
  const bare = unbracket(host);
  const tlsSettings: StartTlsOptions | undefined = tls && {
    hostname: tls.hostname === undefined ? bare : checkString(tls.hostname, "tls.hostname", what),
    caCerts: checkStrings(tls.caCerts, "tls.caCerts", what),
    alpnProtocols: checkStrings(tls.alpnProtocols, "tls.alpnProtocols", what),
  };

  const address = formatAddress(bare, port);
  const conn = await establish(address, { host, port }, {
    signal: options.signal,
    timeout,
  }, async (signal, track) => {
    if (localAddress !== undefined) {
      return await connectFrom(bare, port, {
        localAddress,
        noDelay,
        happyEyeballsDelay: delay,
        tls: tlsSettings,
      }, signal);
    }
    const tcp = await Deno.connect({
      hostname: bare,
      port,
      signal,
      ...(delay === undefined ? {} : { autoSelectFamilyAttemptDelay: Math.ceil(delay) }),
    });
    track(tcp);
    tcp.setNoDelay(noDelay);
    if (tlsSettings === undefined) return tcp;
    const secure = await Deno.startTls(tcp, tlsSettings);
    track(secure);
    await secure.handshake();
    return secure;
  });
  const reader = new StreamReader(conn, { limit });
  const writer = new StreamWriter(conn, { reader });
  setWriterHostname(writer, tlsSettings?.hostname ?? bare);
  return makeConnection(reader, writer);
}

/**
 * Opens a connection to a Unix domain socket and returns its reader and
 * writer: asyncio's `open_unix_connection`. Needs `--allow-read` and
 * `--allow-write` (or `--allow-net=unix:<path>`) for the path.
 *
 * @param path The socket's file system path.
 * @param options `signal`, `timeout`, `limit`.
 * @returns The connection: `[reader, writer]`, also `{ reader, writer }`.
 * @throws {ConnectionError} (as a rejection) If nothing listens at `path`;
 * the message names the path.
 * @throws {TimeoutError} (as a rejection) If `timeout` passes first.
 * @throws {TypeError} (as a rejection) If `path` is not a non-empty string.
 *
 * @example
 * ```ts
 * import { openUnixConnection, startUnixServer } from "@aio/asyncio";
 * import { assertEquals } from "@std/assert";
 *
 * const dir = await Deno.makeTempDir();
 * const path = `${dir}/echo.sock`;
 * {
 *   await using server = await startUnixServer(async (reader, writer) => {
 *     writer.write(await reader.readLine());
 *   }, { path });
 *   await using conn = await openUnixConnection(path);
 *   const [reader, writer] = conn;
 *   writer.write("over a Unix socket\n");
 *   assertEquals(new TextDecoder().decode(await reader.readLine()), "over a Unix socket\n");
 * }
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function openUnixConnection(
  path: string,
  options?: OpenUnixConnectionOptions,
): Promise<Connection> {
  if (options === undefined) options = {};
  const what = "open Unix connection";
  checkString(path, "path", what);
  checkOptions(options, what);
  const limit = checkLimit(options.limit, what);
  const timeout = checkMs(options.timeout, "timeout", what);
  const conn = await establish(path, { path }, { signal: options.signal, timeout }, (signal) =>
    // Deno.connect takes no signal for Unix sockets: settle on abort, and
    // close the conn if it arrives later.
    new Promise<Deno.UnixConn>((resolve, reject) => {
      const pending = Deno.connect({ transport: "unix", path });
      const onAbort = () => {
        reject(abortReason(signal));
        pending.then((c) => c.close(), () => {});
      };
      signal.addEventListener("abort", onAbort, { once: true });
      pending.then((c) => {
        signal.removeEventListener("abort", onAbort);
        resolve(c);
      }, (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      });
    }));
  const reader = new StreamReader(conn, { limit });
  const writer = new StreamWriter(conn, { reader });
  return makeConnection(reader, writer);
}
