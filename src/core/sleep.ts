/**
 * `sleep`: a cancellable delay, like `asyncio.sleep`.
 *
 * @module
 */

import { cancellable } from "./cancellation.ts";
import { checkDelay, setDelay } from "./_timers.ts";

/** Options for {@linkcode sleep}. */
export interface SleepOptions<T = void> {
  /** Aborting it rejects the sleep with the signal's reason. */
  signal?: AbortSignal;
  /** The value the sleep resolves to (asyncio's `result`). */
  value?: T;
}

/**
 * Resolves after `ms` milliseconds, to `options.value` if given. Rejects with
 * the reason when `options.signal` aborts or the current task is cancelled,
 * and clears its timer then. A negative delay counts as zero; `Infinity`
 * sleeps until cancelled.
 *
 * @typeParam T The type of the value resolved.
 * @param ms The delay in milliseconds.
 * @param options `signal` to cancel the sleep, `value` to resolve to.
 * @returns A promise for `options.value`.
 * @throws {TypeError} (as a rejection) If `ms` is not a number.
 *
 * @example
 * ```ts
 * import { sleep } from "@aio/asyncio";
 * import { assertEquals, assertRejects } from "@std/assert";
 *
 * assertEquals(await sleep(5, { value: "done" }), "done");
 *
 * const controller = new AbortController();
 * const nap = sleep(60_000, { signal: controller.signal });
 * controller.abort(new Error("woken"));
 * await assertRejects(() => nap, Error, "woken");
 * ```
 */
export function sleep<T = void>(ms: number, options?: SleepOptions<T>): Promise<T> {
  let delay: number;
  try {
    delay = checkDelay(ms, "Cannot sleep");
  } catch (e) {
    return Promise.reject(e);
  }
  const value = options?.value as T;
  return cancellable<T>((resolve) => {
    const timer = setDelay(() => resolve(value), delay);
    return () => timer.clear();
  }, options?.signal);
}
