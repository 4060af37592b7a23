/**
 * `shield`: protect an operation from the cancellation of whoever awaits it.
 *
 * @module
 */

import { cancellable } from "./cancellation.ts";
import { Future, observeFuture } from "./future.ts";

/** Options for {@linkcode shield}. */
export interface ShieldOptions {
  /** Aborting it rejects the outer await, never the inner operation. */
  signal?: AbortSignal;
}

/**
 * Awaits `awaitable` without letting a cancellation reach it; asyncio's
 * `asyncio.shield`. If the current task is cancelled (or `options.signal`
 * aborts) while waiting, the outer await rejects with the cancellation at
 * once, but the inner task or future is not cancelled and runs on to its end.
 *
 * @typeParam T The type of the result.
 * @param awaitable A task, future or promise.
 * @param options An outer `signal`.
 * @returns The awaitable's result, unless the outer await is cancelled.
 *
 * @example
 * ```ts
 * import { createTask, shield, sleep } from "@aio/asyncio";
 * import { assertEquals } from "@std/assert";
 *
 * const save = createTask(async () => {
 *   await sleep(20);
 *   return "saved";
 * });
 * const caller = createTask(() => shield(save));
 * await sleep(1);
 * caller.cancel();
 * await caller.then(() => {}, () => {});
 * assertEquals(await save, "saved"); // the inner work was not cancelled
 * ```
 */
export function shield<T>(awaitable: PromiseLike<T> | T, options?: ShieldOptions): Promise<T> {
  const inner = new Promise<T>((resolve, reject) => {
    if (awaitable instanceof Future) observeFuture(awaitable, resolve, reject);
    else Promise.resolve(awaitable).then(resolve, reject);
  });
  // The outcome is ours to report: never an unhandled rejection if the outer
  // await was cancelled first.
  inner.catch(() => {});
  return cancellable<T>((resolve, reject) => {
    inner.then(resolve, reject);
  }, options?.signal);
}
