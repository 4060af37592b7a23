/**
 * A pool of connections to one server, bounded by aio's `Semaphore`: at
 * most `size` connections exist at once; a job waits (cancellably) for a
 * free one. A connection that was closed by a failure is dropped and a new
 * one is opened for the next job.
 *
 * @module
 */

import { InvalidStateError, type Permit, Semaphore } from "../../mod.ts";
import {
  type CommandOptions,
  type ConnectOptions,
  MysqlConnection,
  type Result,
  type RowStream,
  streamRows,
} from "./connection.ts";
import type { Param } from "./types.ts";

/** Settings of a {@linkcode MysqlPool}: how to connect, and how many at once. */
export interface PoolOptions extends ConnectOptions {
  /** The most connections open at once; default 10. */
  size?: number;
}

/** A connection lent by the pool; `await using` (or `release()`) gives it back. */
export interface PooledConnection extends AsyncDisposable {
  /** The connection. */
  readonly connection: MysqlConnection;
  /** Gives the connection back (once; later calls do nothing). */
  release(): void;
}

/**
 * A bounded pool of {@linkcode MysqlConnection}s.
 *
 * @example
 * ```ts ignore
 * import { MysqlPool } from "./mod.ts";
 *
 * await using pool = new MysqlPool({ port: 3306, user: "app", password: "pw", size: 10 });
 * const { rows } = await pool.query("SELECT name FROM users WHERE id = ?", [1]);
 * ```
 */
export class MysqlPool implements AsyncDisposable {
  readonly #options: ConnectOptions;
  readonly #permits: Semaphore;
  readonly #idle: MysqlConnection[] = [];
  readonly #open = new Set<MysqlConnection>();
  #closed = false;

  /**
   * Creates a pool; connections are opened when first needed.
   *
   * @param options How to connect, and `size`.
   */
  constructor(options: PoolOptions) {
    const { size = 10, ...connect } = options;
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError(
        `Cannot create pool: 'size' must be an integer >= 1: current value is ${size}`,
      );
    }
    this.#options = connect;
    this.#permits = new Semaphore(size);
  }

  /** How many connections are open (busy or idle). */
  get openCount(): number {
    return this.#open.size;
  }

  /**
   * Borrows a connection, waiting for one if `size` are busy.
   *
   * @param options `signal` to stop waiting.
   * @returns The connection, to give back with `release()` or `await using`.
   * @throws {InvalidStateError} If the pool is closed.
   */
  async acquire(options?: { signal?: AbortSignal }): Promise<PooledConnection> {
    const [connection, permit] = await this.#take(options?.signal);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.#giveBack(connection, permit);
    };
    return {
      connection,
      release,
      [Symbol.asyncDispose]: () => Promise.resolve(release()),
    };
  }

  /** Takes a permit, then an idle connection or a new one. */
  async #take(signal: AbortSignal | undefined): Promise<[MysqlConnection, Permit]> {
    this.#checkOpen();
    const permit = await this.#permits.acquire({ signal });
    try {
      this.#checkOpen();
      while (this.#idle.length > 0) {
        const idle = this.#idle.pop()!;
        if (!idle.closed) return [idle, permit];
        this.#open.delete(idle);
      }
      const connection = await MysqlConnection.connect({ ...this.#options, signal });
      this.#open.add(connection);
      return [connection, permit];
    } catch (e) {
      permit.release();
      throw e;
    }
  }

  /** Puts a connection back (or drops it, when it is closed or the pool is), and its permit. */
  #giveBack(connection: MysqlConnection, permit: Permit): void {
    if (connection.closed) this.#open.delete(connection);
    else if (this.#closed) {
      this.#open.delete(connection);
      void connection.close();
    } else this.#idle.push(connection);
    permit.release();
  }

  #checkOpen(): void {
    if (this.#closed) throw new InvalidStateError("Cannot use pool: it is closed");
  }

  /**
   * Runs one statement on a pooled connection (see {@linkcode MysqlConnection.query}).
   *
   * @param sql The statement.
   * @param params Its parameters (binary protocol), or none (text).
   * @param options `signal` and `timeout`.
   * @returns The result.
   */
  async query(sql: string, params?: readonly Param[], options?: CommandOptions): Promise<Result> {
    const [connection, permit] = await this.#take(options?.signal);
    try {
      return await connection.query(sql, params, options);
    } finally {
      this.#giveBack(connection, permit);
    }
  }

  /**
   * Runs statements returning several result sets (see {@linkcode MysqlConnection.queryAll}).
   *
   * @param sql The statements.
   * @param params Parameters of a single prepared statement.
   * @param options `signal` and `timeout`.
   * @returns Every result.
   */
  async queryAll(
    sql: string,
    params?: readonly Param[],
    options?: CommandOptions,
  ): Promise<Result[]> {
    const [connection, permit] = await this.#take(options?.signal);
    try {
      return await connection.queryAll(sql, params, options);
    } finally {
      this.#giveBack(connection, permit);
    }
  }

  /**
   * Streams a query's rows on a pooled connection, held until the loop ends.
   *
   * @param sql The query.
   * @param params Its parameters, or none.
   * @param options `signal`.
   * @returns The rows.
   */
  rows(sql: string, params?: readonly Param[], options?: { signal?: AbortSignal }): RowStream {
    return streamRows((signal) => this.acquire({ signal }), sql, params, options);
  }

  /** Closes every idle connection, and each busy one once it is given back. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const idle = this.#idle.splice(0);
    for (const c of idle) this.#open.delete(c);
    await Promise.all(idle.map((c) => c.close()));
  }

  /** Same as {@linkcode close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
