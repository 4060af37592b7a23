/**
 * The condition variable {@linkcode Condition}, like asyncio's `Condition`.
 *
 * @module
 */

import { throwIfCancelled } from "../core/cancellation.ts";
import { InvalidStateError } from "../core/errors.ts";
import { park, WaiterQueue } from "../core/_waiters.ts";
import { describe } from "../core/_describe.ts";
import { checkFunction } from "../core/_check.ts";
import type { Permit, SignalOptions } from "./permit.ts";
import { acquireShielded, Lock, permitOf } from "./lock.ts";

/**
 * A condition variable over a {@linkcode Lock}, like asyncio's `Condition`:
 * holding the lock, a task `wait()`s (releasing the lock meanwhile) until
 * another task `notify()`s it; `wait()` returns holding the lock again,
 * even when it rejects.
 *
 * @example A bounded buffer
 * ```ts
 * import { Condition, TaskGroup } from "@aio/asyncio";
 * import { assertEquals } from "@std/assert";
 *
 * const cond = new Condition();
 * const items: number[] = [];
 * const got: number[] = [];
 * await TaskGroup.run((tg) => {
 *   tg.createTask(async () => {
 *     for (let i = 0; i < 3; i++) {
 *       using _permit = await cond.acquire();
 *       await cond.waitFor(() => items.length > 0);
 *       got.push(items.shift()!);
 *     }
 *   });
 *   tg.createTask(async () => {
 *     for (let i = 1; i <= 3; i++) {
 *       using _permit = await cond.acquire();
 *       items.push(i);
 *       cond.notify();
 *     }
 *   });
 * });
 * assertEquals(got, [1, 2, 3]);
 * ```
 */
export class Condition {
  #lock: Lock;
  #waiters = new WaiterQueue<void>();

  /**
   * Creates a condition over `lock`, or over a new {@linkcode Lock}.
   *
   * @param lock The lock to share, e.g. with another condition.
   * @throws {TypeError} If `lock` is given but is not a {@linkcode Lock}.
   *
   * @example Two conditions over one lock
   * ```ts
   * import { Condition, Lock } from "@aio/asyncio";
   * import { assert } from "@std/assert";
   *
   * const lock = new Lock();
   * const notEmpty = new Condition(lock);
   * const notFull = new Condition(lock);
   * using _permit = await notEmpty.acquire();
   * assert(notFull.locked());
   * ```
   */
  constructor(lock?: Lock) {
    if (lock !== undefined && !(lock instanceof Lock)) {
      throw new TypeError(
        `Cannot create condition: 'lock' must be a Lock: current value is ${describe(lock)}`,
      );
    }
    this.#lock = lock ?? new Lock();
  }

  /**
   * Tells whether the underlying lock is held.
   *
   * @returns `true` when the lock is held.
   *
   * @example
   * ```ts
   * import { Condition } from "@aio/asyncio";
   * import { assert } from "@std/assert";
   *
   * const cond = new Condition();
   * assert(!cond.locked());
   * ```
   */
  locked(): boolean {
    return this.#lock.locked();
  }

  /**
   * Acquires the underlying lock; see {@linkcode Lock.acquire}.
   *
   * @param options `signal` to give up waiting.
   * @returns A promise for a {@linkcode Permit} that releases the lock once.
   *
   * @example
   * ```ts
   * import { Condition } from "@aio/asyncio";
   * import { assert } from "@std/assert";
   *
   * const cond = new Condition();
   * {
   *   using _permit = await cond.acquire();
   *   assert(cond.locked());
   * }
   * assert(!cond.locked());
   * ```
   */
  acquire(options?: SignalOptions): Promise<Permit> {
    return this.#lock.acquire(options);
  }

  /**
   * Releases the underlying lock; see {@linkcode Lock.release}.
   *
   * @throws {InvalidStateError} If the lock is not held.
   *
   * @example
   * ```ts
   * import { Condition } from "@aio/asyncio";
   * import { assert } from "@std/assert";
   *
   * const cond = new Condition();
   * await cond.acquire();
   * cond.release();
   * assert(!cond.locked());
   * ```
   */
  release(): void {
    this.#lock.release();
  }

