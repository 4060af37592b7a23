/**
 * Keep-alive connections, pooled per origin (`scheme://host:port`), with a
 * bound on the connections open to each origin at once.
 *
 * @module
 */

import {
  type Connection,
  InvalidStateError,
  isCancellation,
  openConnection,
  type Permit,
  Semaphore,
  type StreamReader,
  type StreamWriter,
} from "../../mod.ts";

/** Settings of a {@linkcode ConnectionPool}. */
export interface PoolOptions {
  /** The most connections open to one origin at once (busy and idle). */
  maxConnectionsPerOrigin: number;
  /** The most idle connections kept per origin. */
  maxIdlePerOrigin: number;
  /** Idle connections older than this (ms) are not reused. */
  idleTimeout: number;
  /** The reader limit: the largest response head, in bytes. */
  maxHeadSize: number;
  /** Extra root certificates (PEM) to trust for `https:`. */
  caCerts?: string[];
  /** Milliseconds a connect may take. */
  connectTimeout?: number;
}

/** A connection taken from the pool; give it back with `release`. */
export interface PooledConnection {
  /** The connection's reader. */
  readonly reader: StreamReader;
  /** The connection's writer. */
  readonly writer: StreamWriter;
  /** Whether it carried a request before (it may have been closed by the server since). */
  readonly reused: boolean;
}

interface Pooled extends PooledConnection {
  conn: Connection;
  origin: Origin;
  reused: boolean;
  idleSince: number;
  /** The origin's slot this connection holds while busy; `undefined` once released. */
  permit: Permit | undefined;
}

/** The shorter of two optional limits. */
function shortest(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.min(a, b);
}

interface Origin {
  host: string;
  port: number;
  tls: boolean;
  /** One permit per connection open to the origin and busy. */
  slots: Semaphore;
  idle: Pooled[];
}

/**
 * The connections of an HTTP client: at most `maxConnectionsPerOrigin` per
 * origin; a request beyond that waits (cancellably) for one to be released.
 * Released connections that may carry another request are kept idle, newest
 * first, up to `maxIdlePerOrigin`.
 */
export class ConnectionPool {
  readonly #options: PoolOptions;
  readonly #origins = new Map<string, Origin>();
  /** Writers closed and not yet seen closed. */
  readonly #closing = new Set<StreamWriter>();
  #closed = false;

  /**
   * Creates an empty pool.
   *
   * @param options The pool's limits and TLS settings.
   */
  constructor(options: PoolOptions) {
    this.#options = options;
  }

  /**
   * Takes an idle connection to the URL's origin, or opens one.
   *
   * @param url The request URL (`http:` or `https:`).
   * @param signal Cancels the wait for a slot and the connect.
   * @param fresh Never reuse an idle connection.
   * @param connectTimeout Milliseconds a new connection may take to open,
   * besides the pool's own limit.
   * @returns The connection; give it back with {@linkcode ConnectionPool.release}.
   */
  async acquire(
    url: URL,
    signal: AbortSignal | undefined,
    fresh = false,
    connectTimeout?: number,
  ): Promise<PooledConnection> {
    const origin = this.#origin(url);
    const permit = await origin.slots.acquire({ signal });
    try {
      if (this.#closed) {
        throw new InvalidStateError("Cannot send a request: the HTTP client is closed");
      }
      const now = Date.now();
      while (!fresh && origin.idle.length > 0) {
        const idle = origin.idle.pop()!;
        if (
          now - idle.idleSince <= this.#options.idleTimeout && !idle.reader.atEof() &&
          idle.reader.exception() === undefined && !idle.writer.isClosing()
        ) {
          idle.reused = true;
          idle.permit = permit;
          return idle;
        }
        this.#discard(idle);
      }
      const conn = await openConnection(origin.host, origin.port, {
        tls: origin.tls ? { caCerts: this.#options.caCerts } : false,
        signal,
        limit: this.#options.maxHeadSize,
        timeout: shortest(this.#options.connectTimeout, connectTimeout),
      });
      const pooled: Pooled = {
        conn,
        reader: conn.reader,
        writer: conn.writer,
        origin,
        reused: false,
        idleSince: 0,
        permit,
      };
      return pooled;
    } catch (e) {
      permit.release();
      throw e;
    }
  }

  /**
   * Gives a connection back: kept idle if `reusable`, else closed.
   * Releasing twice does nothing.
   *
   * @param connection A connection from {@linkcode ConnectionPool.acquire}.
   * @param reusable Whether it may carry another request.
   */
  release(connection: PooledConnection, reusable: boolean): void {
    const pooled = connection as Pooled;
    const permit = pooled.permit;
    if (permit === undefined) return;
    pooled.permit = undefined;
    const origin = pooled.origin;
    if (reusable && !this.#closed && origin.idle.length < this.#options.maxIdlePerOrigin) {
      pooled.idleSince = Date.now();
      origin.idle.push(pooled);
    } else {
      this.#discard(pooled);
    }
    permit.release();
  }

  /**
   * Closes the idle connections, and every connection released from now on;
   * waits until all of those are closed.
   *
   * @returns A promise that resolves once they are closed.
   */
  async close(): Promise<void> {
    this.#closed = true;
    for (const origin of this.#origins.values()) {
      for (const idle of origin.idle.splice(0)) this.#discard(idle);
    }
    // Waits here too: a wait started in a cancelled task ended at once.
    const writers = [...this.#closing];
    this.#closing.clear();
    await Promise.all(writers.map((writer) => writer.waitClosed().catch(() => {})));
  }

  /** The number of idle connections, for tests. */
  get idleCount(): number {
    let n = 0;
    for (const origin of this.#origins.values()) n += origin.idle.length;
    return n;
  }

  #origin(url: URL): Origin {
    const tls = url.protocol === "https:";
    const port = url.port === "" ? (tls ? 443 : 80) : Number(url.port);
    const key = `${url.protocol}//${url.hostname}:${port}`;
    let origin = this.#origins.get(key);
    if (origin === undefined) {
      origin = {
        host: url.hostname,
        port,
        tls,
        slots: new Semaphore(this.#options.maxConnectionsPerOrigin),
        idle: [],
      };
      this.#origins.set(key, origin);
    }
    return origin;
  }

  #discard(pooled: Pooled): void {
    const writer = pooled.writer;
    writer.close();
    this.#closing.add(writer);
    const forget = () => void this.#closing.delete(writer);
    writer.waitClosed().then(forget, (e) => {
      if (!isCancellation(e)) forget();
    });
  }
}
