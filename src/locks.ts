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

import { throwIfCancelled } from "./cancellation.ts";
import { BrokenBarrierError, InvalidStateError } from "./errors.ts";
import { park, parkShielded, passOnIfCancelled, WaiterQueue } from "./_waiters.ts";
import { describe } from "./_describe.ts";

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
class OncePermit implements Permit {
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

/** Checks a count argument: an integer of at least `min`. */
function checkCount(value: unknown, what: string, name: string, min: number): number {
  if (typeof value !== "number" || Number.isNaN(value)) {
    throw new TypeError(
      `Cannot ${what} as '${name}' must be a number: current value is ${describe(value)}`,
    );
  }
  if (!Number.isInteger(value)) {
    throw new RangeError(
      `Cannot ${what} as '${name}' must be an integer: current value is ${value}`,
    );
  }
  if (value < min) {
    throw new RangeError(
      `Cannot ${what} as '${name}' must be at least ${min}: current value is ${value}`,
    );
  }
  return value;
}

/** Lets {@linkcode Condition} re-acquire its lock without being cancellable. */
let acquireShielded: (lock: Lock) => Promise<void>;

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

  static {
    acquireShielded = (lock) => lock.#acquireShielded();
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
      return Promise.resolve(new OncePermit(this));
    }
    return this.#acquireSlow(signal);
  }

  async #acquireSlow(signal: AbortSignal | undefined): Promise<Permit> {
    // `release()` hands us the lock (it stays locked).
    await park(this.#waiters, signal);
    passOnIfCancelled(signal, () => this.release());
    return new OncePermit(this);
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
    const next = this.#waiters.shift();
    if (next) next.resolve();
    else this.#locked = false;
  }
}

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
        `Cannot create condition as 'lock' must be a Lock: current value is ${describe(lock)}`,
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
    await acquireShielded(this.#lock);
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
    if (typeof predicate !== "function") {
      throw new TypeError(
        `Cannot wait for predicate: expected a function, got ${describe(predicate)}`,
      );
    }
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
        `Cannot notify as 'n' must be a number of at least 0: current value is ${describe(n)}`,
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

/** Lets {@linkcode BoundedSemaphore} set its bound. */
let setBound: (sem: Semaphore, bound: number) => void;

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
    this.#value = checkCount(value, `create ${this.constructor.name}`, "value", 0);
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
      return Promise.resolve(new OncePermit(this));
    }
    return this.#acquireSlow(signal);
  }

  async #acquireSlow(signal: AbortSignal | undefined): Promise<Permit> {
    // A release hands us its permit.
    await park(this.#waiters, signal);
    passOnIfCancelled(signal, () => this.#give());
    return new OncePermit(this);
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
    this.#give();
  }

  #give(): void {
    const next = this.#waiters.shift();
    if (next) next.resolve();
    else this.#value++;
  }
}

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
   * assertThrows(() => new Barrier(0), RangeError, "'parties' must be at least 1: current value is 0");
   * ```
   */
  constructor(parties: number) {
    this.#parties = checkCount(parties, "create barrier", "parties", 1);
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
