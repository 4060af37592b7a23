/**
 * `asCompleted`: awaitables in the order they finish, like
 * `asyncio.as_completed` (both its classic and its 3.13 form).
 *
 * @module
 */

import { TimeoutError } from "./errors.ts";
import { checkDelay, type Delay, setDelay } from "./_timers.ts";
import { type Outcome, watch } from "./_watch.ts";
import { park, WaiterQueue } from "./_waiters.ts";
import { Fifo } from "./_fifo.ts";

/** Options for {@linkcode asCompleted}. */
export interface AsCompletedOptions {
  /** After this many milliseconds, what is left rejects with `TimeoutError`. */
  timeout?: number | null;
  /** Aborting it rejects the pending waits of the iteration. */
  signal?: AbortSignal;
}

/**
 * One finished awaitable, as the `for await` form of {@linkcode asCompleted}
 * yields it: the very object passed in and its position in the input.
 *
 * asyncio's 3.13 form yields the bare task. TypeScript types the variable of
 * a `for await` loop as the *awaited* type of what is yielded, so a bare task
 * or future would be typed as its result; the record keeps the object's own
 * type. It has settled, so `await done.awaitable` does not wait.
 *
 * @typeParam A The awaitables' type.
 */
export interface Completed<A> {
  /** The awaitable that finished, exactly as passed in. */
  readonly awaitable: A;
  /** Its position in the input (the first one, for a duplicate). */
  readonly index: number;
}

/**
 * What {@linkcode asCompleted} returns: iterate it with `for...of` for
 * promises of the results in completion order (asyncio's classic form: the
 * first promise awaited gets the first result, whichever it is), or
 * with `for await...of` for the original awaitables as they finish (the
 * Python 3.13 form), each in a {@linkcode Completed} record. Breaking out of
 * either loop early releases the timer and every watch.
 *
 * @typeParam A The awaitables' type.
 */
export interface AsCompleted<A>
  extends Iterable<Promise<Awaited<A>>>, AsyncIterable<Completed<A>> {}

/**
 * Yields tasks, futures or promises in the order they finish; asyncio's
 * `asyncio.as_completed`. With a `timeout`, waits still pending at the
 * deadline reject with {@linkcode TimeoutError}. Nothing is cancelled.
 *
 * @typeParam A The awaitables' type.
 * @param awaitables The tasks, futures or promises (duplicates count once).
 * @param options `timeout` in milliseconds and `signal`.
 * @returns An iterable and async-iterable view in completion order.
 *
 * @example The classic form: promises in completion order
 * ```ts
 * import { asCompleted, sleep } from "@aio/asyncio";
 * import { assertEquals } from "@std/assert";
 *
 * const order: string[] = [];
 * const jobs = [sleep(30, { value: "c" }), sleep(10, { value: "a" }), sleep(20, { value: "b" })];
 * for (const next of asCompleted(jobs)) order.push(await next);
 * assertEquals(order, ["a", "b", "c"]);
 * ```
 *
 * @example The 3.13 form: the original tasks as they finish
 * ```ts
 * import { asCompleted, createTask, sleep } from "@aio/asyncio";
 * import { assertEquals } from "@std/assert";
 *
 * const tasks = [
 *   createTask(() => sleep(20, { value: "slow" }), { name: "slow" }),
 *   createTask(() => sleep(5, { value: "fast" }), { name: "fast" }),
 * ];
 * const seen: string[] = [];
 * for await (const { awaitable: task, index } of asCompleted(tasks)) {
 *   seen.push(`${index}: ${task.name} = ${await task}`);
 * }
 * assertEquals(seen, ["1: fast = fast", "0: slow = slow"]);
 * ```
 */
