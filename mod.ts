/**
 * aio: asyncio's streams and tasks for Deno — futures and tasks with
 * cooperative cancellation, timeouts, structured concurrency, locks and
 * queues, and buffered TCP/TLS/Unix streams.
 *
 * @example
 * ```ts
 * import { createTask, sleep, timeout } from "@aio/asyncio";
 * import { assertEquals } from "@std/assert";
 *
 * const task = createTask(() => sleep(5, { value: "hello" }));
 * assertEquals(await timeout(1_000, () => task), "hello");
 * ```
 *
 * @module
 */
export * from "./src/core/mod.ts";
export * from "./src/sync/mod.ts";
export * from "./src/streams/mod.ts";
export * from "./src/net/mod.ts";
export * from "./src/executor/mod.ts";
