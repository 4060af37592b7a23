/**
 * The core layer: typed errors, futures and tasks with cooperative
 * cancellation, timeouts, `shield`, the clock and its callbacks, the
 * `TaskGroup` and the combinators `wait`, `asCompleted` and `gather`.
 *
 * @example
 * ```ts
 * import { createTask, sleep, timeout } from "@aio/asyncio/core";
 * import { assertEquals } from "@std/assert";
 *
 * const task = createTask(() => sleep(5, { value: "hello" }));
 * assertEquals(await timeout(1_000, () => task), "hello");
 * ```
 *
 * @module
 */
export {
  BrokenBarrierError,
  CancelledError,
  IncompleteReadError,
  InvalidStateError,
  LimitOverrunError,
  QueueEmpty,
  QueueFull,
  QueueShutDown,
  TimeoutError,
} from "./errors.ts";
export { isCancellation } from "./cancellation.ts";
export { createFuture, type DoneCallback, Future } from "./future.ts";
export {
  allTasks,
  createTask,
  currentTask,
  Task,
  type TaskFunction,
  type TaskOptions,
} from "./task.ts";
export { sleep, type SleepOptions } from "./sleep.ts";
export {
  type Timeout,
  timeout,
  timeoutAt,
  type TimeoutFunction,
  type TimeoutOptions,
  waitFor,
} from "./timeouts.ts";
export { shield, type ShieldOptions } from "./shield.ts";
export { callAt, callLater, callSoon, type Handle, time } from "./loop.ts";
export { TaskGroup, TaskGroupError, type TaskGroupOptions } from "./task_group.ts";
export {
  ALL_COMPLETED,
  FIRST_COMPLETED,
  FIRST_EXCEPTION,
  type ReturnWhen,
  wait,
  type WaitOptions,
  type WaitResult,
} from "./wait.ts";
export {
  type AsCompleted,
  asCompleted,
  type AsCompletedOptions,
  type Completed,
} from "./as_completed.ts";
export {
  gather,
  GatheringFuture,
  type GatherOptions,
  type GatherResults,
  type GatherSettled,
} from "./gather.ts";
