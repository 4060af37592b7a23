/**
 * Synchronisation primitives, like asyncio's `locks` module: {@linkcode Lock},
 * {@linkcode Event}, {@linkcode Condition}, {@linkcode Semaphore},
 * {@linkcode BoundedSemaphore} and {@linkcode Barrier}.
 *
 * Every wait is fair (first come, first served: a newcomer never takes what
 * a parked waiter was promised) and cancellable, both by the current task
 * and by an explicit `{ signal }`. Every wait is also a checkpoint: when the
 * task or signal is already cancelled it rejects at once, even if it would
 * not have had to wait. A cancelled wait consumes nothing: if the lock or
 * permit had already been handed to a waiter that is cancelled before it
 * resumes, the waiter rejects with the cancellation (as in asyncio) and
 * passes what it was handed to the next waiter.
 *
 * `acquire()` resolves to a {@linkcode Permit}, so a hold can be scoped with
 * `using`:
 *
 * ```ts
 * import { Lock } from "@aio/asyncio";
 *
 * const lock = new Lock();
 * {
 *   using _permit = await lock.acquire();
 *   // ... the critical section ...
 * } // released here, even if the block throws
 * ```
 *
 * @module
 */

/** Options for every wait of the synchronisation primitives and queues. */
export interface SignalOptions {
  /**
   * Aborting it rejects the wait with the signal's reason. The current task
   * cancels the wait too, without being passed.
   */
  signal?: AbortSignal;
}

/**
 * What `acquire()` of a {@linkcode Lock}, {@linkcode Condition} or
 * {@linkcode Semaphore} resolves to: the hold, released by `release()` or
 * at the end of a `using` block. It releases at most once, however many
 * times it is called or disposed. Release a hold either through its permit
 * or with the primitive's own `release()`, not both.
 *
 * @example
 * ```ts
 * import { Semaphore } from "@aio/asyncio";
 * import { assert } from "@std/assert";
 *
 * const sem = new Semaphore(1);
 * const permit = await sem.acquire();
 * assert(sem.locked());
 * permit.release();
 * permit.release(); // no effect: a permit releases once
 * assert(!sem.locked());
 * ```
 */
export interface Permit extends Disposable {
  /** Releases the hold; later calls do nothing. */
  release(): void;
}

/** Something a permit gives back to. Internal. */
interface Releasable {
  release(): void;
}

/** A permit that releases its owner once. Internal. */
export class OncePermit implements Permit {
  #owner: Releasable | undefined;

  constructor(owner: Releasable) {
    this.#owner = owner;
  }

  release(): void {
    const owner = this.#owner;
    if (owner) {
      this.#owner = undefined;
      owner.release();
    }
  }

  [Symbol.dispose](): void {
    this.release();
  }
}