  /**
   * Releases the lock, waits until notified, then re-acquires the lock
   * before returning. The lock is held again when this returns or rejects,
   * cancellation included. Wake-ups may be spurious: re-check the state, or
   * use {@linkcode Condition.waitFor}.
   *
   * @param options `signal` to give up waiting.
   * @returns A promise that resolves, holding the lock, once notified.
   * @throws {InvalidStateError} (as a rejection) If the lock is not held.
   * @throws (as a rejection) The cancellation reason when the current task
   * or `options.signal` is cancelled; a notification it had received is
   * passed to the next waiter.
   *
   * @example
   * ```ts
   * import { Condition, createTask } from "@aio/asyncio";
   * import { assert } from "@std/assert";
   *
   * const cond = new Condition();
   * let ready = false;
   * const waiter = createTask(async () => {
   *   using _permit = await cond.acquire();
   *   while (!ready) await cond.wait();
   *   return cond.locked();
   * });
   * await Promise.resolve();
   * {
   *   using _permit = await cond.acquire();
   *   ready = true;
   *   cond.notifyAll();
   * }
   * assert(await waiter);
   * ```
   */
  async wait(options?: SignalOptions): Promise<void> {
    if (!this.#lock.locked()) {
      throw new InvalidStateError("Cannot wait on condition: its lock is not acquired");
    }
    const signal = options?.signal;
    throwIfCancelled(signal);
    const permit = permitOf(this.#lock);
    this.#lock.release();
    let notified = false;
    let failure: { error: unknown } | undefined;
    try {
      await park(this.#waiters, signal);
      notified = true;
    } catch (error) {
      failure = { error };
    }
    // Whatever happened, the caller gets the lock back before we return.
    await acquireShielded(this.#lock, permit);
    if (!failure) {
      try {
        throwIfCancelled(signal);
      } catch (error) {
        failure = { error };
      }
    }
    if (failure) {
      // A notification we cannot use goes to the next waiter.
      if (notified) this.#notify(1);
      throw failure.error;
    }
  }

  /**
   * Waits until `predicate()` is truthy, calling it before each wait and
   * after each wake-up, with the lock held.
   *
   * @typeParam T What the predicate returns.
   * @param predicate The state to wait for.
   * @param options `signal` to give up waiting.
   * @returns A promise for the predicate's last (truthy) value.
   * @throws {TypeError} (as a rejection) If `predicate` is not a function.
   * @throws {InvalidStateError} (as a rejection) If it must wait and the
   * lock is not held.
   *
   * @example
   * ```ts
   * import { Condition, createTask } from "@aio/asyncio";
   * import { assertEquals } from "@std/assert";
   *
   * const cond = new Condition();
   * const inbox: string[] = [];
   * const reader = createTask(async () => {
   *   using _permit = await cond.acquire();
   *   return await cond.waitFor(() => inbox.shift());
   * });
   * await Promise.resolve();
   * using _permit = await cond.acquire();
   * inbox.push("hello");
   * cond.notify();
   * _permit.release();
   * assertEquals(await reader, "hello");
   * ```
   */
  async waitFor<T>(predicate: () => T, options?: SignalOptions): Promise<T> {
    checkFunction(predicate, "predicate", "wait for predicate");
    let result = predicate();
    while (!result) {
      await this.wait(options);
      result = predicate();
    }
    return result;
  }

  /**
   * Wakes up to `n` waiters, first come first served. Each returns from
   * `wait()` only once it re-acquires the lock, so release it after
   * notifying.
   *
   * @param n How many waiters to wake; default 1.
   * @throws {InvalidStateError} If the lock is not held.
   * @throws {RangeError} If `n` is negative or not a number.
   *
   * @example
   * ```ts
   * import { Condition, createTask } from "@aio/asyncio";
   * import { assertEquals } from "@std/assert";
   *
   * const cond = new Condition();
   * const woke: number[] = [];
   * const waiters = [1, 2, 3].map((i) =>
   *   createTask(async () => {
   *     using _permit = await cond.acquire();
   *     await cond.wait();
   *     woke.push(i);
   *   })
   * );
   * await new Promise((r) => setTimeout(r, 0));
   * {
   *   using _permit = await cond.acquire();
   *   cond.notify(2);
   * }
   * await Promise.all(waiters.slice(0, 2));
   * assertEquals(woke, [1, 2]);
   * {
   *   using _permit = await cond.acquire();
   *   cond.notify();
   * }
   * await waiters[2];
   * ```
   */
  notify(n = 1): void {
    if (typeof n !== "number" || Number.isNaN(n) || n < 0) {
      throw new RangeError(
        `Cannot notify: 'n' must be a number of at least 0: current value is ${describe(n)}`,
      );
    }
    if (!this.#lock.locked()) {
      throw new InvalidStateError("Cannot notify on condition: its lock is not acquired");
    }
    this.#notify(n);
  }

  /**
   * Wakes every waiter; see {@linkcode Condition.notify}.
   *
   * @throws {InvalidStateError} If the lock is not held.
   *
   * @example
   * ```ts
   * import { Condition, createTask } from "@aio/asyncio";
   *
   * const cond = new Condition();
   * const waiters = [1, 2].map(() =>
   *   createTask(async () => {
   *     using _permit = await cond.acquire();
   *     await cond.wait();
   *   })
   * );
   * await new Promise((r) => setTimeout(r, 0));
   * {
   *   using _permit = await cond.acquire();
   *   cond.notifyAll();
   * }
   * await Promise.all(waiters);
   * ```
   */
  notifyAll(): void {
    this.notify(Infinity);
  }

  #notify(n: number): void {
    for (let i = 0; i < n; i++) {
      const w = this.#waiters.shift();
      if (!w) return;
      w.resolve();
    }
  }
}
