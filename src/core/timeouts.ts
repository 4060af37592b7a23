/**
 * Deadlines: `timeout`, `timeoutAt` (asyncio's `asyncio.timeout` /
 * `asyncio.timeout_at`) and `waitFor` (`asyncio.wait_for`).
 *
 * @module
 */

import { cancellable, ChildScope, isCancellation, type Scope } from "./cancellation.ts";
import { CancelledError, InvalidStateError, TimeoutError } from "./errors.ts";
import { Future } from "./future.ts";
import { checkDelay, delayUntil, now, ROUNDING_NOISE } from "./_timers.ts";
import { checkFunction } from "./_check.ts";

/** Options for {@linkcode timeout} and {@linkcode timeoutAt}. */
export interface TimeoutOptions {
  /** Aborting it cancels the block like an outer cancellation would. */
  signal?: AbortSignal;
}

/** The function run under a deadline. */
export type TimeoutFunction<T> = (signal: AbortSignal, deadline: Timeout) => T | PromiseLike<T>;

/**
 * The deadline of a running {@linkcode timeout} block, handed to the block's
 * function: read it with `when()`, move it with `reschedule()` (asyncio's
 * `Timeout`). Deadlines are absolute on the {@linkcode time} clock
 * (monotonic milliseconds), so nested blocks keep their order: when a
 * deadline passes, every enclosing block whose deadline is no later expires
 * with it, and only the outermost of them rejects with `TimeoutError`; the
 * blocks inside it end with the `CancelledError` passing through.
 *
 * @example Extending a deadline while progress is made
 * ```ts
 * import { sleep, time, timeout } from "@aio/asyncio";
 * import { assertEquals } from "@std/assert";
 *
 * const result = await timeout(50, async (_signal, deadline) => {
 *   for (let i = 0; i < 3; i++) {
 *     await sleep(10);
 *     deadline.reschedule(time() + 50); // still making progress
 *   }
 *   return "finished";
 * });
 * assertEquals(result, "finished");
 * ```
 */
export interface Timeout {
  /**
   * The deadline.
   *
   * @returns Milliseconds on the {@linkcode time} clock, or `null` for none.
   *
   * @example
   * ```ts
   * import { time, timeoutAt } from "@aio/asyncio";
   * import { assertEquals } from "@std/assert";
   *
   * const at = time() + 1_000;
   * assertEquals(await timeoutAt(at, (_signal, deadline) => deadline.when()), at);
   * ```
   */
  when(): number | null;

  /**
   * Moves the deadline; a deadline in the past expires the block at once.
   *
   * @param when Milliseconds on the {@linkcode time} clock, or `null` for
   * no deadline.
   * @throws {InvalidStateError} If the deadline already passed or the block
   * has finished.
   * @throws {TypeError} If `when` is neither a number nor `null`.
   *
   * @example
   * ```ts
   * import { sleep, timeout } from "@aio/asyncio";
   *
   * await timeout(10, async (_signal, deadline) => {
   *   deadline.reschedule(null); // no deadline after all
   *   await sleep(20);
   * });
   * ```
   */
  reschedule(when: number | null): void;

  /**
   * Whether the deadline passed and the block was cancelled for it.
   *
   * @returns `true` once the deadline has passed.
   *
   * @example
   * ```ts
   * import { sleep, timeout, TimeoutError } from "@aio/asyncio";
   * import { assert, assertRejects } from "@std/assert";
   *
   * let seen: { expired(): boolean } | undefined;
   * await assertRejects(
   *   () =>
   *     timeout(5, async (_signal, deadline) => {
   *       seen = deadline;
   *       await sleep(1_000);
   *     }),
   *   TimeoutError,
   * );
   * assert(seen?.expired());
   * ```
   */
  expired(): boolean;
}

/** The longest delay `setTimeout` honours; a later deadline takes several timers. */
const MAX_DELAY = 2 ** 31 - 1;

/**
 * The {@linkcode Timeout} of one running block.
 *
 * The running blocks share one timer: they sit in a binary heap by deadline
 * (then by arming order), and the one `setTimeout` is armed for the
 * earliest. Entering, leaving and moving a block are heap steps, O(log n);
 * the timer is touched only when the earliest deadline comes sooner than the
 * armed one (or when no block is left). A `setTimeout`/`clearTimeout` pair
 * costs more than the rest of a block, and a block that moves its deadline
 * at each wait for data (an idle limit) would pay it at every wait.
 */
