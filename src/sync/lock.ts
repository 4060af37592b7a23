/**
 * The mutual-exclusion {@linkcode Lock}, like asyncio's `Lock`.
 *
 * @module
 */

import { throwIfCancelled } from "../core/cancellation.ts";
import { InvalidStateError } from "../core/errors.ts";
import { park, parkShielded, passOnIfCancelled, WaiterQueue } from "../core/_waiters.ts";
import { OncePermit, type Permit, type SignalOptions } from "./permit.ts";

/** The permit of the current hold of `lock`, for {@linkcode Condition}. Internal. */
export let permitOf: (lock: Lock) => OncePermit | undefined;
/**
 * Lets {@linkcode Condition} re-acquire its lock without being cancellable,
 * giving the hold back its `permit`. Internal.
 */
export let acquireShielded: (lock: Lock, permit: OncePermit | undefined) => Promise<void>;

/**
 * A mutual-exclusion lock, like asyncio's `Lock`: not owned by a task, fair
 * (waiters acquire in the order they asked), and cancellable while waiting.
 *
 * `release()` with waiters hands the lock straight to the first one, so a
 * newcomer cannot slip in between. A waiter cancelled after being handed the
 * lock, but before it resumed, rejects and hands the lock on in turn.
 *
 * @example With `using`
 * ```ts
 * import { Lock, sleep, TaskGroup } from "@aio/asyncio";
 * import { assertEquals } from "@std/assert";
 *
 * const lock = new Lock();
 * const log: string[] = [];
 * async function worker(name: string) {
 *   using _permit = await lock.acquire();
 *   log.push(`${name} in`);
 *   await sleep(5);
 *   log.push(`${name} out`);
 * }
 * await TaskGroup.run((tg) => {
 *   tg.createTask(() => worker("a"));
 *   tg.createTask(() => worker("b"));
 * });
 * assertEquals(log, ["a in", "a out", "b in", "b out"]);
 * ```
 *
 * @example asyncio style, with `acquire()` and `release()`
 * ```ts
 * import { Lock } from "@aio/asyncio";
 * import { assert } from "@std/assert";
 *
 * const lock = new Lock();
 * await lock.acquire();
 * try {
 *   assert(lock.locked());
 * } finally {
 *   lock.release();
 * }
 * assert(!lock.locked());
 * ```
 */
export class Lock {
  #locked = false;
  #waiters = new WaiterQueue<void>();

  /** The permit of the current hold: a permit of an ended hold releases nothing. */
  #permit: OncePermit | undefined;
  #releasePermit = (permit: OncePermit): void => {
    if (this.#permit === permit) this.release();
  };

  static {
    permitOf = (lock) => lock.#permit;
    acquireShielded = async (lock, permit) => {
      await lock.#acquireShielded();
      lock.#permit = permit;
    };
  }

  /**
   * Tells whether the lock is held.
   *
   * @returns `true` when the lock is held.
   *
   * @example
   * ```ts
   * import { Lock } from "@aio/asyncio";
   * import { assert } from "@std/assert";
   *
   * const lock = new Lock();
   * assert(!lock.locked());
   * using _permit = await lock.acquire();
   * assert(lock.locked());
   * ```
   */
  locked(): boolean {
    return this.#locked;
  }

  /**
   * Acquires the lock, waiting (in line) while it is held.
   *
   * @param options `signal` to give up waiting.
   * @returns A promise for a {@linkcode Permit} that releases the lock once.
   * @throws (as a rejection) The cancellation reason when the current task
   * or `options.signal` is cancelled before the lock is acquired; the lock
   * is not held then.
   *
   * @example Giving up with a signal
   * ```ts
   * import { Lock } from "@aio/asyncio";
   * import { assertRejects } from "@std/assert";
   *
   * const lock = new Lock();
   * using _held = await lock.acquire();
   * await assertRejects(
   *   () => lock.acquire({ signal: AbortSignal.timeout(10) }),
   *   DOMException,
   *   "timeout",
   * );
   * ```
   */
  acquire(options?: SignalOptions): Promise<Permit> {
    const signal = options?.signal;
    if (!this.#locked) {
      // Unlocked means nobody waits: waiters are handed the lock directly.
      try {
        throwIfCancelled(signal);
      } catch (e) {
        return Promise.reject(e);
      }
      this.#locked = true;
      return Promise.resolve(this.#newPermit());
    }
    return this.#acquireSlow(signal);
  }

  async #acquireSlow(signal: AbortSignal | undefined): Promise<Permit> {
    // `release()` hands us the lock (it stays locked).
    await park(this.#waiters, signal);
    passOnIfCancelled(signal, () => this.release());
    return this.#newPermit();
  }

  #newPermit(): OncePermit {
    return this.#permit = new OncePermit(this.#releasePermit);
  }

  #acquireShielded(): Promise<void> {
    if (!this.#locked) {
      this.#locked = true;
      return Promise.resolve();
    }
    return parkShielded(this.#waiters);
  }

  /**
   * Releases the lock: hands it to the first waiter, if any, else unlocks
   * it.
   *
   * @throws {InvalidStateError} If the lock is not held.
   *
   * @example
   * ```ts
   * import { InvalidStateError, Lock } from "@aio/asyncio";
   * import { assertThrows } from "@std/assert";
   *
   * const lock = new Lock();
   * await lock.acquire();
   * lock.release();
   * assertThrows(() => lock.release(), InvalidStateError, "not acquired");
   * ```
   */
  release(): void {
    if (!this.#locked) throw new InvalidStateError("Cannot release lock: it is not acquired");
    this.#permit = undefined;
    const next = this.#waiters.shift();
    if (next) next.resolve();
    else this.#locked = false;
  }
}
