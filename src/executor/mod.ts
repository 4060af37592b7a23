/**
 * The executor: blocking and CPU-bound work in module Web Workers, with
 * {@linkcode WorkerPool}, {@linkcode runInExecutor} and {@linkcode toThread}
 * (asyncio's `loop.run_in_executor` and `asyncio.to_thread`).
 *
 * @example
 * ```ts
 * import { WorkerPool } from "@aio/asyncio/executor";
 * import { assertEquals } from "@std/assert";
 *
 * await using pool = new WorkerPool({ maxWorkers: 1 });
 * assertEquals(pool.maxWorkers, 1);
 * ```
 *
 * @module
 */
export {
  checkCancelled,
  type JobArgs,
  type JobFunction,
  type JobResult,
  runInExecutor,
  setDefaultExecutor,
  shutdownDefaultExecutor,
  toThread,
  type Transfer,
  transfer,
  WorkerPool,
  type WorkerPoolOptions,
  type WorkerPoolShutdownOptions,
} from "./worker_pool.ts";