class Deadline implements Timeout {
  #when: number | null;
  #scope: ChildScope;
  #expired = false;
  #finished = false;
  /** The block this one runs in, in the same task, while both run. */
  #outer: Deadline | undefined;
  /** The blocks running inside this one. */
  #inner: Set<Deadline> | undefined;
  /** The place in the heap (-1: not in it) and the arming order among equal deadlines. */
  #index = -1;
  #order = 0;

  static #heap: Deadline[] = [];
  static #armed = 0;
  /** The shared timer, and the deadline it was armed for. */
  static #timer: ReturnType<typeof setTimeout> | undefined;
  static #timerFor = Infinity;

  /** Created by `timeout` / `timeoutAt`, in the scope enclosing the block (before `scope` is entered). */
  constructor(when: number | null, scope: ChildScope, delay?: number) {
    this.#when = when;
    this.#scope = scope;
    scope.block = this;
    const outer = this.#outer = enclosingBlock(scope.parent);
    if (outer) (outer.#inner ??= new Set()).add(this);
    if (when !== null) this.#schedule(when, delay ?? delayUntil(when));
  }

  /** The deadline. */
  when(): number | null {
    return this.#when;
  }

  /** Moves the deadline. */
  reschedule(when: number | null): void {
    if (this.#finished) {
      throw new InvalidStateError("Cannot reschedule a timeout whose block has finished");
    }
    if (this.#expired) {
      throw new InvalidStateError("Cannot reschedule a timeout that has already expired");
    }
    if (when !== null) checkDelay(when, "Cannot reschedule timeout", "when");
    this.#when = when;
    if (when === null) this.#unschedule();
    else this.#schedule(when, delayUntil(when));
  }

  /** Whether the deadline passed. */
  expired(): boolean {
    return this.#expired;
  }

  /** The block ended; no more firing. */
  finish(): void {
    this.#finished = true;
    this.#unschedule();
    if (this.#outer) this.#outer.#inner!.delete(this);
  }

  /** Puts the block in the heap at `when`, `ms` from now; fires now if it passed. */
  #schedule(when: number, ms: number): void {
    if (ms <= 0) {
      this.#fire();
      return;
    }
    if (ms === Infinity) {
      this.#unschedule();
      return;
    }
    const heap = Deadline.#heap;
    this.#order = ++Deadline.#armed;
    if (this.#index < 0) {
      this.#index = heap.length;
      heap.push(this);
    }
    Deadline.#siftDown(Deadline.#siftUp(this.#index));
    if (when < Deadline.#timerFor) Deadline.#arm(when, ms);
  }

  /** Takes the block out of the heap; the timer stops with the last block. */
  #unschedule(): void {
    const i = this.#index;
    if (i < 0) return;
    this.#index = -1;
    const heap = Deadline.#heap;
    const last = heap.pop()!;
    if (last !== this) {
      heap[i] = last;
      last.#index = i;
      Deadline.#siftDown(Deadline.#siftUp(i));
    }
    if (heap.length === 0 && Deadline.#timer !== undefined) {
      clearTimeout(Deadline.#timer);
      Deadline.#timer = undefined;
      Deadline.#timerFor = Infinity;
    }
  }

  static #before(a: Deadline, b: Deadline): boolean {
    return a.#when! < b.#when! || (a.#when === b.#when && a.#order < b.#order);
  }

  static #siftUp(i: number): number {
    const heap = Deadline.#heap;
    const item = heap[i];
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (!Deadline.#before(item, heap[up])) break;
      heap[i] = heap[up];
      heap[i].#index = i;
      i = up;
    }
    heap[i] = item;
    item.#index = i;
    return i;
  }

