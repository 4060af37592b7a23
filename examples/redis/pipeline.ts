/**
 * `Pipeline` and `Multi`: commands queued by hand and sent in one write;
 * a `Multi` wraps them in `MULTI` / `EXEC`.
 *
 * @module
 */

import type { SendOptions } from "./client.ts";
import { RedisError } from "./errors.ts";
import type { RedisArg, RespValue } from "./types.ts";

/** What a pipeline needs of a client: sending commands back to back. */
export interface BatchSender {
  /** Sends the commands back to back; resolves with every reply, errors as values. */
  batch(commands: readonly (readonly RedisArg[])[], options?: SendOptions): Promise<RespValue[]>;
}

/** The options of `exec()`. */
export interface ExecOptions {
  /** Bulk strings as text (default `true`); `false` keeps them as bytes. */
  decode?: boolean;
  /** Aborting it rejects `exec()`; the replies are still read and dropped. */
  signal?: AbortSignal;
  /** Milliseconds to wait for the replies; default the client's `commandTimeout`. */
  timeout?: number;
}

/** Commands queued with `send` or the typed helpers, for a {@linkcode Pipeline} or a {@linkcode Multi}. */
export abstract class CommandQueue {
  protected readonly client: BatchSender;
  protected readonly commands: RedisArg[][] = [];

  /**
   * Creates an empty queue; `RedisClient.pipeline()` and `multi()` are the usual way.
   *
   * @param client Where `exec()` sends the commands.
   */
  constructor(client: BatchSender) {
    this.client = client;
  }

  /** The number of commands queued. */
  get length(): number {
    return this.commands.length;
  }

  /**
   * Queues any command.
   *
   * @param args The command name and its arguments.
   * @returns This queue.
   */
  send(...args: RedisArg[]): this {
    this.commands.push(args);
    return this;
  }

  /**
   * Queues `SET key value`.
   *
   * @param key The key.
   * @param value The value.
   * @returns This queue.
   */
  set(key: RedisArg, value: RedisArg): this {
    return this.send("SET", key, value);
  }

  /**
   * Queues `GET key`.
   *
   * @param key The key.
   * @returns This queue.
   */
  get(key: RedisArg): this {
    return this.send("GET", key);
  }

  /**
   * Queues `INCR key`.
   *
   * @param key The key.
   * @returns This queue.
   */
  incr(key: RedisArg): this {
    return this.send("INCR", key);
  }

  /**
   * Queues `HSET key field value...`.
   *
   * @param key The hash's key.
   * @param fields The fields.
   * @returns This queue.
   */
  hset(key: RedisArg, fields: Record<string, RedisArg>): this {
    return this.send("HSET", key, ...Object.entries(fields).flat());
  }

  /**
   * Queues `DEL key...`.
   *
   * @param keys The keys.
   * @returns This queue.
   */
  del(...keys: RedisArg[]): this {
    return this.send("DEL", ...keys);
  }
}

/**
 * Commands queued with `send` (or the typed helpers) and sent together by
 * {@linkcode Pipeline.exec}, in one write; the replies come back as one
 * array, error replies included as {@linkcode RedisError} values.
 *
 * @example
 * ```ts ignore
 * const [ok, n, value] = await redis.pipeline().set("a", "1").incr("a").get("a").exec();
 * // "OK", 2, "2"
 * ```
 */
export class Pipeline extends CommandQueue {
  /**
   * Sends the queued commands in one write.
   *
   * @param options `decode` (default `true`), `signal`, `timeout`.
   * @returns Every reply in order; an error reply is a {@linkcode RedisError} in its place.
   * @throws {RedisConnectionError} (as a rejection) If the connection fails.
   */
  exec(options?: ExecOptions): Promise<RespValue[]> {
    return this.client.batch(this.commands, { ...options, decode: options?.decode ?? true });
  }
}

/**
 * A transaction: the queued commands sent as `MULTI`, the commands, `EXEC`,
 * in one write. The server runs them as one.
 *
 * @example
 * ```ts ignore
 * const [n, m] = await redis.multi().incr("a").incr("a").exec(); // 1, 2
 * ```
 */
export class Multi extends CommandQueue {
  /**
   * Sends the transaction.
   *
   * @param options `decode` (default `true`), `signal`, `timeout`.
   * @returns `EXEC`'s replies (a failed command's error as a
   * {@linkcode RedisError} in its place), or `null` if a `WATCH`ed key changed.
   * @throws {RedisError} (as a rejection) With code `EXECABORT` if a command
   * was refused while queued (its error is the `cause`).
   */
  async exec(options?: ExecOptions): Promise<RespValue[] | null> {
    const replies = await this.client.batch(
      [["MULTI"], ...this.commands, ["EXEC"]],
      { ...options, decode: options?.decode ?? true },
    );
    const exec = replies[replies.length - 1];
    if (exec instanceof RedisError) {
      const refused = replies.slice(0, -1).find((r) => r instanceof RedisError);
      if (refused !== undefined) (exec as { cause?: unknown }).cause = refused;
      throw exec;
    }
    return exec as RespValue[] | null;
  }
}
