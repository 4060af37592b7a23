/**
 * The {@linkcode BoundedSemaphore}, like asyncio's `BoundedSemaphore`.
 *
 * @module
 */

import { Semaphore, setBound } from "./semaphore.ts";

/**
 * A {@linkcode Semaphore} that refuses to be released more often than it
 * was acquired, like asyncio's `BoundedSemaphore`: such a release throws.
 *
 * @example
 * ```ts
 * import { BoundedSemaphore, InvalidStateError } from "@aio/asyncio";
 * import { assertThrows } from "@std/assert";
 *
 * const sem = new BoundedSemaphore(2);
 * await sem.acquire();
 * sem.release();
 * assertThrows(() => sem.release(), InvalidStateError, "released more times than acquired");
 * ```
 */
export class BoundedSemaphore extends Semaphore {
  /**
   * Creates a bounded semaphore with `value` permits, its bound.
   *
   * @param value The number of permits; default 1.
   * @throws {TypeError} If `value` is not a number.
   * @throws {RangeError} If `value` is negative or not an integer.
   *
   * @example
   * ```ts
   * import { BoundedSemaphore } from "@aio/asyncio";
   * import { assert } from "@std/assert";
   *
   * assert(!new BoundedSemaphore(3).locked());
   * ```
   */
  constructor(value = 1) {
    super(value);
    setBound(this, value);
  }
}
