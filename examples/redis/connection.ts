/**
 * `RedisConnection`: one socket to a Redis server. Commands are written as
 * soon as they are issued (the writer sends everything issued in the same
 * turn in one write) and one reading task matches replies to commands in
 * order. A command whose caller gave up still has its reply read and
 * dropped, so a later command never gets an earlier one's reply.
 *
 * @module
 */

import {
  createFuture,
  createTask,
  type Future,
  isCancellation,
  openConnection,
  type StreamReader,
  type StreamWriter,
  type Task,
  timeout,
  type TlsOptions,
} from "../../mod.ts";
import { CommandEncoder } from "./encoder.ts";
import { RedisConnectionError, RedisError, RedisProtocolError } from "./errors.ts";
import { RespParser } from "./parser.ts";
import { decodeText } from "./text.ts";
import { type RedisArg, RespPush, type RespValue } from "./types.ts";

/** How to reach and log in to a server: the settings of one connection. */
export interface ConnectionOptions {
  /** The server's host; default `"127.0.0.1"`. */
  host?: string;
  /** The server's port; default 6379. */
  port?: number;
  /** `true` or TLS settings to connect over TLS (through `openConnection`'s `tls`). */
  tls?: boolean | TlsOptions;
  /** The ACL user name; with `password`, logs in as that user (`AUTH user password`). */
  username?: string;
  /** The password (`AUTH password`, or the user's with `username`). */
  password?: string;
  /** The database to `SELECT`; default 0. */
  db?: number;
  /** The protocol: 3 (default) asks for RESP3 with `HELLO 3` and falls back to RESP2; 2 never asks. */
  protocol?: 2 | 3;
  /** Milliseconds the connect, TLS handshake and login may take; default 10 000. */
  connectTimeout?: number;
  /** The longest bulk string accepted in a reply, in bytes; default 512 MiB. */
  maxBulkLength?: number;
  /** The deepest nesting of aggregates accepted in a reply; default 64. */
  maxDepth?: number;
  /** The longest line (simple string, error, length header) accepted; default 64 KiB. */
  maxLineLength?: number;
  /**
   * Receives RESP3 push messages that are not a subscription's (client-side
   * caching invalidations, `DEBUG PROTOCOL push`...); default: dropped.
   */
  onPush?: (push: RespPush) => void;
}

/** Options of one command. */
export interface CommandOptions {
  /** Return bulk strings as text (UTF-8) rather than bytes. */
  decode?: boolean;
  /** Aborting it rejects the command's promise; its reply is still read and dropped. */
  signal?: AbortSignal;
}

/** Commands that may block the connection until a timeout or another client acts. */
const BLOCKING = new Set([
  "BLPOP",
  "BRPOP",
  "BLMOVE",
  "BRPOPLPUSH",
  "BLMPOP",
  "BZPOPMIN",
  "BZPOPMAX",
  "BZMPOP",
  "WAIT",
  "XREAD",
  "XREADGROUP",
]);

/** Whether a command may block: one of the blocking commands, by name. */
export function isBlocking(args: readonly RedisArg[]): boolean {
  const name = args[0];
  return typeof name === "string" && name.length <= 10 && BLOCKING.has(name.toUpperCase());
}

/** One command or batch waiting for its replies. */
interface Pending {
  /** Replies still to come. */
  left: number;
  /** For a batch, the replies so far; `undefined` for one command. */
  values: RespValue[] | undefined;
  decode: boolean;
  /** Settled with the reply; done early if the caller gave up (its reply is then dropped). */
  future: Future<never>;
  cleanup: (() => void) | undefined;
}

/** Microtasks in a row without a reply delivered before commands waiting to go out are flushed. */
const QUIET_TURNS = 8;

/** The subscription replies a connection in pub/sub mode passes to its push handler. */
const PUBSUB_KINDS = new Set([
  "message",
  "pmessage",
  "smessage",
  "subscribe",
  "psubscribe",
  "ssubscribe",
  "unsubscribe",
  "punsubscribe",
  "sunsubscribe",
]);

/**
 * Bulk strings (deeply) decoded as UTF-8 text.
 *
 * @param value A reply as the parser returned it.
 * @returns The same reply with text for bytes.
 */
export function decodeValue(value: RespValue): RespValue {
  if (value instanceof Uint8Array) return decodeText(value);
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map(decodeValue);
  if (value instanceof Map) {
    const map = new Map<RespValue, RespValue>();
    for (const [k, v] of value) map.set(decodeValue(k), decodeValue(v));
    return map;
  }
  if (value instanceof Set) return new Set([...value].map(decodeValue));
  return value;
}

