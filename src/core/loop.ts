/**
 * The event-loop scheduling helpers: `callSoon`, `callLater`, `callAt`
 * (asyncio's `loop.call_soon`, `loop.call_later`, `loop.call_at`) and `time`
 * (`loop.time`).
 *
 * @module
 */

import { checkDelay, type Delay, delayUntil, now, setDelay } from "./_timers.ts";
import { checkFunction } from "./_check.ts";

/**
 * A scheduled callback; cancel it with `cancel()` or by leaving a `using`
 * block (asyncio's `Handle`).
 *
 * @example
 * ```ts
 * import { callSoon } from "@aio/asyncio";
 * import { assert } from "@std/assert";
 *
 * {
 *   using handle = callSoon(() => console.log("never printed"));
 *   assert(!handle.cancelled());
 * } // cancelled here
 * ```
 */
export interface Handle extends Disposable {
  /**
   * When the callback is due, on the {@linkcode time} clock.
   *
   * @returns Milliseconds on the monotonic clock.
   *
   * @example
   * ```ts
   * import { callAt, time } from "@aio/asyncio";
   * import { assertEquals } from "@std/assert";
   *
   * const at = time() + 10;
   * using handle = callAt(at, () => {});
   * assertEquals(handle.when(), at);
   * ```
   */
  when(): number;

  /**
   * Cancels the callback if it has not run; safe to call again.
   *
   * @example
   * ```ts
   * import { callLater } from "@aio/asyncio";
   * import { assert } from "@std/assert";
   *
   * const handle = callLater(1_000, () => console.log("never printed"));
   * handle.cancel();
   * assert(handle.cancelled());
   * ```
   */
  cancel(): void;

  /**
   * Whether `cancel()` was called.
   *
   * @returns `true` after `cancel()`.
   *
   * @example
   * ```ts
   * import { callSoon } from "@aio/asyncio";
   * import { assert } from "@std/assert";
   *
   * const handle = callSoon(() => {});
   * handle.cancel();
   * assert(handle.cancelled());
   * ```
   */
  cancelled(): boolean;

  /** Cancels the callback: `using handle = callLater(...)`. */
  [Symbol.dispose](): void;
}

/** The {@linkcode Handle} of one scheduled callback. */
class ScheduledCallback implements Handle {
  #timer: Delay | undefined;
  #cancelled = false;
  #when: number;

  /** Created by `callSoon`, `callLater` and `callAt`. */
  constructor(fn: () => void, delayMs: number, when: number = now() + delayMs) {
    this.#when = when;
    this.#timer = setDelay(() => {
      this.#timer = undefined;
      fn();
    }, delayMs);
  }

  /** When the callback is due. */
  when(): number {
    return this.#when;
  }

  /** Cancels the callback. */
  cancel(): void {
    this.#cancelled = true;
    this.#timer?.clear();
    this.#timer = undefined;
  }

  /** Whether the callback was cancelled. */
  cancelled(): boolean {
    return this.#cancelled;
  }

  /** Cancels the callback: `using handle = callLater(...)`. */
  [Symbol.dispose](): void {
    this.cancel();
  }
}

function schedule<A extends unknown[]>(
  what: string,
  delayMs: number,
  fn: (...args: A) => void,
  args: A,
  when?: number,
): Handle {
  checkFunction(fn, "fn", what);
  return new ScheduledCallback(() => fn(...args), delayMs, when);
}

/**
 * Calls `fn(...args)` on a later turn of the event loop, after the callbacks
 * already scheduled; asyncio's `loop.call_soon`. Runs as a macrotask, so I/O
 * and timers due now are not starved.
 *
 * @typeParam A The argument types.
 * @param fn The callback.
 * @param args Its arguments.
 * @returns A handle to cancel the call.
 *
 * @example
 * ```ts
 * import { callSoon, sleep } from "@aio/asyncio";
 * import { assertEquals } from "@std/assert";
 *
 * const order: string[] = [];
 * callSoon((x) => order.push(x), "soon");
 * order.push("now");
 * await sleep(5);
 * assertEquals(order, ["now", "soon"]);
 * ```
 */
export function callSoon<A extends unknown[]>(fn: (...args: A) => void, ...args: A): Handle {
  return schedule("call soon", 0, fn, args);
}

/**
 * Calls `fn(...args)` after `ms` milliseconds; asyncio's `loop.call_later`
 * (which takes seconds: aio uses milliseconds throughout, like `setTimeout`).
 *
 * @typeParam A The argument types.
 * @param ms The delay in milliseconds; negative counts as zero.
 * @param fn The callback.
 * @param args Its arguments.
 * @returns A handle to cancel the call.
 * @throws {TypeError} If `ms` is not a number.
 *
 * @example
 * ```ts
 * import { callLater, sleep } from "@aio/asyncio";
 * import { assertEquals } from "@std/assert";
 *
 * let fired = 0;
 * callLater(5, () => fired++);
 * await sleep(20);
 * assertEquals(fired, 1);
 * ```
 */
export function callLater<A extends unknown[]>(
  ms: number,
  fn: (...args: A) => void,
  ...args: A
): Handle {
  return schedule("call later", checkDelay(ms, "Cannot call later"), fn, args);
}

/**
 * Calls `fn(...args)` when the {@linkcode time} clock reaches `when`;
 * asyncio's `loop.call_at` (which takes seconds: aio's clock counts
 * milliseconds, like every other aio time).
 *
 * @typeParam A The argument types.
 * @param when The due time in milliseconds on the `time()` clock.
 * @param fn The callback.
 * @param args Its arguments.
 * @returns A handle to cancel the call.
 * @throws {TypeError} If `when` is not a number.
 *
 * @example
 * ```ts
 * import { callAt, sleep, time } from "@aio/asyncio";
 * import { assertEquals } from "@std/assert";
 *
 * let fired = false;
 * callAt(time() + 5, () => (fired = true));
 * await sleep(20);
 * assertEquals(fired, true);
 * ```
 */
export function callAt<A extends unknown[]>(
  when: number,
  fn: (...args: A) => void,
  ...args: A
): Handle {
  const at = checkDelay(when, "Cannot call at", "when");
  return schedule("call at", delayUntil(at), fn, args, at);
}

/**
 * aio's clock: monotonic milliseconds, asyncio's `loop.time()` (which counts
 * seconds). Every deadline is absolute on it: `callAt`, `timeoutAt`,
 * `Timeout.when()` and `Timeout.reschedule()`. Unrelated to wall-clock time
 * (`Date.now()`): setting the system clock neither fires nor delays a
 * deadline.
 *
 * @returns Milliseconds since an arbitrary origin, with sub-millisecond
 * precision.
 *
 * @example
 * ```ts
 * import { time } from "@aio/asyncio";
 * import { assert } from "@std/assert";
 *
 * const t0 = time();
 * assert(time() >= t0);
 * ```
 */
export function time(): number {
  return now();
}
