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
export * from "./src/errors.ts";
export { isCancellation } from "./src/cancellation.ts";
export { createFuture, type DoneCallback, Future } from "./src/future.ts";
export {
  allTasks,
  createTask,
  currentTask,
  Task,
  type TaskFunction,
  type TaskOptions,
} from "./src/task.ts";
export * from "./src/sleep.ts";
export * from "./src/timeouts.ts";
export * from "./src/shield.ts";
export * from "./src/loop.ts";
export * from "./src/task_group.ts";
export * from "./src/wait.ts";
export * from "./src/as_completed.ts";
export * from "./src/gather.ts";
export * from "./src/locks.ts";
export * from "./src/queues.ts";
export * from "./src/worker_pool.ts";
export {
  type Reader,
  type ReadOptions,
  type Separator,
  StreamReader,
  type StreamReaderOptions,
  type StreamReaderSource,
} from "./src/stream_reader.ts";
export {
  type ExtraInfoName,
  type StartTlsOptions,
  StreamWriter,
  type StreamWriterOptions,
  type StreamWriterTarget,
  type WriteBufferLimits,
  type Writer,
  type WriterWaitOptions,
} from "./src/stream_writer.ts";
export {
  type Connection,
  ConnectionError,
  openConnection,
  type OpenConnectionOptions,
  openUnixConnection,
  type OpenUnixConnectionOptions,
  type TlsOptions,
} from "./src/connection.ts";
export {
  type BaseServerOptions,
  type ClientHandler,
  type Server,
  type ServerErrorContext,
  startServer,
  type StartServerOptions,
  startUnixServer,
  type StartUnixServerOptions,
} from "./src/server.ts";