/**
 * One connection to a Redis server, logged in and with its database selected.
 * Most programs use a {@linkcode RedisClient}, which opens (and reopens)
 * connections itself.
 *
 * @example
 * ```ts ignore
 * import { RedisConnection } from "./connection.ts";
 *
 * await using conn = await RedisConnection.open({ port: 6379 });
 * await conn.send(["SET", "greeting", "hello"]);
 * console.log(await conn.send(["GET", "greeting"], { decode: true })); // "hello"
 * ```
 */
export class RedisConnection {
  readonly #reader: StreamReader;
  readonly #writer: StreamWriter;
  readonly #parser: RespParser;
  readonly #address: string;
  #pending: Pending[] = [];
  #head = 0;
  #error: Error | undefined;
  #loop: Task<void> | undefined;
  #protocol: 2 | 3 = 2;
  #onPush: ((push: RespPush) => void) | undefined;
  #pubsub = false;
  #onClose: ((error: Error) => void) | undefined;
  /** Commands encoded and not yet handed to the writer. */
  readonly #out = new CommandEncoder();
  /** Whether a flush is scheduled. */
  #flushing = false;
  /** Replies delivered so far, and as the scheduled flush last saw them. */
  #delivered = 0;
  #seen = 0;
  /** Turns in a row the scheduled flush saw no reply delivered. */
  #quiet = 0;
  readonly #flush = () => {
    if (this.#delivered !== this.#seen) {
      this.#seen = this.#delivered;
      this.#quiet = 0;
      queueMicrotask(this.#flush);
      return;
    }
    if (++this.#quiet < QUIET_TURNS) {
      queueMicrotask(this.#flush);
      return;
    }
    this.#flushing = false;
    if (this.#error === undefined && this.#out.length > 0) this.#writer.write(this.#out.take());
  };

  private constructor(reader: StreamReader, writer: StreamWriter, options: ConnectionOptions) {
    this.#reader = reader;
    this.#writer = writer;
    this.#address = `${options.host ?? "127.0.0.1"}:${options.port ?? 6379}`;
    this.#parser = new RespParser(reader, options, options.maxLineLength ?? 64 * 1024);
    this.#onPush = options.onPush;
  }

  /**
   * Opens a connection: connects (over TLS if asked), then `HELLO 3` (with
   * the login), or `AUTH`, then `SELECT`, all in one round trip.
   *
   * @param options Where to connect and how to log in.
   * @param signal Cancels the connect and the login.
   * @returns The open connection.
   * @throws {RedisConnectionError} (as a rejection) If the server cannot be reached.
   * @throws {RedisError} (as a rejection) If the login or `SELECT` fails (`WRONGPASS`, `NOAUTH`...).
   * @throws {TimeoutError} (as a rejection) If it takes longer than `connectTimeout`.
   */
  static open(options: ConnectionOptions, signal?: AbortSignal): Promise<RedisConnection> {
    const ms = options.connectTimeout ?? 10_000;
    return timeout(ms, (inner) => RedisConnection.#open(options, inner), { signal });
  }

  static async #open(options: ConnectionOptions, signal: AbortSignal): Promise<RedisConnection> {
    const host = options.host ?? "127.0.0.1";
    const port = options.port ?? 6379;
    let conn;
    try {
      conn = await openConnection(host, port, {
        tls: options.tls,
        signal,
        limit: options.maxLineLength,
      });
    } catch (e) {
      if (isCancellation(e)) throw e;
      throw new RedisConnectionError(
        `Cannot connect to Redis at ${host}:${port}: ${e instanceof Error ? e.message : e}`,
        { cause: e },
      );
    }
    const connection = new RedisConnection(conn.reader, conn.writer, options);
    connection.#start();
    try {
      await connection.#login(options, signal);
    } catch (e) {
      await connection.close();
      throw e;
    }
    return connection;
  }

  async #login(options: ConnectionOptions, signal: AbortSignal): Promise<void> {
    const { username, password, db } = options;
    const auth: RedisArg[] = password === undefined
      ? []
      : ["AUTH", ...(username === undefined ? [] : [username]), password];
    const hello: RedisArg[] = ["HELLO", 3];
    if (password !== undefined) hello.push("AUTH", username ?? "default", password);
    const select: RedisArg[] = db ? ["SELECT", db] : [];
    if ((options.protocol ?? 3) === 3) {
      const first = this.batch([hello, ...(select.length ? [select] : [])], { signal });
      const replies = await first;
      const error = replies.find((r) => r instanceof RedisError) as RedisError | undefined;
      if (error === undefined) {
        this.#protocol = 3;
        return;
      }
      // A server before 6.0 does not know HELLO (ERR unknown command), or refuses RESP3 (NOPROTO).
      if (replies[0] instanceof RedisError && !/^(ERR unknown|NOPROTO)/.test(replies[0].message)) {
        throw replies[0];
      }
      if (!(replies[0] instanceof RedisError)) throw error;
    }
    const commands = [auth, select].filter((c) => c.length > 0);
    if (commands.length === 0) return;
    const replies = await this.batch(commands, { signal });
    const error = replies.find((r) => r instanceof RedisError);
    if (error !== undefined) throw error;
  }

  /** The protocol the connection speaks: 3 after a successful `HELLO 3`, else 2. */
  get protocol(): 2 | 3 {
    return this.#protocol;
  }

  /** Whether the connection failed or was closed. */
  get closed(): boolean {
    return this.#error !== undefined;
  }

  /** The number of commands (batches count as one) waiting for their replies. */
  get pendingCount(): number {
    return this.#pending.length - this.#head;
  }

  /**
   * Puts the connection in pub/sub mode: every push (RESP3), and every
   * subscription reply or message (RESP2), goes to `handler` instead of
   * to a command.
   *
   * @param handler Receives each push or message.
   * @param onClose Called once when the connection fails or is closed, with the error.
   */
  setPushHandler(handler: (push: RespPush) => void, onClose: (error: Error) => void): void {
    this.#onPush = handler;
    this.#onClose = onClose;
    this.#pubsub = true;
  }

  /**
   * Writes a command without waiting for a reply: for `SUBSCRIBE` and the
   * like on a connection in pub/sub mode, whose replies are pushes.
   *
   * @param args The command.
   * @throws {RedisConnectionError} If the connection is closed.
   */
  write(args: readonly RedisArg[]): void {
    if (this.#error !== undefined) throw this.#error;
    this.#out.append(args);
    this.#scheduleFlush();
  }

  /**
   * Sends one command; the future settles with its reply. Awaiting it
   * links it to the awaiting task (or `timeout` block): cancelling that
   * cancels the wait, and the reply, when it comes, is read and dropped.
   *
   * @param args The command name and arguments.
   * @param options `decode` and `signal`.
   * @returns The reply.
   * @throws {RedisError} (as a rejection) If the server answers with an error.
   * @throws {RedisConnectionError} (as a rejection) If the connection fails first.
   */
  send(args: readonly RedisArg[], options?: CommandOptions): Future<RespValue> {
    if (this.#error !== undefined) return failed(this.#error);
    try {
      this.#out.append(args);
    } catch (e) {
      return failed(e);
    }
    this.#scheduleFlush();
    return this.#wait(1, false, options?.decode ?? false, isBlocking(args), options?.signal);
  }

  /**
   * Sends commands back to back (in one write); the promise settles with
   * all their replies, error replies included as {@linkcode RedisError}
   * values.
   *
   * @param commands The commands.
   * @param options `decode` and `signal`.
   * @returns Their replies, in order.
   * @throws {RedisConnectionError} (as a rejection) If the connection fails first.
   */
  batch(
    commands: readonly (readonly RedisArg[])[],
    options?: CommandOptions,
  ): Future<RespValue[]> {
    if (this.#error !== undefined) return failed(this.#error);
    if (commands.length === 0) {
      const done = createFuture<RespValue[]>();
      done.setResult([]);
      return done;
    }
    let blocking = false;
    const out = this.#out;
    const mark = out.length;
    try {
      for (const args of commands) {
        out.append(args);
        blocking ||= isBlocking(args);
      }
    } catch (e) {
      // None of the batch is sent.
      out.truncate(mark);
      return failed(e);
    }
    this.#scheduleFlush();
    return this.#wait(commands.length, true, options?.decode ?? false, blocking, options?.signal);
  }

  #wait(
    count: number,
    batch: boolean,
    decode: boolean,
    blocking: boolean,
    signal: AbortSignal | undefined,
  ): Future<never> {
    const future = createFuture<never>();
    const pending: Pending = {
      left: count,
      values: batch ? [] : undefined,
      decode,
      future,
      cleanup: undefined,
    };
    this.#pending.push(pending);
    if (signal !== undefined) {
      const onAbort = () => {
        if (!future.done()) future.setException(signal.reason);
      };
      if (signal.aborted) onAbort();
      else {
        signal.addEventListener("abort", onAbort, { once: true });
        pending.cleanup = () => signal.removeEventListener("abort", onAbort);
      }
    }
    if (blocking) {
      // A blocking command given up on would hold the connection: close it.
      future.addDoneCallback(() => {
        if (pending.left > 0 && this.#error === undefined) {
          this.#fail(
            new RedisConnectionError(
              `Cannot use the connection to ${this.#address}: a blocking command on it was given up on, so it was closed`,
            ),
          );
        }
      });
    }
    return future;
  }

  #start(): void {
    this.#loop = createTask(() => this.#read(), { name: `redis reader ${this.#address}` });
    // The reader's failure is reported through the commands.
    this.#loop.catch(() => {});
  }

  async #read(): Promise<void> {
    try {
      for (;;) {
        const value = await this.#parser.read();
        if (value instanceof RespPush) {
          this.#onPush?.(value);
          continue;
        }
        if (this.#pubsub && Array.isArray(value) && value.length > 0) {
          const kind = value[0];
          const text = kind instanceof Uint8Array ? decodeText(kind) : kind;
          if (typeof text === "string" && PUBSUB_KINDS.has(text)) {
            this.#onPush?.(new RespPush(text, value.slice(1)));
            continue;
          }
        }
        this.#deliver(value);
      }
    } catch (e) {
      this.#fail(this.#wrap(e));
    }
  }