export function asCompleted<A>(
  awaitables: Iterable<A>,
  options?: AsCompletedOptions,
): AsCompleted<A> {
  const all = [...new Set(awaitables)];
  const limit = options?.timeout == null
    ? null
    : checkDelay(options.timeout, "Cannot iterate asCompleted", "timeout");
  return {
    [Symbol.iterator]() {
      const run = new Completion(all, limit, options?.signal);
      let yielded = 0;
      return {
        next(): IteratorResult<Promise<Awaited<A>>> {
          if (yielded >= all.length) return { done: true, value: undefined };
          yielded++;
          const p = new NextCompletion<Awaited<A>>((resolve, reject) => {
            run.next().then((entry) => {
              if (entry.outcome.ok) resolve(entry.outcome.value as Awaited<A>);
              else reject(entry.outcome.error);
            }, reject);
          });
          return { done: false, value: p };
        },
        return(): IteratorResult<Promise<Awaited<A>>> {
          // Promises already handed out still settle; then all is released.
          run.closeAfter(yielded);
          return { done: true, value: undefined };
        },
      };
    },
    [Symbol.asyncIterator]() {
      const run = new Completion(all, limit, options?.signal);
      let yielded = 0;
      return {
        async next(): Promise<IteratorResult<Completed<A>>> {
          if (yielded >= all.length) {
            run.close();
            return { done: true, value: undefined };
          }
          yielded++;
          try {
            const { awaitable, index } = await run.next();
            return { done: false, value: { awaitable, index } };
          } catch (e) {
            run.close();
            throw e;
          }
        },
        return(): Promise<IteratorResult<Completed<A>>> {
          run.close();
          return Promise.resolve({ done: true, value: undefined });
        },
      };
    },
  };
}

/**
 * A promise of the next completion that takes it when first awaited (or
 * `then`, `catch`, `finally` is called), not when it is made: asyncio's
 * classic `as_completed` hands the first completion to the first await, so
 * `await promises[1]` gets the first result. Promises derived from it are
 * plain ones.
 */
class NextCompletion<T> extends Promise<T> {
  static override get [Symbol.species](): PromiseConstructor {
    return Promise;
  }

  #take: (() => void) | undefined;

  constructor(take: (resolve: (value: T) => void, reject: (error: unknown) => void) => void) {
    let resolve!: (value: T) => void;
    let reject!: (error: unknown) => void;
    super((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.#take = () => take(resolve, reject);
  }

  override then<R1 = T, R2 = never>(
    onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    const take = this.#take;
    if (take) {
      this.#take = undefined;
      take();
    }
    return super.then(onFulfilled, onRejected);
  }
}

interface Entry<A> {
  awaitable: A;
  index: number;
  outcome: Outcome;
}

/** One iteration: watches everything, hands out finishers in order. */
class Completion<A> {
  // Both lines are taken from the front in O(1): `Array.prototype.shift`
  // copies a large array, which made 100k awaitables quadratic.
  #finished = new Fifo<Entry<A>>();
  #waiters = new WaiterQueue<Entry<A>>();
  #unwatch: (() => void)[] = [];
  #timer: Delay | undefined;
  #timedOut = false;
  #signal: AbortSignal | undefined;
  #limit: number | null;
  #settled = 0;
  #delivered = 0;
  #closeAfter = Infinity;

  constructor(all: A[], limit: number | null, signal: AbortSignal | undefined) {
    this.#signal = signal;
    this.#limit = limit;
    for (const [index, awaitable] of all.entries()) {
      this.#unwatch.push(watch(awaitable, (outcome) => {
        // Every outcome is known: the deadline can no longer matter.
        if (++this.#settled === all.length) this.close();
        const entry = { awaitable, index, outcome };
        const waiter = this.#waiters.shift();
        if (waiter) waiter.resolve(this.#deliver(entry));
        else this.#finished.push(entry);
      }));
    }
    if (limit !== null) this.#timer = setDelay(() => this.#timeout(), limit);
  }

  next(): Promise<Entry<A>> {
    if (this.#finished.size > 0) return Promise.resolve(this.#deliver(this.#finished.shift()));
    if (this.#timedOut) return Promise.reject(this.#timeoutError());
    return park(this.#waiters, this.#signal);
  }

  #deliver(entry: Entry<A>): Entry<A> {
    if (++this.#delivered >= this.#closeAfter) this.close();
    return entry;
  }

  /** Releases everything once `count` entries have been delivered. */
  closeAfter(count: number): void {
    this.#closeAfter = count;
    if (this.#delivered >= count || this.#timedOut) this.close();
  }

  #timeoutError(): TimeoutError {
    return new TimeoutError(`asCompleted timed out after ${this.#limit} ms`);
  }

  #timeout(): void {
    this.#timedOut = true;
    this.close();
    this.#waiters.rejectAll(() => this.#timeoutError());
  }

  close(): void {
    this.#timer?.clear();
    this.#timer = undefined;
    for (const off of this.#unwatch.splice(0)) off();
  }
}
