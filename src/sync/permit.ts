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
 * times it is called or disposed, and never releases another hold: once
 * its hold has ended (the primitive's own `release()` ends a `Lock`'s hold,
 * and a `Semaphore`'s oldest), releasing the permit does nothing.
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

/**
 * A permit that gives its hold back once, through `release`, the owner's
 * own function (one per primitive, not one per permit). The owner ignores
 * a permit whose hold has already ended. Internal.
 */
export class OncePermit implements Permit {
  #release: ((permit: OncePermit) => void) | undefined;

  constructor(release: (permit: OncePermit) => void) {
    this.#release = release;
  }

  release(): void {
    const release = this.#release;
    if (release) {
      this.#release = undefined;
      release(this);
    }
  }

  [Symbol.dispose](): void {
    this.release();
  }
}
