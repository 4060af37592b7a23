/**
 * Deadlines: `timeout`, `timeoutAt` (asyncio's `asyncio.timeout` /
 * `asyncio.timeout_at`) and `waitFor` (`asyncio.wait_for`).
 *
 * @module
 */

import { cancellable, ChildScope, isCancellation } from "./cancellation.ts";
import { CancelledError, InvalidStateError, TimeoutError } from "./errors.ts";
import { Future } from "./future.ts";
import { checkDelay, type Delay, setDelay } from "./_timers.ts";
import { describe } from "./_describe.ts";

/** Options for {@linkcode timeout} and {@linkcode timeoutAt}. */
export interface TimeoutOptions {
  /** Aborting it cancels the block like an outer cancellation would. */
  signal?: AbortSignal;
}

/** The function run under a deadline. */
export type TimeoutFunction<T> = (signal: AbortSignal, deadline: Timeout) => T | PromiseLike<T>;

/**
 * The deadline of a running {@linkcode timeout} block, handed to the block's
 * function: read it with `when()`, move it with `reschedule()` (asyncio's
 * `Timeout`).
 *
 * @example Extending a deadline while progress is made
 * ```ts
 * import { sleep, timeout } from "@aio/asyncio";
 * import { assertEquals } from "@std/assert";
 *
 * const result = await timeout(50, async (_signal, deadline) => {
 *   for (let i = 0; i < 3; i++) {
 *     await sleep(10);
 *     deadline.reschedule(Date.now() + 50); // still making progress
 *   }
 *   return "finished";
 * });
 * assertEquals(result, "finished");
 * ```
 */
export class Timeout {
  #when: number | null;
  #scope: ChildScope;
  #timer: Delay | undefined;
  #expired = false;
  #finished = false;

  /**
   * Internal: created by `timeout` / `timeoutAt`.
   *
   * @ignore
   */
  constructor(when: number | null, scope: ChildScope) {
    this.#when = when;
    this.#scope = scope;
    this.#arm();
  }

  /**
   * The deadline.
   *
   * @returns Milliseconds since the epoch, or `null` for none.
   *
   * @example
   * ```ts
   * import { timeoutAt } from "@aio/asyncio";
   * import { assertEquals } from "@std/assert";
   *
   * const at = Date.now() + 1_000;
   * assertEquals(await timeoutAt(at, (_signal, deadline) => deadline.when()), at);
   * ```
   */
  when(): number | null {
    return this.#when;
  }

  /**
   * Moves the deadline; a deadline in the past expires the block at once.
   *
   * @param when Milliseconds since the epoch, or `null` for no deadline.
   * @throws {InvalidStateError} If the deadline already passed or the block
   * has finished.
   * @throws {TypeError} If `when` is neither a number nor `null`.
   *
   * @example
   * ```ts
   * import { sleep, timeout } from "@aio/asyncio";
   *
   * await timeout(10, async (_signal, deadline) => {
   *   deadline.reschedule(null); // no deadline after all
   *   await sleep(20);
   * });
   * ```
   */
  reschedule(when: number | null): void {
    if (this.#finished) {
      throw new InvalidStateError("Cannot reschedule a timeout whose block has finished");
    }
    if (this.#expired) {
      throw new InvalidStateError("Cannot reschedule a timeout that has already expired");
    }
    if (when !== null) checkDelay(when, "Cannot reschedule timeout", "when");
    this.#timer?.clear();
    this.#when = when;
    this.#arm();
  }

  /**
   * Whether the deadline passed and the block was cancelled for it.
   *
   * @returns `true` once the deadline has passed.
   *
   * @example
   * ```ts
   * import { sleep, timeout, TimeoutError } from "@aio/asyncio";
   * import { assert, assertRejects } from "@std/assert";
   *
   * let seen: { expired(): boolean } | undefined;
   * await assertRejects(
   *   () =>
   *     timeout(5, async (_signal, deadline) => {
   *       seen = deadline;
   *       await sleep(1_000);
   *     }),
   *   TimeoutError,
   * );
   * assert(seen?.expired());
   * ```
   */
  expired(): boolean {
    return this.#expired;
  }

  /**
   * Internal: the block ended; no more firing.
   *
   * @ignore
   */
  finish(): void {
    this.#finished = true;
    this.#timer?.clear();
  }

  #arm(): void {
    if (this.#when === null) return;
    const delay = this.#when - Date.now();
    if (delay <= 0) this.#expire();
    else this.#timer = setDelay(() => this.#expire(), delay);
  }

  #expire(): void {
    if (this.#finished || this.#expired) return;
    this.#expired = true;
    this.#scope.cancel(new CancelledError("The deadline passed"));
  }
}

