/**
 * `Subscription`: pub/sub on a connection of its own, read with
 * `for await`. Leaving the loop (`break`, an error, a cancellation)
 * unsubscribes and closes the connection.
 *
 * @module
 */

import { createFuture, type Future, Queue, QueueShutDown } from "../../mod.ts";
import { type ConnectionOptions, RedisConnection } from "./connection.ts";

import { decodeText } from "./text.ts";
import type { RespPush, RespValue } from "./types.ts";

/** One message received on a subscription. */
export class PubSubMessage {
  /** The channel it was published to. */
  readonly channel: string;
  /** The pattern it matched, for a `psubscribe`; else `undefined`. */
  readonly pattern: string | undefined;
  /** The message, as published (binary safe). */
  readonly data: Uint8Array;

  /**
   * Creates a message.
   *
   * @param channel The channel.
   * @param pattern The pattern, if any.
   * @param data The payload.
   */
  constructor(channel: string, pattern: string | undefined, data: Uint8Array) {
    this.channel = channel;
    this.pattern = pattern;
    this.data = data;
  }

  /** The message decoded as UTF-8. */
  get text(): string {
    return decodeText(this.data);
  }
}

function text(value: RespValue | undefined): string {
  return value instanceof Uint8Array ? decodeText(value) : String(value);
}

/**
 * A subscription to channels and patterns, on a connection of its own.
 * Iterate it with `for await`; `break`, a thrown error or a cancellation
 * of the loop unsubscribes and closes the connection, as does
 * {@linkcode Subscription.close} or `await using`.
 *
 * @example
 * ```ts ignore
 * await using sub = await redis.subscribe("news");
 * await redis.publish("news", "hello");
 * for await (const message of sub) {
 *   console.log(message.channel, message.text); // news hello
 *   break;
 * }
 * ```
 */
export class Subscription implements AsyncIterable<PubSubMessage> {
  readonly #connection: RedisConnection;
  readonly #messages = new Queue<PubSubMessage>();
  /** Subscribe commands waiting for their confirmations, in order. */
  readonly #confirming: { left: number; done: Future<void> }[] = [];
  readonly #channels = new Set<string>();
  readonly #patterns = new Set<string>();
  #error: Error | undefined;
  #closed = false;

  private constructor(connection: RedisConnection) {
    this.#connection = connection;
    connection.setPushHandler((push) => this.#onPush(push), (error) => this.#onClose(error));
  }

  /**
   * Opens a connection and subscribes; `RedisClient.subscribe` is the usual way.
   *
   * @param options The server and login.
   * @param channels Channels to subscribe to.
   * @param patterns Patterns to subscribe to.
   * @returns The subscription, once the server confirmed it.
   */
  static async open(
    options: ConnectionOptions,
    channels: string[],
    patterns: string[],
  ): Promise<Subscription> {
    const subscription = new Subscription(await RedisConnection.open(options));
    try {
      if (channels.length > 0) await subscription.subscribe(...channels);
      if (patterns.length > 0) await subscription.psubscribe(...patterns);
    } catch (e) {
      await subscription.close();
      throw e;
    }
    return subscription;
  }

  /** The channels subscribed to (confirmed by the server). */
  get channels(): ReadonlySet<string> {
    return this.#channels;
  }

  /** The patterns subscribed to (confirmed by the server). */
  get patterns(): ReadonlySet<string> {
    return this.#patterns;
  }

  /**
   * Subscribes to more channels.
   *
   * @param channels The channels.
   * @returns A promise that resolves once the server confirmed each.
   */
  subscribe(...channels: string[]): Promise<void> {
    return this.#send("SUBSCRIBE", channels);
  }

  /**
   * Subscribes to more patterns.
   *
   * @param patterns The patterns.
   * @returns A promise that resolves once the server confirmed each.
   */
  psubscribe(...patterns: string[]): Promise<void> {
    return this.#send("PSUBSCRIBE", patterns);
  }

  async #send(command: string, names: string[]): Promise<void> {
    if (names.length === 0) return;
    if (this.#error !== undefined) throw this.#error;
    const done = createFuture<void>();
    this.#connection.write([command, ...names]);
    this.#confirming.push({ left: names.length, done });
    await done;
  }

  #onPush(push: RespPush): void {
    const d = push.data;
    switch (push.kind) {
      case "message":
        this.#messages.putNowait(new PubSubMessage(text(d[0]), undefined, d[1] as Uint8Array));
        return;
      case "pmessage":
        this.#messages.putNowait(new PubSubMessage(text(d[1]), text(d[0]), d[2] as Uint8Array));
        return;
      case "subscribe":
      case "psubscribe": {
        (push.kind === "subscribe" ? this.#channels : this.#patterns).add(text(d[0]));
        const head = this.#confirming[0];
        if (head !== undefined && --head.left === 0) {
          this.#confirming.shift();
          if (!head.done.done()) head.done.setResult();
        }
        return;
      }
      case "unsubscribe":
        this.#channels.delete(text(d[0]));
        return;
      case "punsubscribe":
        this.#patterns.delete(text(d[0]));
        return;
    }
  }

  #onClose(error: Error): void {
    this.#error ??= this.#closed ? undefined : error;
    for (const { done } of this.#confirming.splice(0)) {
      if (!done.done()) done.setException(error);
    }
    this.#messages.shutdown();
  }

  /**
   * The next message; `undefined` once the subscription is closed.
   *
   * @param options `signal` to stop waiting.
   * @returns The message.
   * @throws {RedisConnectionError} (as a rejection) If the connection failed.
   */
  async next(options?: { signal?: AbortSignal }): Promise<PubSubMessage | undefined> {
    try {
      return await this.#messages.get(options);
    } catch (e) {
      if (e instanceof QueueShutDown) {
        if (this.#error !== undefined) throw this.#error;
        return undefined;
      }
      throw e;
    }
  }

  /**
   * The messages as they come. Leaving the loop closes the subscription.
   *
   * @returns An async iterator of messages.
   */
  [Symbol.asyncIterator](): AsyncIterator<PubSubMessage> {
    return {
      next: async () => {
        let message: PubSubMessage | undefined;
        try {
          message = await this.next();
        } catch (e) {
          await this.close();
          throw e;
        }
        return message === undefined
          ? { done: true, value: undefined }
          : { done: false, value: message };
      },
      return: async () => {
        await this.close();
        return { done: true, value: undefined };
      },
    };
  }

  /**
   * Unsubscribes from every channel and pattern and closes the connection.
   * Messages already received stay readable with `next()`.
   *
   * @returns A promise that resolves once the connection is closed.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#connection.closed) {
      this.#connection.write(["UNSUBSCRIBE"]);
      this.#connection.write(["PUNSUBSCRIBE"]);
    }
    await this.#connection.close();
  }

  /** Closes the subscription ({@linkcode Subscription.close}). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
