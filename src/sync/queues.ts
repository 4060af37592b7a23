/**
 * Queues for producers and consumers, like asyncio's `queues` module:
 * {@linkcode Queue} (first in, first out), {@linkcode PriorityQueue} and
 * {@linkcode LifoQueue}, with `shutdown()` (Python 3.13) and
 * `for await` iteration that ends at shutdown.
 *
 * Waits are fair and cancellable (the current task, or an explicit
 * `{ signal }`), and a cancelled wait loses nothing: an item put for a
 * waiting `get()` stays in the queue until that getter resumes, so a getter
 * cancelled in between leaves it there, at its place, for the next one; a
 * `put()` that rejects did not insert its item.
 *
 * @module
 */

import { throwIfCancelled } from "../core/cancellation.ts";
import { InvalidStateError, QueueEmpty, QueueFull, QueueShutDown } from "../core/errors.ts";
import type { SignalOptions } from "./permit.ts";
import { park, passOnIfCancelled, WaiterQueue } from "../core/_waiters.ts";
import { describe } from "../core/_describe.ts";
import { Fifo } from "../core/_fifo.ts";
import { checkFunction, checkInteger } from "../core/_check.ts";

/** Options for {@linkcode Queue} and {@linkcode LifoQueue}. */
export interface QueueOptions {
  /**
   * How many items the queue holds before `put()` waits; 0 (the default),
   * a negative number or `Infinity` means no limit.
   */
  maxsize?: number;
}

/** Options for {@linkcode PriorityQueue}. */
export interface PriorityQueueOptions<T> extends QueueOptions {
  /**
   * Orders items, like `Array.prototype.sort`'s comparator: negative when
   * `a` comes out first. Default: the natural order of numbers, bigints and
   * strings, and of arrays of them element by element (asyncio's
   * `(priority, data)` tuples: `[2, "job"]`); elements without a natural
   * order between them compare as equal. Items that compare equal come out
   * in the order they were put.
   */
  compare?: (a: T, b: T) => number;
}

/** Where a queue keeps its items: the part that differs between kinds. Internal. */
interface Store<T> {
  readonly size: number;
  push(item: T): void;
  shift(): T;
  clear(): void;
  /** Throws if `item` cannot be stored. */
  check?(item: T, what: string): void;
}

/** Last in, first out. */
class LifoStore<T> implements Store<T> {
  #items: T[] = [];

  get size(): number {
    return this.#items.length;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  shift(): T {
    return this.#items.pop() as T;
  }

  clear(): void {
    this.#items = [];
  }
}

interface Entry<T> {
  item: T;
  seq: number;
}

/** A binary min-heap; ties broken by insertion order, so it is stable. */
class HeapStore<T> implements Store<T> {
  #heap: Entry<T>[] = [];
  #seq = 0;
  #compare: (a: T, b: T) => number;
  #natural: boolean;

  constructor(compare: ((a: T, b: T) => number) | undefined) {
    this.#compare = compare ?? (naturalOrder as (a: T, b: T) => number);
    this.#natural = compare === undefined;
  }

  get size(): number {
    return this.#heap.length;
  }

