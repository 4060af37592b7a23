/**
 * The event flag {@linkcode Event}, like asyncio's `Event`.
 *
 * @module
 */

import { throwIfCancelled } from "../core/cancellation.ts";
import { park, WaiterQueue } from "../core/_waiters.ts";
import type { SignalOptions } from "./permit.ts";

/**
 * An event flag, like asyncio's `Event`: `wait()` blocks until `set()` is
 * called; `clear()` makes later waits block again.
 *
 * @example
 * ```ts
 * import { createTask, Event, sleep } from "@aio/asyncio";
 * import { assert } from "@std/assert";
 *
 * const ready = new Event();
 * const waiter = createTask(async () => {
 *   await ready.wait();
 *   return "went";
 * });
 * await sleep(1);
 * ready.set();
 * assert(await waiter === "went" && ready.isSet());
 * ```
 */
export class Event {
  #value = false;
  #waiters = new WaiterQueue<void>();

  /**
   * Tells whether the flag is set.
   *
   * @returns `true` when set.
   *
   * @example
   * ```ts
   * import { Event } from "@aio/asyncio";
   * import { assert } from "@std/assert";
   *
   * const event = new Event();
   * assert(!event.isSet());
   * event.set();
   * assert(event.isSet());
   * ```
   */
  isSet(): boolean {
    return this.#value;
  }

  /**
   * Sets the flag and wakes every waiter; later waits return at once.
   *
   * @example
   * ```ts
   * import { Event } from "@aio/asyncio";
   *
   * const event = new Event();
   * const waits = [event.wait(), event.wait()];
   * event.set();
   * await Promise.all(waits);
   * ```
   */
  set(): void {
    if (this.#value) return;
    this.#value = true;
    this.#waiters.resolveAll();
  }

  /**
   * Clears the flag: later waits block until the next `set()`.
   *
   * @example
   * ```ts
   * import { Event } from "@aio/asyncio";
   * import { assert } from "@std/assert";
   *
   * const event = new Event();
   * event.set();
   * event.clear();
   * assert(!event.isSet());
   * ```
   */
  clear(): void {
    this.#value = false;
  }

  /**
   * Waits until the flag is set; returns at once if it is.
   *
   * @param options `signal` to give up waiting.
   * @returns A promise that resolves once the flag is set.
   * @throws (as a rejection) The cancellation reason when the current task
   * or `options.signal` is cancelled first.
   *
   * @example
   * ```ts
   * import { Event } from "@aio/asyncio";
   * import { assertRejects } from "@std/assert";
   *
   * const never = new Event();
   * await assertRejects(() => never.wait({ signal: AbortSignal.timeout(5) }), DOMException);
   * ```
   */
  async wait(options?: SignalOptions): Promise<void> {
    const signal = options?.signal;
    throwIfCancelled(signal);
    if (this.#value) return;
    await park(this.#waiters, signal);
    throwIfCancelled(signal);
  }
}