  static #siftDown(i: number): void {
    const heap = Deadline.#heap;
    const n = heap.length;
    const item = heap[i];
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && Deadline.#before(heap[child + 1], heap[child])) child++;
      if (!Deadline.#before(heap[child], item)) break;
      heap[i] = heap[child];
      heap[i].#index = i;
      i = child;
    }
    heap[i] = item;
    item.#index = i;
  }

  /** Arms the shared timer for the deadline `when`, `ms` (> 0) from now. */
  static #arm(when: number, ms: number): void {
    if (Deadline.#timer !== undefined) clearTimeout(Deadline.#timer);
    const wait = ms > MAX_DELAY ? MAX_DELAY : ms;
    Deadline.#timerFor = wait === ms ? when : when - (ms - wait);
    // The global is looked up at each call, so fake clocks apply.
    Deadline.#timer = setTimeout(Deadline.#ring, wait);
  }

  /**
   * The timer fired at the deadline it was armed for: every block due by
   * it fires, in deadline order; then the timer is armed for the next one.
   * The delay to the next counts from the deadline that fired, or from the
   * clock if that is sooner (a late timer), so that fake timers apply.
   */
  static #ring(): void {
    const at = Deadline.#timerFor;
    Deadline.#timer = undefined;
    Deadline.#timerFor = Infinity;
    const heap = Deadline.#heap;
    while (heap.length > 0 && heap[0].#when! <= at) {
      const due = heap[0];
      due.#unschedule();
      due.#fire();
    }
    // A block entered while these fired may have armed the timer for a
    // later deadline than the earliest one left.
    if (heap.length > 0 && heap[0].#when! < Deadline.#timerFor) {
      const next = heap[0].#when!;
      const ms = Math.min(Math.ceil(next - at - ROUNDING_NOISE), delayUntil(next));
      Deadline.#arm(next, ms > 0 ? ms : 1);
    }
  }

  /**
   * The deadline passed, and with it every deadline no later than it: the
   * outermost such block expires first, so that only it reports
   * `TimeoutError`, whichever timer fired first.
   */
  #fire(): void {
    const at = this.#when!;
    const due: Deadline[] = [];
    for (let t = this.#outer; t; t = t.#outer) if (t.#when !== null && t.#when <= at) due.push(t);
    for (let i = due.length - 1; i >= 0; i--) due[i].#expire(at);
    this.#expire(at);
  }

  /** Expires this block and every block inside it due by `at`. */
  #expire(at: number): void {
    if (this.#finished || this.#expired) return;
    this.#expired = true;
    this.#unschedule();
    this.#scope.cancel(new CancelledError("The deadline passed"));
    if (this.#inner) {
      for (const inner of this.#inner) {
        if (inner.#when !== null && inner.#when <= at) inner.#expire(at);
      }
    }
  }
}

/** The innermost running block around `scope`, within its task. */
function enclosingBlock(scope: Scope | undefined): Deadline | undefined {
  for (let s = scope; s instanceof ChildScope; s = s.parent) {
    if (s.block instanceof Deadline) return s.block;
  }
  return undefined;
}

/**
 * Runs `fn` with a deadline `ms` milliseconds from now; asyncio's
 * `async with asyncio.timeout(delay)`. When the deadline passes, the block is
 * cancelled from inside (its signal aborts and its aio awaits reject with
 * `CancelledError`) and, once it has ended, `timeout` rejects with
 * {@linkcode TimeoutError}. Only its own cancellation becomes a
 * `TimeoutError`: an outer cancellation (the enclosing task, or
 * `options.signal`) comes out as the `CancelledError` it is. Like asyncio,
 * the block is cancelled cooperatively and `timeout` waits for it to end.
 *
 * @typeParam T The type of the block's result.
 * @param ms The delay in milliseconds (`null` or `Infinity`: no deadline).
 * @param fn The block; receives an abort signal and the {@linkcode Timeout}.
 * @param options An outer `signal`.
 * @returns The block's result.
 * @throws {TimeoutError} If the deadline passed and ended the block.
 *
 * @example
 * ```ts
 * import { sleep, timeout, TimeoutError } from "@aio/asyncio";
 * import { assertEquals, assertRejects } from "@std/assert";
 *
 * assertEquals(await timeout(1_000, () => sleep(1, { value: "quick" })), "quick");
 * await assertRejects(() => timeout(10, () => sleep(60_000)), TimeoutError);
 * ```
 */
export function timeout<T>(
  ms: number | null,
  fn: TimeoutFunction<T>,
  options?: TimeoutOptions,
): Promise<T> {
  let delay: number | null;
  try {
    delay = ms === null ? null : checkDelay(ms, "Cannot start timeout");
  } catch (e) {
    return Promise.reject(e);
  }
  const when = delay === null || delay === Infinity ? null : now() + delay;
  return runWithDeadline(when, fn, options, delay, delay ?? undefined);
}