  #before(a: Entry<T>, b: Entry<T>): boolean {
    const c = this.#compare(a.item, b.item);
    return c < 0 || (!(c > 0) && a.seq < b.seq);
  }

  check(item: T, what: string): void {
    if (!this.#natural) return;
    const ok = typeof item === "string" || typeof item === "bigint" || Array.isArray(item) ||
      (typeof item === "number" && !Number.isNaN(item));
    if (!ok) {
      throw new TypeError(
        `Cannot ${what} ${describe(item)} into a PriorityQueue without a 'compare' option: ` +
          `the default order takes numbers, bigints, strings and arrays of them`,
      );
    }
  }

  // Both operations first find where entries go, comparing only, and then
  // move them without comparing: a throwing comparator leaves the heap as
  // it was.

  push(item: T): void {
    const heap = this.#heap;
    const entry = { item, seq: this.#seq++ };
    let k = heap.length;
    while (k > 0) {
      const parent = (k - 1) >> 1;
      if (!this.#before(entry, heap[parent])) break;
      k = parent;
    }
    let hole = heap.length;
    heap.push(entry);
    while (hole > k) {
      const parent = (hole - 1) >> 1;
      heap[hole] = heap[parent];
      hole = parent;
    }
    heap[k] = entry;
  }

  shift(): T {
    const heap = this.#heap;
    const top = heap[0];
    const m = heap.length - 1;
    const last = heap[m];
    const path: number[] = [];
    for (let i = 0;;) {
      const l = 2 * i + 1;
      if (l >= m) break;
      const r = l + 1;
      const child = r < m && this.#before(heap[r], heap[l]) ? r : l;
      if (!this.#before(heap[child], last)) break;
      path.push(child);
      i = child;
    }
    heap.pop();
    if (m > 0) {
      let hole = 0;
      for (const child of path) {
        heap[hole] = heap[child];
        hole = child;
      }
      heap[hole] = last;
    }
    return top.item;
  }

  clear(): void {
    this.#heap = [];
  }
}

function isNumeric(x: unknown): x is number | bigint {
  return typeof x === "number" || typeof x === "bigint";
}

/** The default order of a {@linkcode PriorityQueue}. */
function naturalOrder(a: unknown, b: unknown): number {
  if (Array.isArray(a) && Array.isArray(b)) {
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) {
      const c = naturalOrder(a[i], b[i]);
      if (c !== 0) return c;
    }
    return a.length - b.length;
  }
  if ((isNumeric(a) && isNumeric(b)) || (typeof a === "string" && typeof b === "string")) {
    return a < b ? -1 : a > b ? 1 : 0;
  }
  return 0;
}

/** Lets the subclasses choose their store. */
let setStore: <T>(queue: Queue<T>, store: Store<T>) => void;

/**
 * A first-in first-out queue for coordinating producer and consumer tasks,
 * like asyncio's `Queue`. With a `maxsize`, `put()` waits while the queue
 * is full. `taskDone()` and `join()` track when every item put has been
 * processed; `shutdown()` ends it (Python 3.13 semantics).
 *
 * Fairness: getters and putters are served first come, first served. An
 * item put while getters wait is promised to the first of them, and a slot
 * freed while putters wait to the first of those: a newcomer's
 * `getNowait()` / `putNowait()` cannot take them (so `qsize()` counts only
 * unpromised items, and `full()` counts promised slots).
 *
 * @typeParam T The type of the items.
 *
 * @example Workers draining a queue
 * ```ts
 * import { Queue, TaskGroup } from "@aio/asyncio";
 * import { assertEquals } from "@std/assert";
 *
 * const queue = new Queue<number>();
 * for (let i = 1; i <= 6; i++) queue.putNowait(i);
 * let total = 0;
 * await TaskGroup.run(async (tg) => {
 *   const workers = [1, 2, 3].map(() =>
 *     tg.createTask(async () => {
 *       for (;;) {
 *         const n = await queue.get();
 *         total += n;
 *         queue.taskDone();
 *       }
 *     })
 *   );
 *   await queue.join();
 *   for (const w of workers) w.cancel();
 * });
 * assertEquals(total, 21);
 * ```
 *
 * @example Iterating until shutdown
 * ```ts
 * import { createTask, Queue } from "@aio/asyncio";
 * import { assertEquals } from "@std/assert";
 *
 * const queue = new Queue<string>(2);
 * const producer = createTask(async () => {
 *   for (const word of ["a", "b", "c"]) await queue.put(word);
 *   queue.shutdown();
 * });
 * const seen: string[] = [];
 * for await (const word of queue) seen.push(word);
 * await producer;
 * assertEquals(seen, ["a", "b", "c"]);
 * ```
 */
export class Queue<T> implements AsyncIterable<T> {
  #maxsize: number;
  #store: Store<T> = new Fifo<T>();
  #getters = new WaiterQueue<void>();
  #putters = new WaiterQueue<void>();
  #joiners = new WaiterQueue<void>();
  /** Getters woken for an item, not yet resumed: that many items are theirs. */
  #claims = 0;
  /** Putters woken for a slot, not yet resumed: that many slots are theirs. */
  #reserved = 0;
  #unfinished = 0;
  #shutDown = false;

  static {
    setStore = (queue, store) => void (queue.#store = store);
  }

  /**
   * Creates a queue holding at most `maxsize` items.
   *
   * @param maxsize The bound, or `{ maxsize }`; 0 (the default), a negative
   * number or `Infinity` means no bound.
   * @throws {TypeError} If `maxsize` is not a number.
   * @throws {RangeError} If `maxsize` is not an integer.
   *
   * @example
   * ```ts
   * import { Queue } from "@aio/asyncio";
   * import { assertEquals, assertThrows } from "@std/assert";
   *
   * assertEquals(new Queue(10).maxsize, 10);
   * assertEquals(new Queue({ maxsize: 3 }).maxsize, 3);
   * assertThrows(() => new Queue(2.5), RangeError, "current value is 2.5");
   * ```
   */
  constructor(maxsize?: number | QueueOptions) {
    const size = typeof maxsize === "object" && maxsize !== null ? maxsize.maxsize : maxsize;
    // Any integer, or an infinity; zero or less means no bound, as in asyncio.
    this.#maxsize = checkInteger(
      size ?? 0,
      "maxsize",
      `create ${this.constructor.name}`,
      undefined,
      true,
    );
  }

  /**
   * How many items the queue holds before `put()` waits (0 or less: no
   * bound).
   *
   * @example
   * ```ts
   * import { Queue } from "@aio/asyncio";
   * import { assertEquals } from "@std/assert";
   *
   * assertEquals(new Queue().maxsize, 0);
   * ```
   */
  get maxsize(): number {
    return this.#maxsize;
  }

  /**
   * The number of items a `get()` could take now: the items in the queue
   * that are not already promised to a woken getter.
   *
   * @returns The number of available items.
   *
   * @example
   * ```ts
   * import { Queue } from "@aio/asyncio";
   * import { assertEquals } from "@std/assert";
   *
   * const queue = new Queue<string>();
   * queue.putNowait("a");
   * queue.putNowait("b");
   * assertEquals(queue.qsize(), 2);
   * ```
   */
  qsize(): number {
    const n = this.#store.size - this.#claims;
    return n > 0 ? n : 0;
  }

  /**
   * Tells whether `getNowait()` would find nothing to take.
   *
   * @returns `true` when {@linkcode Queue.qsize} is 0.
   *
   * @example
   * ```ts
   * import { Queue } from "@aio/asyncio";
   * import { assert } from "@std/assert";
   *
   * const queue = new Queue<number>();
   * assert(queue.empty());
   * queue.putNowait(1);
   * assert(!queue.empty());
   * ```
   */
  empty(): boolean {
    return this.qsize() === 0;
  }

  /**
   * Tells whether `putNowait()` would find no free slot: the queue holds
   * `maxsize` items, counting slots promised to woken putters. Never true
   * for an unbounded queue.
   *
   * @returns `true` when full.
   *
   * @example
   * ```ts
   * import { Queue } from "@aio/asyncio";
   * import { assert } from "@std/assert";
   *
   * const queue = new Queue<number>(1);
   * queue.putNowait(1);
   * assert(queue.full());
   * ```
   */
  full(): boolean {
    return this.#maxsize > 0 && this.#store.size + this.#reserved >= this.#maxsize;
  }

  /**
   * Puts an item, waiting in line while the queue is full.
   *
   * @param item The item.
   * @param options `signal` to give up waiting.
   * @returns A promise that resolves once the item is in the queue.
   * @throws {QueueShutDown} (as a rejection) If the queue is shut down,
   * before or while waiting.
   * @throws (as a rejection) The cancellation reason when the current task
   * or `options.signal` is cancelled first; the item was not put.
   *
   * @example
   * ```ts
   * import { createTask, Queue } from "@aio/asyncio";
   * import { assertEquals } from "@std/assert";
   *
   * const queue = new Queue<number>(1);
   * await queue.put(1);
   * const putter = createTask(() => queue.put(2)); // waits: the queue is full
   * assertEquals(await queue.get(), 1);
   * await putter;
   * assertEquals(queue.getNowait(), 2);
   * ```
   */
  put(item: T, options?: SignalOptions): Promise<void> {
    const signal = options?.signal;
    try {
      this.#store.check?.(item, "put");
      if (this.#shutDown) throw new QueueShutDown("Cannot put into queue: it is shut down");
      throwIfCancelled(signal);
    } catch (e) {
      return Promise.reject(e);
    }
    if (!this.full()) {
      this.#insert(item);
      return Promise.resolve();
    }
    return this.#putSlow(item, signal);
  }

  async #putSlow(item: T, signal: AbortSignal | undefined): Promise<void> {
    await park(this.#putters, signal);
    // A getter reserved a slot for us. Cancelled since? Pass the slot on.
    this.#reserved--;
    passOnIfCancelled(signal, () => this.#slotFreed());
    if (this.#shutDown) throw new QueueShutDown("Cannot put into queue: it is shut down");
    this.#insert(item);
  }

  /**
   * Puts an item without waiting.
   *
   * @param item The item.
   * @throws {QueueFull} If the queue is full.
   * @throws {QueueShutDown} If the queue is shut down.
   *
   * @example
   * ```ts
   * import { Queue, QueueFull } from "@aio/asyncio";
   * import { assertThrows } from "@std/assert";
   *
   * const queue = new Queue<number>(1);
   * queue.putNowait(1);
   * assertThrows(() => queue.putNowait(2), QueueFull, "maxsize 1");
   * ```
   */
  putNowait(item: T): void {
    this.#store.check?.(item, "put");
    if (this.#shutDown) throw new QueueShutDown("Cannot put into queue: it is shut down");
    if (this.full()) {
      throw new QueueFull(`Cannot put into queue: it is full (maxsize ${this.#maxsize})`);
    }
    this.#insert(item);
  }

  /**
   * Takes the next item, waiting in line while there is none.
   *
   * @param options `signal` to give up waiting.
   * @returns A promise for the item.
   * @throws {QueueShutDown} (as a rejection) If the queue is shut down and
   * empty, or was shut down with `immediate`.
   * @throws (as a rejection) The cancellation reason when the current task
   * or `options.signal` is cancelled first; no item was taken.
   *
   * @example
   * ```ts
   * import { Queue } from "@aio/asyncio";
   * import { assertEquals, assertRejects } from "@std/assert";
   *
   * const queue = new Queue<string>();
   * setTimeout(() => queue.putNowait("late"), 5);
   * assertEquals(await queue.get(), "late");
   * await assertRejects(() => queue.get({ signal: AbortSignal.timeout(5) }), DOMException);
   * ```
   */
  get(options?: SignalOptions): Promise<T> {
    const signal = options?.signal;
    try {
      throwIfCancelled(signal);
      if (this.qsize() > 0) return Promise.resolve(this.#take());
      if (this.#shutDown) {
        throw new QueueShutDown("Cannot get from queue: it is shut down and empty");
      }
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#getSlow(signal);
  }

  async #getSlow(signal: AbortSignal | undefined): Promise<T> {
    await park(this.#getters, signal);
    // An item was put for us and waits in the store. Cancelled since? Leave
    // it there, at its place, and wake the next getter for it.
    this.#claims--;
    passOnIfCancelled(signal, () => this.#wakeGetter());
    if (this.#store.size === 0) {
      // Only an immediate shutdown empties the store under a claim.
      throw new QueueShutDown("Cannot get from queue: it was shut down");
    }
    return this.#take();
  }

  /**
   * Takes the next item without waiting.
   *
   * @returns The item.
   * @throws {QueueEmpty} If no item is available.
   * @throws {QueueShutDown} If the queue is shut down and empty.
   *
   * @example
   * ```ts
   * import { Queue, QueueEmpty } from "@aio/asyncio";
   * import { assertEquals, assertThrows } from "@std/assert";
   *
   * const queue = new Queue<number>();
   * queue.putNowait(7);
   * assertEquals(queue.getNowait(), 7);
   * assertThrows(() => queue.getNowait(), QueueEmpty);
   * ```
   */
  getNowait(): T {
    if (this.qsize() === 0) {
      if (this.#shutDown) {
        throw new QueueShutDown("Cannot get from queue: it is shut down and empty");
      }
      throw new QueueEmpty("Cannot get from queue: it is empty");
    }
    return this.#take();
  }

  /**
   * Tells the queue that an item taken earlier has been processed. When
   * every item put has been marked done, `join()` returns.
   *
   * @throws {InvalidStateError} If called more times than items were put.
   *
   * @example
   * ```ts
   * import { InvalidStateError, Queue } from "@aio/asyncio";
   * import { assertThrows } from "@std/assert";
   *
   * const queue = new Queue<string>();
   * queue.putNowait("job");
   * queue.getNowait();
   * queue.taskDone();
   * assertThrows(() => queue.taskDone(), InvalidStateError, "called too many times");
   * ```
   */
  taskDone(): void {
    if (this.#unfinished <= 0) {
      throw new InvalidStateError(
        "Cannot mark a task done: taskDone() called too many times (no unfinished item)",
      );
    }
    if (--this.#unfinished === 0) this.#wakeJoiners();
  }

  /**
   * Waits until every item put has been taken and marked done with
   * `taskDone()` (or dropped by `shutdown(true)`).
   *
   * @param options `signal` to give up waiting.
   * @returns A promise that resolves when no item is unfinished.
   *
   * @example
   * ```ts
   * import { createTask, Queue } from "@aio/asyncio";
   *
   * const queue = new Queue<string>();
   * queue.putNowait("job");
   * createTask(async () => {
   *   await queue.get();
   *   queue.taskDone();
   * });
   * await queue.join();
   * ```
   */
  async join(options?: SignalOptions): Promise<void> {
    const signal = options?.signal;
    throwIfCancelled(signal);
    if (this.#unfinished === 0) return;
    await park(this.#joiners, signal);
    throwIfCancelled(signal);
  }

  /**
   * Shuts the queue down (Python 3.13): later puts reject with
   * {@linkcode QueueShutDown}, and so do gets once the queue is empty;
   * parked putters and getters are woken with it. With `immediate`, the
   * items still queued are dropped (each counts as done for `join()`), so
   * gets reject at once.
   *
   * @param immediate Drop the queued items too.
   *
   * @example
   * ```ts
   * import { Queue, QueueShutDown } from "@aio/asyncio";
   * import { assertEquals, assertThrows } from "@std/assert";
   *
   * const queue = new Queue<number>();
   * queue.putNowait(1);
   * queue.shutdown();
   * assertThrows(() => queue.putNowait(2), QueueShutDown);
   * assertEquals(queue.getNowait(), 1); // what was queued can still be taken
   * assertThrows(() => queue.getNowait(), QueueShutDown);
   * ```
   */
  shutdown(immediate = false): void {
    this.#shutDown = true;
    if (immediate) {
      const dropped = this.#store.size;
      this.#store.clear();
      this.#unfinished = Math.max(0, this.#unfinished - dropped);
      if (this.#unfinished === 0) this.#wakeJoiners();
    }
    this.#getters.rejectAll(() => new QueueShutDown("Cannot get from queue: it was shut down"));
    this.#putters.rejectAll(() => new QueueShutDown("Cannot put into queue: it was shut down"));
  }

  /**
   * Iterates over the items as they are got, until the queue is shut down
   * and empty. Like `get()`, each step is cancellable through the current
   * task. Items are not marked done: call `taskDone()` if you `join()`.
   *
   * @returns An async iterator of the items.
   *
   * @example
   * ```ts
   * import { Queue } from "@aio/asyncio";
   * import { assertEquals } from "@std/assert";
   *
   * const queue = new Queue<number>();
   * [1, 2, 3].forEach((n) => queue.putNowait(n));
   * queue.shutdown();
   * assertEquals(await Array.fromAsync(queue), [1, 2, 3]);
   * ```
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for (;;) {
      let item: T;
      try {
        item = await this.get();
      } catch (e) {
        if (e instanceof QueueShutDown) return;
        throw e;
      }
      yield item;
    }
  }

  #insert(item: T): void {
    this.#store.push(item);
    this.#unfinished++;
    this.#wakeGetter();
  }

  #take(): T {
    const item = this.#store.shift();
    this.#slotFreed();
    return item;
  }

  /** Promises an available item to the first parked getter, if any. */
  #wakeGetter(): void {
    if (this.#getters.size > 0 && this.qsize() > 0) {
      this.#claims++;
      this.#getters.shift()!.resolve();
    }
  }

  /** Promises a free slot to the first parked putter, if any. */
  #slotFreed(): void {
    if (this.#putters.size > 0 && !this.full()) {
      this.#reserved++;
      this.#putters.shift()!.resolve();
    }
  }

  #wakeJoiners(): void {
    this.#joiners.resolveAll();
  }
}

/**
 * A queue that hands out the smallest item first, like asyncio's
 * `PriorityQueue`, kept in a binary heap. Order with a `compare` function,
 * or by the natural order of numbers, strings and `[priority, data]`
 * arrays. Items that compare equal come out in the order they were put.
 *
 * @typeParam T The type of the items.
 *
 * @example With `[priority, data]` entries
 * ```ts
 * import { PriorityQueue } from "@aio/asyncio";
 * import { assertEquals } from "@std/assert";
 *
 * const queue = new PriorityQueue<[number, string]>();
 * queue.putNowait([2, "write report"]);
 * queue.putNowait([1, "fix bug"]);
 * queue.putNowait([2, "answer mail"]);
 * assertEquals(queue.getNowait(), [1, "fix bug"]);
 * // Equal priorities compare the data next, as Python's tuples do.
 * assertEquals(queue.getNowait(), [2, "answer mail"]);
 * assertEquals(queue.getNowait(), [2, "write report"]);
 * ```
 *
 * @example With a comparator
 * ```ts
 * import { PriorityQueue } from "@aio/asyncio";
 * import { assertEquals } from "@std/assert";
 *
 * type Job = { name: string; due: number };
 * const queue = new PriorityQueue<Job>({ compare: (a, b) => a.due - b.due });
 * queue.putNowait({ name: "later", due: 20 });
 * queue.putNowait({ name: "sooner", due: 10 });
 * assertEquals((await queue.get()).name, "sooner");
 * ```
 */
export class PriorityQueue<T> extends Queue<T> {
  /**
   * Creates a priority queue.
   *
   * @param options The bound (a number, or `{ maxsize }`) and the
   * `compare` function.
   * @throws {TypeError} If `maxsize` is not a number or `compare` not a
   * function.
   * @throws {RangeError} If `maxsize` is not an integer.
   *
   * @example
   * ```ts
   * import { PriorityQueue } from "@aio/asyncio";
   * import { assertEquals } from "@std/assert";
   *
   * const queue = new PriorityQueue<string>({ maxsize: 3, compare: (a, b) => b.localeCompare(a) });
   * ["b", "c", "a"].forEach((s) => queue.putNowait(s));
   * assertEquals(queue.getNowait(), "c");
   * ```
   */
  constructor(options?: number | PriorityQueueOptions<T>) {
    super(options);
    const compare = typeof options === "object" && options !== null ? options.compare : undefined;
    if (compare !== undefined) checkFunction(compare, "compare", "create PriorityQueue");
    setStore(this, new HeapStore<T>(compare));
  }
}

/**
 * A queue that hands out the most recently put item first (a stack), like
 * asyncio's `LifoQueue`.
 *
 * @typeParam T The type of the items.
 *
 * @example
 * ```ts
 * import { LifoQueue } from "@aio/asyncio";
 * import { assertEquals } from "@std/assert";
 *
 * const stack = new LifoQueue<number>();
 * [1, 2, 3].forEach((n) => stack.putNowait(n));
 * assertEquals([stack.getNowait(), stack.getNowait(), stack.getNowait()], [3, 2, 1]);
 * ```
 */
export class LifoQueue<T> extends Queue<T> {
  /**
   * Creates a last-in first-out queue.
   *
   * @param maxsize The bound, or `{ maxsize }`; see {@linkcode Queue}.
   * @throws {TypeError} If `maxsize` is not a number.
   * @throws {RangeError} If `maxsize` is not an integer.
   *
   * @example
   * ```ts
   * import { LifoQueue } from "@aio/asyncio";
   * import { assert } from "@std/assert";
   *
   * const stack = new LifoQueue<string>(1);
   * stack.putNowait("top");
   * assert(stack.full());
   * ```
   */
  constructor(maxsize?: number | QueueOptions) {
    super(maxsize);
    setStore(this, new LifoStore<T>());
  }
}
