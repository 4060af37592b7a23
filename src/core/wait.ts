/**
 * `wait`: wait for some or all of several awaitables, like `asyncio.wait`.
 *
 * @module
 */

import { cancellable } from "./cancellation.ts";
import { Future } from "./future.ts";
import { checkDelay, setDelay } from "./_timers.ts";
import { watch } from "./_watch.ts";

/**
 * {@linkcode wait} returns when any awaitable finishes (succeeds, fails or
 * is cancelled).
 *
 * @example
 * ```ts
 * import { FIRST_COMPLETED, sleep, wait } from "@aio/asyncio";
 * import { assertEquals } from "@std/assert";
 *
 * const { done } = await wait([sleep(1), sleep(20)], { returnWhen: FIRST_COMPLETED });
 * assertEquals(done.size, 1);
 * ```
 */
export const FIRST_COMPLETED = "FIRST_COMPLETED";
/**
 * {@linkcode wait} returns when any awaitable fails, or when all have
 * finished.
 *
 * @example
 * ```ts
 * import { FIRST_EXCEPTION, sleep, wait } from "@aio/asyncio";
 * import { assertEquals } from "@std/assert";
 *
 * const failing = Promise.reject(new Error("x"));
 * const { done, pending } = await wait([failing, sleep(20)], { returnWhen: FIRST_EXCEPTION });
 * assertEquals([done.size, pending.size], [1, 1]);
 * ```
 */
export const FIRST_EXCEPTION = "FIRST_EXCEPTION";
/**
 * {@linkcode wait} returns when all awaitables have finished (the default).
 *
 * @example
 * ```ts
 * import { ALL_COMPLETED, sleep, wait } from "@aio/asyncio";
 * import { assertEquals } from "@std/assert";
 *
 * const { done } = await wait([sleep(1), sleep(2)], { returnWhen: ALL_COMPLETED });
 * assertEquals(done.size, 2);
 * ```
 */
export const ALL_COMPLETED = "ALL_COMPLETED";

/** When {@linkcode wait} returns. */
export type ReturnWhen = typeof FIRST_COMPLETED | typeof FIRST_EXCEPTION | typeof ALL_COMPLETED;

/** Options for {@linkcode wait}. */
export interface WaitOptions {
  /** Return after this many milliseconds even if the condition is not met. */
  timeout?: number | null;
  /** The condition to return on; default `ALL_COMPLETED`. */
  returnWhen?: ReturnWhen;
  /** Aborting it rejects the wait (the awaitables are left alone). */
  signal?: AbortSignal;
}

/** The result of {@linkcode wait}: the very objects passed in, split in two. */
export interface WaitResult<A> {
  /** The awaitables that have finished. */
  done: Set<A>;
  /** The awaitables still running. */
  pending: Set<A>;
}

/**
 * Waits until `returnWhen` holds for the given tasks, futures or promises,
 * or until `timeout` ms pass; asyncio's `asyncio.wait`. Returns the very
 * objects passed in, split into `done` and `pending`. Nothing is cancelled,
 * not even on timeout, and results are not read: await the done ones.
 * A cancelled task counts as completed, not as an exception.
 *
 * @typeParam A The awaitables' type.
 * @param awaitables The tasks, futures or promises (duplicates count once).
 * @param options `timeout`, `returnWhen`, `signal`.
 * @returns The `done` and `pending` sets.
 * @throws {RangeError} If `awaitables` is empty or `returnWhen` is unknown.
 *
 * @example
 * ```ts
 * import { createTask, FIRST_COMPLETED, sleep, wait } from "@aio/asyncio";
 * import { assertEquals } from "@std/assert";
 *
 * const fast = createTask(() => sleep(5, { value: "fast" }));
 * const slow = createTask(() => sleep(200, { value: "slow" }));
 * const { done, pending } = await wait([fast, slow], { returnWhen: FIRST_COMPLETED });
 * assertEquals([...done], [fast]);
 * assertEquals([...pending], [slow]);
 * slow.cancel();
 * ```
 */
export async function wait<A>(
  awaitables: Iterable<A>,
  options?: WaitOptions,
): Promise<WaitResult<A>> {
  const all = new Set(awaitables);
  const returnWhen = options?.returnWhen ?? ALL_COMPLETED;
  if (![FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED].includes(returnWhen)) {
    throw new RangeError(
      `Cannot wait: 'returnWhen' must be FIRST_COMPLETED, FIRST_EXCEPTION or ALL_COMPLETED: current value is ${
        String(returnWhen)
      }`,
    );
  }
  if (all.size === 0) throw new RangeError("Cannot wait: the set of awaitables is empty");
  const limit = options?.timeout == null
    ? null
    : checkDelay(options.timeout, "Cannot wait", "timeout");
  const settled = new Set<A>();
  await cancellable<void>((resolve) => {
    const unwatch: (() => void)[] = [];
    const timer = limit === null ? undefined : setDelay(finish, limit);
    function stop() {
      timer?.clear();
      for (const off of unwatch) off();
    }
    function finish() {
      stop();
      resolve();
    }
    for (const aw of all) {
      unwatch.push(watch(aw, (outcome) => {
        settled.add(aw);
        if (
          settled.size === all.size || returnWhen === FIRST_COMPLETED ||
          (returnWhen === FIRST_EXCEPTION && !outcome.ok && !outcome.cancelled)
        ) finish();
      }));
    }
    return stop;
  }, options?.signal);
  // Sorted by done() as wait returns (asyncio): a future that finished
  // before its done-callbacks reached ours is done, not pending. Plain
  // promises cannot be asked: they are done once seen settled. The order of
  // `done` is the order of completion, as far as it was seen.
  const done = settled;
  const pending = new Set<A>();
  for (const aw of all) {
    if (done.has(aw)) continue;
    if (aw instanceof Future && aw.done()) done.add(aw);
    else pending.add(aw);
  }
  return { done, pending };
}