/**
 * Like {@linkcode timeout}, with an absolute deadline on the
 * {@linkcode time} clock (monotonic milliseconds); asyncio's
 * `asyncio.timeout_at`.
 *
 * @typeParam T The type of the block's result.
 * @param when The deadline, in milliseconds on the `time()` clock, or `null`
 * for none.
 * @param fn The block; receives an abort signal and the {@linkcode Timeout}.
 * @param options An outer `signal`.
 * @returns The block's result.
 * @throws {TimeoutError} If the deadline passed and ended the block.
 *
 * @example
 * ```ts
 * import { sleep, time, timeoutAt, TimeoutError } from "@aio/asyncio";
 * import { assertRejects } from "@std/assert";
 *
 * await assertRejects(() => timeoutAt(time() + 10, () => sleep(60_000)), TimeoutError);
 * ```
 */
export function timeoutAt<T>(
  when: number | null,
  fn: TimeoutFunction<T>,
  options?: TimeoutOptions,
): Promise<T> {
  if (when !== null) {
    try {
      checkDelay(when, "Cannot start timeout", "when");
    } catch (e) {
      return Promise.reject(e);
    }
  }
  return runWithDeadline(when, fn, options, undefined);
}

/**
 * Runs one block. `ms` is the delay `timeout` was given, for the message
 * (`undefined` for `timeoutAt`); `delay` arms the timer without reading the
 * clock again.
 */
async function runWithDeadline<T>(
  when: number | null,
  fn: TimeoutFunction<T>,
  options: TimeoutOptions | undefined,
  ms: number | null | undefined,
  delay?: number,
): Promise<T> {
  checkFunction(fn, "fn", "start timeout");
  const scope = new ChildScope(options?.signal);
  const deadline = new Deadline(when, scope, delay);
  try {
    return await scope.run(
      fn.length === 0 ? fn as () => T | PromiseLike<T> : () => fn(scope.signal, deadline),
    );
  } catch (e) {
    if (!isCancellation(e)) throw e;
    // An outer cancellation always wins over our own deadline.
    const outer = scope.outerCancellation();
    if (outer) throw outer.reason;
    if (deadline.expired()) {
      const what = ms === undefined ? `the deadline ${when}` : `${ms} ms`;
      throw new TimeoutError(`Timed out after ${what}`, { cause: e });
    }
    throw e;
  } finally {
    deadline.finish();
    scope.close();
  }
}

/**
 * Waits for `awaitable` with a time limit; asyncio's `asyncio.wait_for`. If
 * the limit passes, a {@linkcode Future} or {@linkcode Task} is cancelled
 * (and waited for), and `waitFor` rejects with {@linkcode TimeoutError}. A
 * plain promise cannot be cancelled: it is left running and `waitFor`
 * rejects at the deadline. Cancelling the caller cancels the awaitable too.
 * With a limit of zero or less, a task or future not yet done is cancelled
 * at once, before `waitFor` returns, so a task that has not started never
 * runs (asyncio's rule).
 *
 * @typeParam T The type of the result.
 * @param awaitable A task, future or promise.
 * @param ms The limit in milliseconds (`null`: none).
 * @param options An outer `signal`.
 * @returns The awaitable's result.
 * @throws {TimeoutError} If the limit passed first.
 *
 * @example
 * ```ts
 * import { createTask, sleep, TimeoutError, waitFor } from "@aio/asyncio";
 * import { assert, assertRejects } from "@std/assert";
 *
 * const task = createTask(() => sleep(60_000));
 * await assertRejects(() => waitFor(task, 10), TimeoutError);
 * assert(task.cancelled());
 * ```
 */
export function waitFor<T>(
  awaitable: PromiseLike<T> | T,
  ms: number | null,
  options?: TimeoutOptions,
): Promise<T> {
  if (ms !== null && awaitable instanceof Future) {
    let limit: number;
    try {
      limit = checkDelay(ms, "Cannot start timeout");
    } catch (e) {
      return Promise.reject(e);
    }
    // A limit already passed cancels at once (asyncio): a task that has not
    // started never runs; a future already done still gives its outcome.
    if (limit <= 0) awaitable.cancel();
  }
  return timeout(ms, () => {
    if (awaitable instanceof Future) return awaitable;
    return cancellable<T>((resolve, reject) => {
      Promise.resolve(awaitable).then(resolve, reject);
    });
  }, options);
}
