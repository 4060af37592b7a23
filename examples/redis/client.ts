/**
 * `RedisClient`: a Redis client on one connection, opened on first use and
 * reopened with backoff after a failure. Commands issued in the same turn
 * go out in one write (automatic pipelining); explicit pipelines,
 * transactions and subscriptions are built on it.
 *
 * @module
 */

import { createFuture, createTask, type Future, sleep, TimeoutError } from "../../mod.ts";
import { checkNumber } from "../_shared/mod.ts";
import { type CommandOptions, type ConnectionOptions, RedisConnection } from "./connection.ts";
import { RedisConnectionError } from "./errors.ts";
import { Multi, Pipeline } from "./pipeline.ts";
import { Subscription } from "./pubsub.ts";
import { decodeText } from "./text.ts";
import type { RedisArg, RespValue } from "./types.ts";

/** How a client reconnects after its connection failed. */
export interface ReconnectOptions {
  /** Connect attempts per reconnect before giving up; default 10. */
  attempts?: number;
  /** Milliseconds before the second attempt; each wait doubles; default 50. */
  minDelay?: number;
  /** The longest wait between attempts, in milliseconds; default 2 000. */
  maxDelay?: number;
}

/** Settings of a {@linkcode RedisClient}. */
export interface RedisClientOptions extends ConnectionOptions {
  /** Milliseconds a command may wait for its reply before rejecting with a `TimeoutError`; default no limit. */
  commandTimeout?: number;
  /** Reconnect settings. */
  reconnect?: ReconnectOptions;
}

/** Options of `SET`. */
export interface SetOptions {
  /** Expire after this many seconds (`EX`). */
  ex?: number;
  /** Expire after this many milliseconds (`PX`). */
  px?: number;
  /** Only set if the key does not exist (`NX`). */
  nx?: boolean;
  /** Only set if the key exists (`XX`). */
  xx?: boolean;
}

/** Command options and a per-command timeout. */
export interface SendOptions extends CommandOptions {
  /** Milliseconds to wait for the reply (`Infinity`: no limit); default the client's `commandTimeout`. */
  timeout?: number;
}

/**
 * Turns a `HGETALL` reply (a RESP3 map, or a RESP2 flat array) into a record.
 *
 * @param reply The decoded reply.
 * @returns The fields and values.
 */
export function toRecord(reply: RespValue): Record<string, string> {
  const record: Record<string, string> = {};
  if (reply instanceof Map) {
    for (const [k, v] of reply) record[String(k)] = String(v);
  } else if (Array.isArray(reply)) {
    for (let i = 0; i + 1 < reply.length; i += 2) record[String(reply[i])] = String(reply[i + 1]);
  }
  return record;
}

/**
 * A Redis client. The connection opens on the first command (or with
 * {@linkcode RedisClient.connect}); if it fails, the commands in flight
 * reject with a {@linkcode RedisConnectionError} and the next command
 * reconnects, with exponential backoff.
 *
 * Every command returns a promise. Commands issued in the same turn go to
 * the server in one write, and their replies are matched in order. A
 * command is cancelled by its `signal`, by its timeout, or by cancelling the
 * task awaiting it; its reply is still read and dropped, so the next
 * command gets its own. A cancelled blocking command (`BLPOP`...) closes
 * the connection instead: use a {@linkcode RedisPool} for those.
 *
 * @example
 * ```ts ignore
 * import { RedisClient } from "./client.ts";
 *
 * await using redis = await RedisClient.connect({ port: 6379 });
 * await redis.hset("car", { key1: 1, key2: 2 });
 * console.log(await redis.hgetall("car")); // { key1: "1", key2: "2" }
 * ```
 */
export class RedisClient {
  readonly #options: RedisClientOptions;
  #connection: RedisConnection | undefined;
  #opening: Promise<RedisConnection> | undefined;
  #closed = false;
  readonly #attempts: number;
  readonly #minDelay: number;
  readonly #maxDelay: number;
  readonly #commandTimeout: number | undefined;