  #deliver(value: RespValue): void {
    this.#delivered++;
    const pending = this.#pending[this.#head];
    if (pending === undefined) {
      throw new RedisProtocolError(
        `Cannot match reply: the server at ${this.#address} sent a reply no command was waiting for`,
      );
    }
    if (pending.values !== undefined) {
      pending.values.push(value);
      if (--pending.left > 0) return;
    } else {
      pending.left = 0;
    }
    this.#pending[this.#head++] = undefined as unknown as Pending;
    if (this.#head > 1024 && this.#head * 2 > this.#pending.length) {
      this.#pending = this.#pending.slice(this.#head);
      this.#head = 0;
    }
    const future = pending.future;
    if (future.done()) return;
    pending.cleanup?.();
    if (pending.values !== undefined) {
      const values = pending.values;
      if (pending.decode) {
        for (let i = 0; i < values.length; i++) values[i] = decodeValue(values[i]);
      }
      future.setResult(values as never);
    } else if (value instanceof RedisError) {
      future.setException(value);
    } else {
      future.setResult((pending.decode ? decodeValue(value) : value) as never);
    }
  }

  #wrap(e: unknown): Error {
    if (e instanceof RedisProtocolError || e instanceof RedisConnectionError) return e;
    return new RedisConnectionError(
      `Cannot read from Redis at ${this.#address}: ${e instanceof Error ? e.message : e}`,
      { cause: e },
    );
  }

  /**
   * Hands the commands issued in this turn to the writer, in one write. On
   * an idle connection that is at the end of the turn (a microtask). While
   * replies are being delivered, it waits until the deliveries stop (a few
   * microtasks in a row without one: the reader is waiting for the
   * network), so that the commands of all the callers those replies woke
   * up go out together rather than one write each.
   */
  #scheduleFlush(): void {
    if (this.#flushing) return;
    this.#flushing = true;
    this.#seen = this.#delivered;
    this.#quiet = this.#pending.length === this.#head ? QUIET_TURNS : 0;
    queueMicrotask(this.#flush);
  }

  /** Fails every waiting command with `error` and closes the socket. */
  #fail(error: Error): void {
    if (this.#error !== undefined) return;
    this.#error = error;
    const pending = this.#pending;
    const head = this.#head;
    this.#pending = [];
    this.#head = 0;
    for (let i = head; i < pending.length; i++) {
      const p = pending[i];
      p.cleanup?.();
      if (!p.future.done()) p.future.setException(error);
    }
    this.#writer.close();
    this.#onClose?.(error);
  }

  /**
   * Closes the connection: commands already issued are still sent, but
   * every command waiting for a reply rejects with a
   * {@linkcode RedisConnectionError}. Waits until the socket is closed.
   *
   * @returns A promise that resolves once it is closed.
   */
  async close(): Promise<void> {
    // Commands issued and not yet handed over still go out (the writer writes
    // what it holds before it closes): a subscription's UNSUBSCRIBE, say.
    if (this.#error === undefined && this.#out.length > 0) this.#writer.write(this.#out.take());
    this.#fail(
      new RedisConnectionError(`Cannot use the connection to ${this.#address}: it was closed`),
    );
    await this.#writer.waitClosed().catch(() => {});
    await this.#loop?.catch(() => {});
  }

  /** Closes the connection ({@linkcode RedisConnection.close}). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** A future failed with `error`. */
function failed(error: unknown): Future<never> {
  const future = createFuture<never>();
  future.setException(error);
  return future;
}