/**
 * Runs `fn` with a deadline `ms` milliseconds from now; asyncio's
 * `async with asyncio.timeout(delay)`. When the deadline passes, the block is
 * cancelled from inside (its signal aborts and its aio awaits reject with
 * `CancelledError`) and, once it has ended, `timeout` rejects with
 * {@linkcode TimeoutError}. Only its own cancellation becomes a
 * `TimeoutError`: an outer cancellation (the enclosing task, or
 * `options.signal`) comes out as the `CancelledError` it is. Like asyncio,
 * the block is cancelled cooperatively and `timeout` waits for it to end.
 *
 * @typeParam T The type of the block's result.
 * @param ms The delay in milliseconds (`null` or `Infinity`: no deadline).
 * @param fn The block; receives an abort signal and the {@linkcode Timeout}.
 * @param options An outer `signal`.
 * @returns The block's result.
 * @throws {TimeoutError} If the deadline passed and ended the block.
 *
 * @example
 * ```ts
 * import { sleep, timeout, TimeoutError } from "@aio/asyncio";
 * import { assertEquals, assertRejects } from "@std/assert";
 *
 * assertEquals(await timeout(1_000, () => sleep(1, { value: "quick" })), "quick");
 * await assertRejects(() => timeout(10, () => sleep(60_000)), TimeoutError);
 * ```
 */
export async function timeout<T>(
  ms: number | null,
  fn: TimeoutFunction<T>,
  options?: TimeoutOptions,
): Promise<T> {
  const delay = ms === null ? null : checkDelay(ms, "Cannot start timeout");
  const when = delay === null || delay === Infinity ? null : Date.now() + delay;
  return await runWithDeadline(when, fn, options, `${delay} ms`);
}

/**
 * Like {@linkcode timeout}, with an absolute deadline in milliseconds since
 * the epoch (`Date.now()` units); asyncio's `asyncio.timeout_at`.
 *
 * @typeParam T The type of the block's result.
 * @param epochMs The deadline, or `null` for none.
 * @param fn The block; receives an abort signal and the {@linkcode Timeout}.
 * @param options An outer `signal`.
 * @returns The block's result.
 * @throws {TimeoutError} If the deadline passed and ended the block.
 *
 * @example
 * ```ts
 * import { sleep, timeoutAt, TimeoutError } from "@aio/asyncio";
 * import { assertRejects } from "@std/assert";
 *
 * await assertRejects(() => timeoutAt(Date.now() + 10, () => sleep(60_000)), TimeoutError);
 * ```
 */
export async function timeoutAt<T>(
  epochMs: number | null,
  fn: TimeoutFunction<T>,
  options?: TimeoutOptions,
): Promise<T> {
  if (epochMs !== null) checkDelay(epochMs, "Cannot start timeout", "epochMs");
  return await runWithDeadline(epochMs, fn, options, `the deadline ${epochMs}`);
}

async function runWithDeadline<T>(
  when: number | null,
  fn: TimeoutFunction<T>,
  options: TimeoutOptions | undefined,
  what: string,
): Promise<T> {
  if (typeof fn !== "function") {
    throw new TypeError(`Cannot start timeout: expected a function, got ${describe(fn)}`);
  }
  const scope = new ChildScope(options?.signal);
  const deadline = new Timeout(when, scope);
  try {
    return await scope.run(() => fn(scope.signal, deadline));
  } catch (e) {
    if (!isCancellation(e)) throw e;
    // An outer cancellation always wins over our own deadline.
    const outer = scope.outerCancellation();
    if (outer) throw outer.reason;
    if (deadline.expired()) throw new TimeoutError(`Timed out after ${what}`, { cause: e });
    throw e;
  } finally {
    deadline.finish();
    scope.close();
  }
}

/**
 * Waits for `awaitable` with a time limit; asyncio's `asyncio.wait_for`. If
 * the limit passes, a {@linkcode Future} or {@linkcode Task} is cancelled
 * (and waited for), and `waitFor` rejects with {@linkcode TimeoutError}. A
 * plain promise cannot be cancelled: it is left running and `waitFor`
 * rejects at the deadline. Cancelling the caller cancels the awaitable too.
 *
 * @typeParam T The type of the result.
 * @param awaitable A task, future or promise.
 * @param ms The limit in milliseconds (`null`: none).
 * @param options An outer `signal`.
 * @returns The awaitable's result.
 * @throws {TimeoutError} If the limit passed first.
 *
 * @example
 * ```ts
 * import { createTask, sleep, TimeoutError, waitFor } from "@aio/asyncio";
 * import { assert, assertRejects } from "@std/assert";
 *
 * const task = createTask(() => sleep(60_000));
 * await assertRejects(() => waitFor(task, 10), TimeoutError);
 * assert(task.cancelled());
 * ```
 */
export function waitFor<T>(
  awaitable: PromiseLike<T> | T,
  ms: number | null,
  options?: TimeoutOptions,
): Promise<T> {
  return timeout(ms, () => {
    if (awaitable instanceof Future) return awaitable;
    return cancellable<T>((resolve, reject) => {
      Promise.resolve(awaitable).then(resolve, reject);
    });
  }, options);
}