  /**
   * Creates a client; it connects on its first command.
   *
   * @param options The server, login and limits.
   * @throws {RangeError} If a numeric option is out of range.
   */
  constructor(options: RedisClientOptions = {}) {
    const what = "create RedisClient";
    checkNumber(options.port, what, "port", 0, "integer");
    checkNumber(options.db, what, "db", 0, "integer");
    checkNumber(options.connectTimeout, what, "connectTimeout", 0, "ms");
    this.#commandTimeout = checkNumber(options.commandTimeout, what, "commandTimeout", 0, "ms");
    const reconnect = options.reconnect ?? {};
    this.#attempts = checkNumber(reconnect.attempts, what, "reconnect.attempts", 1, "integer") ??
      10;
    this.#minDelay = checkNumber(reconnect.minDelay, what, "reconnect.minDelay", 0, "ms") ?? 50;
    this.#maxDelay = checkNumber(reconnect.maxDelay, what, "reconnect.maxDelay", 0, "ms") ?? 2_000;
    if (options.protocol !== undefined && options.protocol !== 2 && options.protocol !== 3) {
      throw new RangeError(
        `Cannot ${what}: 'protocol' must be 2 or 3: current value is ${options.protocol}`,
      );
    }
    this.#options = { ...options };
  }

  /**
   * Creates a client and opens its connection.
   *
   * @param options The server, login and limits.
   * @returns The connected client.
   * @throws {RedisConnectionError} (as a rejection) If the server cannot be reached.
   * @throws {RedisError} (as a rejection) If the login fails.
   */
  static async connect(options: RedisClientOptions = {}): Promise<RedisClient> {
    const client = new RedisClient(options);
    try {
      await client.#connect(undefined);
    } catch (e) {
      await client.close();
      throw e;
    }
    return client;
  }

  /** The settings this client was made with (for pools and subscriptions). */
  get options(): Readonly<RedisClientOptions> {
    return this.#options;
  }

  /** The protocol of the open connection (2 or 3), or `undefined` when none is open. */
  get protocol(): 2 | 3 | undefined {
    const c = this.#connection;
    return c === undefined || c.closed ? undefined : c.protocol;
  }

