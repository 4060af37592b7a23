/**
 * The reusable {@linkcode Barrier}, like asyncio's `Barrier`.
 *
 * @module
 */

import { throwIfCancelled } from "../core/cancellation.ts";
import { BrokenBarrierError } from "../core/errors.ts";
import { park, WaiterQueue } from "../core/_waiters.ts";
import { checkInteger } from "../core/_check.ts";
import type { SignalOptions } from "./permit.ts";

type BarrierState = "filling" | "draining" | "resetting" | "broken";

/**
 * A barrier for a fixed number of tasks, like asyncio's `Barrier`: each
 * `wait()` blocks until `parties` tasks are waiting, then all are released
 * together. The barrier is reusable; `reset()` and `abort()` make current
 * waiters reject with {@linkcode BrokenBarrierError}. A cancelled waiter
 * just leaves (the others keep waiting for a full set).
 *
 * @example
 * ```ts
 * import { Barrier, TaskGroup } from "@aio/asyncio";
 * import { assertEquals } from "@std/assert";
 *
 * const barrier = new Barrier(3);
 * const log: string[] = [];
 * await TaskGroup.run((tg) => {
 *   for (const name of ["a", "b", "c"]) {
 *     tg.createTask(async () => {
 *       log.push(`${name} arrives`);
 *       await barrier.wait();
 *       log.push(`${name} leaves`);
 *     });
 *   }
 * });
 * assertEquals(log.slice(0, 3), ["a arrives", "b arrives", "c arrives"]);
 * ```
 */
export class Barrier {
  #parties: number;
  #count = 0;
  #state: BarrierState = "filling";
  #waiters = new WaiterQueue<void>();

  /**
   * Creates a barrier for `parties` tasks.
   *
   * @param parties How many tasks must wait before all are released.
   * @throws {TypeError} If `parties` is not a number.
   * @throws {RangeError} If `parties` is less than 1 or not an integer.
   *
   * @example
   * ```ts
   * import { Barrier } from "@aio/asyncio";
   * import { assertThrows } from "@std/assert";
   *
   * assertThrows(() => new Barrier(0), RangeError, "'parties' must be an integer >= 1: current value is 0");
   * ```
   */
  constructor(parties: number) {
    this.#parties = checkInteger(parties, "parties", "create barrier", 1);
  }

  /**
   * The number of tasks needed to trip the barrier.
   *
   * @example
   * ```ts
   * import { Barrier } from "@aio/asyncio";
   * import { assertEquals } from "@std/assert";
   *
   * assertEquals(new Barrier(4).parties, 4);
   * ```
   */
  get parties(): number {
    return this.#parties;
  }

  /**
   * The number of tasks waiting for the barrier to fill (0 while it
   * releases a full set or resets).
   *
   * @example
   * ```ts
   * import { Barrier, createTask } from "@aio/asyncio";
   * import { assertEquals } from "@std/assert";
   *
   * const barrier = new Barrier(2);
   * const first = createTask(() => barrier.wait());
   * await new Promise((r) => setTimeout(r, 0));
   * assertEquals(barrier.nWaiting, 1);
   * await barrier.wait();
   * await first;
   * ```
   */
  get nWaiting(): number {
    return this.#state === "filling" ? this.#count : 0;
  }

  /**
   * Whether the barrier is broken (by `abort()`).
   *
   * @example
   * ```ts
   * import { Barrier } from "@aio/asyncio";
   * import { assert } from "@std/assert";
   *
   * const barrier = new Barrier(2);
   * barrier.abort();
   * assert(barrier.broken);
   * ```
   */
  get broken(): boolean {
    return this.#state === "broken";
  }

  /**
   * Waits until `parties` tasks wait, then releases them all. If the
   * barrier is still releasing the previous set (or resetting), waits for
   * that to finish first.
   *
   * @param options `signal` to give up waiting.
   * @returns A promise for this task's arrival index, from 0 to
   * `parties - 1`; the last to arrive gets `parties - 1`.
   * @throws {BrokenBarrierError} (as a rejection) If the barrier is broken,
   * or is reset or aborted while this task waits.
   * @throws (as a rejection) The cancellation reason when the current task
   * or `options.signal` is cancelled; the barrier stays usable.
   *
   * @example
   * ```ts
   * import { Barrier, createTask } from "@aio/asyncio";
   * import { assertEquals } from "@std/assert";
   *
   * const barrier = new Barrier(2);
   * const other = createTask(() => barrier.wait());
   * const mine = await barrier.wait();
   * assertEquals([mine, await other].sort(), [0, 1]);
   * ```
   */
  async wait(options?: SignalOptions): Promise<number> {
    const signal = options?.signal;
    throwIfCancelled(signal);
    // Wait for the previous set to drain (or a reset to finish).
    while (this.#state === "draining" || this.#state === "resetting") {
      await this.#park(signal);
    }
    if (this.#state === "broken") throw new BrokenBarrierError("Barrier aborted");
    const index = this.#count++;
    try {
      if (index + 1 === this.#parties) {
        this.#state = "draining";
        this.#waiters.resolveAll();
      } else {
        while (this.#state === "filling") await this.#park(signal);
        if (this.#state === "broken" || this.#state === "resetting") {
          throw new BrokenBarrierError(`Barrier ${this.#state === "broken" ? "aborted" : "reset"}`);
        }
      }
      return index;
    } finally {
      if (--this.#count === 0) {
        // The last to leave ends a drain or a reset (the state may have
        // changed while we waited, whatever the type checker narrowed).
        const state = this.#state as BarrierState;
        if (state === "draining" || state === "resetting") this.#state = "filling";
        this.#waiters.resolveAll();
      }
    }
  }

  /**
   * Returns the barrier to its initial, empty state. Tasks waiting on it
   * reject with {@linkcode BrokenBarrierError}; a broken barrier is usable
   * again.
   *
   * @example
   * ```ts
   * import { Barrier, BrokenBarrierError, createTask } from "@aio/asyncio";
   * import { assert, assertRejects } from "@std/assert";
   *
   * const barrier = new Barrier(2);
   * const early = createTask(() => barrier.wait());
   * await new Promise((r) => setTimeout(r, 0));
   * barrier.reset();
   * await assertRejects(() => Promise.resolve(early), BrokenBarrierError);
   * assert(!barrier.broken && barrier.nWaiting === 0);
   * ```
   */
  reset(): void {
    if (this.#count > 0) {
      this.#state = "resetting";
    } else {
      this.#state = "filling";
    }
    this.#waiters.resolveAll();
  }

  /**
   * Breaks the barrier: tasks waiting on it, and every later `wait()`,
   * reject with {@linkcode BrokenBarrierError} until `reset()`.
   *
   * @example
   * ```ts
   * import { Barrier, BrokenBarrierError } from "@aio/asyncio";
   * import { assertRejects } from "@std/assert";
   *
   * const barrier = new Barrier(2);
   * barrier.abort();
   * await assertRejects(() => barrier.wait(), BrokenBarrierError, "aborted");
   * ```
   */
  abort(): void {
    this.#state = "broken";
    this.#waiters.resolveAll();
  }

  async #park(signal: AbortSignal | undefined): Promise<void> {
    await park(this.#waiters, signal);
    throwIfCancelled(signal);
  }
}
