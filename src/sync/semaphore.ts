/**
 * The counting {@linkcode Semaphore}, like asyncio's `Semaphore`.
 *
 * @module
 */

import { throwIfCancelled } from "../core/cancellation.ts";
import { InvalidStateError } from "../core/errors.ts";
import { park, passOnIfCancelled, WaiterQueue } from "../core/_waiters.ts";
import { checkInteger } from "../core/_check.ts";
import { OncePermit, type Permit, type SignalOptions } from "./permit.ts";

/** Lets {@linkcode BoundedSemaphore} set its bound. */
export let setBound: (sem: Semaphore, bound: number) => void;

/**
 * A counting semaphore, like asyncio's `Semaphore`: `acquire()` takes one
 * of `value` permits, waiting (in line) while none is left; `release()`
 * gives one back. Fair: a released permit goes straight to the first
 * waiter, so a newcomer cannot take it first, and a waiter cancelled after
 * being handed a permit passes it on.
 *
 * @example Limiting concurrency with `using`
 * ```ts
 * import { Semaphore, sleep, TaskGroup } from "@aio/asyncio";
 * import { assertEquals } from "@std/assert";
 *
 * const sem = new Semaphore(2);
 * let running = 0;
 * let peak = 0;
 * await TaskGroup.run((tg) => {
 *   for (let i = 0; i < 6; i++) {
 *     tg.createTask(async () => {
 *       using _permit = await sem.acquire();
 *       peak = Math.max(peak, ++running);
 *       await sleep(2);
 *       running--;
 *     });
 *   }
 * });
 * assertEquals(peak, 2);
 * ```
 *
 * @example Bounded spawning: at most `value` tasks exist at once
 * ```ts
 * import { Semaphore, sleep, TaskGroup } from "@aio/asyncio";
 * import { assertEquals } from "@std/assert";
 *
 * const sem = new Semaphore(3);
 * const results: number[] = [];
 * await TaskGroup.run(async (tg) => {
 *   for (let i = 0; i < 10; i++) {
 *     const permit = await sem.acquire(); // the loop waits, not 10 parked tasks
 *     tg.createTask(async () => {
 *       await sleep(1);
 *       results.push(i);
 *     }).addDoneCallback(() => permit.release()); // even if it never ran
 *   }
 * });
 * assertEquals(results.length, 10);
 * ```
 *
 * @example asyncio style
 * ```ts
 * import { Semaphore } from "@aio/asyncio";
 * import { assert } from "@std/assert";
 *
 * const sem = new Semaphore(1);
 * await sem.acquire();
 * try {
 *   assert(sem.locked());
 * } finally {
 *   sem.release();
 * }
 * ```
 */
export class Semaphore {
  #value: number;
  #bound = Infinity;
  #waiters = new WaiterQueue<void>();
  /** The permits of the current holds, oldest first. */
  #held = new Set<OncePermit>();
  #releasePermit = (permit: OncePermit): void => {
    if (this.#held.delete(permit)) this.#give();
  };

  static {
    setBound = (sem, bound) => void (sem.#bound = bound);
  }

  /**
   * Creates a semaphore with `value` permits.
   *
   * @param value The number of permits; default 1.
   * @throws {TypeError} If `value` is not a number.
   * @throws {RangeError} If `value` is negative or not an integer.
   *
   * @example
   * ```ts
   * import { Semaphore } from "@aio/asyncio";
   * import { assert, assertThrows } from "@std/assert";
   *
   * assert(new Semaphore(0).locked());
   * assertThrows(() => new Semaphore(-1), RangeError, "current value is -1");
   * ```
   */
  constructor(value = 1) {
    this.#value = checkInteger(value, "value", `create ${this.constructor.name}`, 0);
  }

  /**
   * Tells whether `acquire()` would have to wait.
   *
   * @returns `true` when no permit is free.
   *
   * @example
   * ```ts
   * import { Semaphore } from "@aio/asyncio";
   * import { assert } from "@std/assert";
   *
   * const sem = new Semaphore(1);
   * using _permit = await sem.acquire();
   * assert(sem.locked());
   * ```
   */
  locked(): boolean {
    // Waiters exist only while no permit is free: releases hand permits over.
    return this.#value === 0;
  }

  /**
   * Takes a permit, waiting in line while none is free.
   *
   * @param options `signal` to give up waiting.
   * @returns A promise for a {@linkcode Permit} that gives the permit back
   * once.
   * @throws (as a rejection) The cancellation reason when the current task
   * or `options.signal` is cancelled before a permit is taken; no permit is
   * held then.
   *
   * @example
   * ```ts
   * import { Semaphore } from "@aio/asyncio";
   * import { assertRejects } from "@std/assert";
   *
   * const sem = new Semaphore(1);
   * {
   *   using _permit = await sem.acquire();
   *   await assertRejects(() => sem.acquire({ signal: AbortSignal.timeout(5) }), DOMException);
   * }
   * using _again = await sem.acquire();
   * ```
   */
  acquire(options?: SignalOptions): Promise<Permit> {
    const signal = options?.signal;
    if (this.#value > 0) {
      try {
        throwIfCancelled(signal);
      } catch (e) {
        return Promise.reject(e);
      }
      this.#value--;
      return Promise.resolve(this.#newPermit());
    }
    return this.#acquireSlow(signal);
  }

  async #acquireSlow(signal: AbortSignal | undefined): Promise<Permit> {
    // A release hands us its permit.
    await park(this.#waiters, signal);
    passOnIfCancelled(signal, () => this.#give());
    return this.#newPermit();
  }

  #newPermit(): OncePermit {
    const permit = new OncePermit(this.#releasePermit);
    this.#held.add(permit);
    return permit;
  }

  /**
   * Gives a permit back: to the first waiter, if any, else to the pool.
   *
   * @throws {InvalidStateError} For a {@linkcode BoundedSemaphore}, when
   * the release would raise the count above its initial value.
   *
   * @example
   * ```ts
   * import { Semaphore } from "@aio/asyncio";
   * import { assert } from "@std/assert";
   *
   * const sem = new Semaphore(0);
   * sem.release();
   * assert(!sem.locked());
   * ```
   */
  release(): void {
    if (this.#value >= this.#bound) {
      throw new InvalidStateError(
        `Cannot release ${this.constructor.name}: released more times than acquired ` +
          `(all ${this.#bound} permits are already free)`,
      );
    }
    // The oldest hold ends: its permit releases nothing any more.
    const oldest = this.#held.values().next();
    if (!oldest.done) this.#held.delete(oldest.value);
    this.#give();
  }

  #give(): void {
    const next = this.#waiters.shift();
    if (next) next.resolve();
    else this.#value++;
  }
}
