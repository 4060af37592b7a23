/**
 * A Redis client for the examples, written on aio's streams: RESP2 and
 * RESP3 parsed from a `StreamReader`, automatic and explicit pipelining,
 * transactions, pub/sub as async iterables, a pool for blocking commands,
 * login, TLS, timeouts, reconnects and cancellation that never puts a
 * connection out of step.
 *
 * @module
 */
export {
  type ReconnectOptions,
  RedisClient,
  type RedisClientOptions,
  type SendOptions,
  type SetOptions,
  toRecord,
} from "./client.ts";
export {
  type CommandOptions,
  type ConnectionOptions,
  decodeValue,
  RedisConnection,
} from "./connection.ts";
export { CommandEncoder } from "./encoder.ts";
export { RedisConnectionError, RedisError, RedisLimitError, RedisProtocolError } from "./errors.ts";
export {
  DEFAULT_MAX_BULK_LENGTH,
  DEFAULT_MAX_DEPTH,
  type RespLimits,
  RespParser,
} from "./parser.ts";
export { type BatchSender, CommandQueue, type ExecOptions, Multi, Pipeline } from "./pipeline.ts";
export { type PooledClient, RedisPool, type RedisPoolOptions } from "./pool.ts";
export { PubSubMessage, Subscription } from "./pubsub.ts";
export { type RedisArg, RespPush, type RespValue, VerbatimString } from "./types.ts";
