/**
 * `RedisPool`: a bounded set of clients, each on its own connection, for
 * blocking commands (`BLPOP`) and for servers whose request handlers each
 * borrow a connection. Built on aio's `Semaphore`.
 *
 * @module
 */

import { InvalidStateError, type Permit, Semaphore } from "../../mod.ts";
import { checkNumber } from "../_shared/mod.ts";
import { RedisClient, type RedisClientOptions } from "./client.ts";

/** Settings of a {@linkcode RedisPool}: a client's, and the pool's size. */
export interface RedisPoolOptions extends RedisClientOptions {
  /** The most connections open at once; default 10. */
  size?: number;
}

/** A client borrowed from a pool; `release()` (or `using`) gives it back. */
export interface PooledClient extends Disposable {
  /** The client: its own connection, for as long as it is borrowed. */
  readonly client: RedisClient;
  /** Gives the client back to the pool; releasing twice does nothing. */
  release(): void;
}

/**
 * At most `size` clients, each with its own connection, lent one caller at
 * a time. A caller beyond that waits (cancellably) for one to come back.
 * Connections open on first use and reconnect as a client's do; a client
 * whose blocking command was cancelled comes back with its connection
 * closed and opens a fresh one next time.
 *
 * @example
 * ```ts ignore
 * await using pool = new RedisPool({ port: 6379, size: 4 });
 * const popped = await pool.use((redis) => redis.blpop("jobs", 5));
 * {
 *   using lease = await pool.acquire();
 *   await lease.client.hset("car", { key1: 1 });
 * }
 * ```
 */
export class RedisPool {
  readonly #options: RedisPoolOptions;
  readonly #slots: Semaphore;
  readonly #idle: RedisClient[] = [];
  readonly #all = new Set<RedisClient>();
  #closed = false;

  /**
   * Creates a pool; no connection opens until a client is used.
   *
   * @param options A client's settings, and `size`.
   * @throws {RangeError} If `size` is not an integer >= 1, or a client option is out of range.
   */
  constructor(options: RedisPoolOptions = {}) {
    const size = checkNumber(options.size, "create RedisPool", "size", 1, "integer") ?? 10;
    new RedisClient(options); // checks the client options now
    this.#options = options;
    this.#slots = new Semaphore(size);
  }

  /** The number of clients made so far (busy and idle). */
  get size(): number {
    return this.#all.size;
  }

  /**
   * Borrows a client, waiting for one to come back if all are lent.
   *
   * @param options `signal` to stop waiting.
   * @returns The lease: `lease.client`, then `lease.release()` (or `using`).
   * @throws {InvalidStateError} (as a rejection) If the pool is closed.
   */
  async acquire(options?: { signal?: AbortSignal }): Promise<PooledClient> {
    if (this.#closed) throw new InvalidStateError("Cannot acquire a client: the pool is closed");
    const permit: Permit = await this.#slots.acquire(options);
    if (this.#closed) {
      permit.release();
      throw new InvalidStateError("Cannot acquire a client: the pool is closed");
    }
    let client = this.#idle.pop();
    if (client === undefined) {
      client = new RedisClient(this.#options);
      this.#all.add(client);
    }
    const lent = client;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      if (this.#closed) void lent.close();
      else this.#idle.push(lent);
      permit.release();
    };
    return { client: lent, release, [Symbol.dispose]: release };
  }

  /**
   * Runs `fn` with a borrowed client, and gives it back however `fn` ends.
   *
   * @typeParam T What `fn` returns.
   * @param fn Uses the client.
   * @param options `signal` to stop waiting for a client.
   * @returns What `fn` returned.
   */
  async use<T>(
    fn: (client: RedisClient) => T | Promise<T>,
    options?: { signal?: AbortSignal },
  ): Promise<T> {
    using lease = await this.acquire(options);
    return await fn(lease.client);
  }

  /**
   * Closes every client: idle ones now, lent ones as they come back (their
   * commands in flight reject).
   *
   * @returns A promise that resolves once the connections are closed.
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.#idle.length = 0;
    await Promise.all([...this.#all].map((client) => client.close()));
  }

  /** Closes the pool ({@linkcode RedisPool.close}). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