  /** The open connection, or a promise of one (reconnecting if needed). */
  #connect(signal: AbortSignal | undefined): RedisConnection | Future<RedisConnection> {
    const live = this.#connection;
    if (live !== undefined && !live.closed) return live;
    if (this.#closed) {
      throw new RedisConnectionError("Cannot send a command: the client is closed");
    }
    // Opened in a task of its own, so that the first caller's cancellation
    // does not fail the others' connect.
    this.#opening ??= createTask(() => this.#open(), { name: "redis connect" }).finally(() => {
      this.#opening = undefined;
    });
    // Each caller waits on a future of its own: awaiting it links it to the
    // caller's task (or timeout block), whose cancellation then ends the wait.
    const waiting = createFuture<RedisConnection>();
    const onAbort = () => {
      if (!waiting.done()) waiting.setException(signal!.reason);
    };
    if (signal?.aborted) onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    this.#opening.then(
      (c) => !waiting.done() && waiting.setResult(c),
      (e) => !waiting.done() && waiting.setException(e),
    ).finally(() => signal?.removeEventListener("abort", onAbort));
    return waiting;
  }

  async #open(): Promise<RedisConnection> {
    let delay = this.#minDelay;
    for (let attempt = 1;; attempt++) {
      try {
        const connection = await RedisConnection.open(this.#options);
        if (this.#closed) {
          await connection.close();
          throw new RedisConnectionError("Cannot send a command: the client is closed");
        }
        this.#connection = connection;
        return connection;
      } catch (e) {
        const retry = (e instanceof RedisConnectionError || e instanceof TimeoutError) &&
          !this.#closed && attempt < this.#attempts;
        if (!retry) throw e;
      }
      await sleep(delay);
      delay = Math.min(delay * 2, this.#maxDelay);
    }
  }

  /**
   * Sends a command and returns its raw reply (bulk strings as bytes).
   *
   * @param args The command name and its arguments.
   * @returns The reply.
   * @throws {RedisError} (as a rejection) If the server answers with an error.
   * @throws {RedisConnectionError} (as a rejection) If the connection fails.
   *
   * @example
   * ```ts ignore
   * const reply = await redis.send("OBJECT", "ENCODING", "car");
   * ```
   */
  send(...args: RedisArg[]): Promise<RespValue> {
    return this.command(args);
  }

  /**
   * Sends a command with options.
   *
   * @param args The command name and its arguments.
   * @param options `decode` (bulk strings as text), `signal`, `timeout`.
   * @returns The reply.
   * @throws {RedisError} (as a rejection) If the server answers with an error.
   * @throws {RedisConnectionError} (as a rejection) If the connection fails.
   * @throws {TimeoutError} (as a rejection) If the reply takes longer than the timeout.
   */
  command(args: readonly RedisArg[], options?: SendOptions): Promise<RespValue> {
    return this.#run((c, o) => c.send(args, o), options);
  }

  /**
   * Sends commands back to back; returns every reply, errors as values.
   * Used by {@linkcode Pipeline} and {@linkcode Multi}.
   *
   * @param commands The commands.
   * @param options `decode`, `signal`, `timeout`.
   * @returns Their replies in order.
   * @throws {RedisConnectionError} (as a rejection) If the connection fails.
   */
  batch(commands: readonly (readonly RedisArg[])[], options?: SendOptions): Promise<RespValue[]> {
    return this.#run((c, o) => c.batch(commands, o), options);
  }

  #run<T>(
    send: (c: RedisConnection, o: CommandOptions | undefined) => Future<T>,
    options: SendOptions | undefined,
  ): Promise<T> {
    let ms = options?.timeout ?? this.#commandTimeout;
    if (ms === Infinity) ms = undefined;
    let connection: RedisConnection | Future<RedisConnection>;
    try {
      connection = this.#connect(options?.signal);
    } catch (e) {
      return Promise.reject(e);
    }
    if (ms === undefined) {
      if (connection instanceof RedisConnection) return send(connection, options) as Promise<T>;
      return connection.then((c) => send(c, options));
    }
    return this.#withTimeout(ms, connection, send, options);
  }

  async #withTimeout<T>(
    ms: number,
    connection: RedisConnection | Future<RedisConnection>,
    send: (c: RedisConnection, o: CommandOptions | undefined) => Future<T>,
    options: SendOptions | undefined,
  ): Promise<T> {
    const controller = new AbortController();
    const outer = options?.signal;
    const onAbort = () => controller.abort(outer!.reason);
    if (outer?.aborted) onAbort();
    outer?.addEventListener("abort", onAbort, { once: true });
    const timer = setTimeout(
      () => controller.abort(new TimeoutError(`The Redis command timed out after ${ms} ms`)),
      ms,
    );
    try {
      const c = await connection;
      return await send(c, { ...options, signal: controller.signal });
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener("abort", onAbort);
    }
  }

  // ---------------------------------------------------------------- commands

  /**
   * `SET key value`, with an expiry or a condition.
   *
   * @param key The key.
   * @param value The value: text, bytes or a number.
   * @param options `ex`, `px`, `nx`, `xx`.
   * @returns `"OK"`, or `null` when a condition (`nx`, `xx`) prevented the write.
   */
  async set(key: RedisArg, value: RedisArg, options?: SetOptions): Promise<string | null> {
    const args: RedisArg[] = ["SET", key, value];
    if (options?.ex !== undefined) args.push("EX", options.ex);
    if (options?.px !== undefined) args.push("PX", options.px);
    if (options?.nx) args.push("NX");
    if (options?.xx) args.push("XX");
    return await this.command(args) as string | null;
  }

  /**
   * `GET key`, decoded as UTF-8.
   *
   * @param key The key.
   * @returns The value, or `null` if the key does not exist.
   */
  async get(key: RedisArg): Promise<string | null> {
    const value = await this.command(["GET", key]);
    return value === null ? null : decodeText(value as Uint8Array);
  }

  /**
   * `GET key`, as bytes.
   *
   * @param key The key.
   * @returns The value, or `null` if the key does not exist.
   */
  async getBytes(key: RedisArg): Promise<Uint8Array | null> {
    return await this.command(["GET", key]) as Uint8Array | null;
  }

  /**
   * `HSET key field value...`.
   *
   * @param key The hash's key.
   * @param fields The fields to set.
   * @returns How many fields were added (not updated).
   */
  async hset(key: RedisArg, fields: Record<string, RedisArg>): Promise<number> {
    const args: RedisArg[] = ["HSET", key];
    for (const [field, value] of Object.entries(fields)) args.push(field, value);
    return await this.command(args) as number;
  }

  /**
   * `HGETALL key`, decoded as UTF-8.
   *
   * @param key The hash's key.
   * @returns The fields and values (empty if the key does not exist).
   */
  async hgetall(key: RedisArg): Promise<Record<string, string>> {
    return toRecord(await this.command(["HGETALL", key], { decode: true }));
  }

  /**
   * `DEL key...`.
   *
   * @param keys The keys.
   * @returns How many existed.
   */
  async del(...keys: RedisArg[]): Promise<number> {
    return await this.command(["DEL", ...keys]) as number;
  }

  /**
   * `INCR key`.
   *
   * @param key The key.
   * @returns The new value.
   */
  async incr(key: RedisArg): Promise<number> {
    return await this.command(["INCR", key]) as number;
  }

  /**
   * `EXPIRE key seconds`.
   *
   * @param key The key.
   * @param seconds The time to live.
   * @returns Whether the key exists (and now expires).
   */
  async expire(key: RedisArg, seconds: number): Promise<boolean> {
    return await this.command(["EXPIRE", key, seconds]) === 1;
  }

  /**
   * `LPUSH key value...`.
   *
   * @param key The list's key.
   * @param values The values, pushed in order (the last ends up first).
   * @returns The list's new length.
   */
  async lpush(key: RedisArg, ...values: RedisArg[]): Promise<number> {
    return await this.command(["LPUSH", key, ...values]) as number;
  }

  /**
   * `BLPOP key... timeout`: waits for an element. It blocks the connection:
   * run it on a client of its own (a {@linkcode RedisPool}'s).
   *
   * @param keys The lists to pop from, in order of preference.
   * @param seconds How long the server waits; 0 waits forever.
   * @param options `signal`: cancelling closes the connection.
   * @returns The list's key and the element, or `null` on the server's timeout.
   */
  async blpop(
    keys: RedisArg | RedisArg[],
    seconds: number,
    options?: { signal?: AbortSignal },
  ): Promise<[string, string] | null> {
    const args: RedisArg[] = ["BLPOP", ...(Array.isArray(keys) ? keys : [keys]), seconds];
    const reply = await this.command(args, {
      decode: true,
      signal: options?.signal,
      timeout: Infinity,
    });
    return reply === null ? null : reply as [string, string];
  }

  /**
   * `PUBLISH channel message`.
   *
   * @param channel The channel.
   * @param message The message.
   * @returns How many subscribers got it.
   */
  async publish(channel: RedisArg, message: RedisArg): Promise<number> {
    return await this.command(["PUBLISH", channel, message]) as number;
  }

  // ------------------------------------------------------- batches and pub/sub

  /**
   * Starts an explicit pipeline: queue commands, then send them in one
   * write with `exec()`.
   *
   * @returns A new pipeline.
   */
  pipeline(): Pipeline {
    return new Pipeline(this);
  }

  /**
   * Starts a transaction: queue commands, then `exec()` sends
   * `MULTI`, them and `EXEC` in one write.
   *
   * @returns A new transaction.
   */
  multi(): Multi {
    return new Multi(this);
  }

  /**
   * Subscribes to channels on a connection of its own.
   *
   * @param channels The channels.
   * @returns The subscription: iterate it with `for await`.
   */
  subscribe(...channels: string[]): Promise<Subscription> {
    return Subscription.open(this.#options, channels, []);
  }

  /**
   * Subscribes to channel patterns (`news.*`) on a connection of its own.
   *
   * @param patterns The patterns.
   * @returns The subscription: iterate it with `for await`.
   */
  psubscribe(...patterns: string[]): Promise<Subscription> {
    return Subscription.open(this.#options, [], patterns);
  }

  /**
   * Closes the client: commands still waiting reject with a
   * {@linkcode RedisConnectionError}, and no new connection is opened.
   *
   * @returns A promise that resolves once the connection is closed.
   */
  async close(): Promise<void> {
    this.#closed = true;
    const opening = this.#opening;
    if (opening !== undefined) await opening.catch(() => {});
    await this.#connection?.close();
  }

  /** Closes the client ({@linkcode RedisClient.close}). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
