/**
 * `Future`: a result that is set later, by hand or by a task; awaitable, with
 * asyncio's state rules and done-callbacks.
 *
 * @module
 */

import { type Scope, scopes } from "./cancellation.ts";
import { CancelledError, InvalidStateError } from "./errors.ts";
import { checkFunction } from "./_check.ts";

const PENDING = 0;
const FULFILLED = 1;
const REJECTED = 2;
const CANCELLED = 3;
type State = typeof PENDING | typeof FULFILLED | typeof REJECTED | typeof CANCELLED;
const STATE_NAMES = ["pending", "finished", "finished", "cancelled"] as const;

/** A callback run once when a future is done. */
export type DoneCallback<T> = (future: Future<T>) => void;
// Private state is typed loosely so that `Future<T>` stays assignable to
// `Future<unknown>` (callbacks would make it invariant).
// deno-lint-ignore no-explicit-any
type AnyCallback = DoneCallback<any>;

/**
 * Settles a future (`state` one of {@linkcode STATES}): how `setResult`,
 * `cancel` and tasks settle it. Internal.
 */
export let settleFuture: (future: Future<unknown>, state: number, payload: unknown) => void;
/** Subscribes to a future without linking it to the current scope (for `shield`). Internal. */
export let observeFuture: <T>(
  future: Future<T>,
  onFulfilled: (value: T) => void,
  onRejected: (reason: unknown) => void,
) => void;

/** The label in messages of each kind of future, by its prototype. */
const labels = new WeakMap<object, (future: Future<unknown>) => string>();

/** Gives the futures of `prototype` (a subclass's) their label in messages. Internal. */
export function defineLabel(prototype: object, label: (future: Future<unknown>) => string): void {
  labels.set(prototype, label);
}

function labelOf(future: Future<unknown>): string {
  for (let p = Object.getPrototypeOf(future); p !== null; p = Object.getPrototypeOf(p)) {
    const label = labels.get(p);
    if (label) return label(future);
  }
  return "Future";
}

/**
 * Like asyncio, a failed future whose exception nobody ever retrieved (by
 * awaiting it, `result()` or `exception()`) is reported on stderr when it is
 * garbage-collected. It never becomes an unhandled promise rejection: an
 * unobserved failure must not kill the process.
 */
const neverRetrieved = new FinalizationRegistry<{ what: string; error: unknown }>(
  ({ what, error }) => console.error(`${what} exception was never retrieved:`, error),
);

/**
 * A placeholder for a result that is set later: by hand with `setResult` /
 * `setException`, or by the {@linkcode Task} that runs it. A `Future` is
 * `PromiseLike`, so it can be awaited, and it follows asyncio's rules: it is
 * set once; `result()` throws while pending; `cancel()` makes it reject with
 * {@linkcode CancelledError}. Awaiting a pending future inside a task links
 * them: cancelling the task cancels the future (use `shield` to prevent it).
 *
 * @typeParam T The type of the result.
 *
 * @example Setting a result from another task
 * ```ts
 * import { createFuture, createTask, sleep } from "@aio/asyncio";
 * import { assertEquals } from "@std/assert";
 *
 * const fut = createFuture<string>();
 * createTask(async () => {
 *   await sleep(10);
 *   fut.setResult("ready");
 * });
 * assertEquals(await fut, "ready");
 * assertEquals(fut.result(), "ready");
 * ```
 */
export class Future<T> implements PromiseLike<T> {
  static {
    settleFuture = (future, state, payload) => future.#settle(state, payload);
    observeFuture = (future, onFulfilled, onRejected) => future.#observe(onFulfilled, onRejected);
  }

  #state: State = PENDING;
  #value: unknown;
  #error: unknown;
  #callbacks: AnyCallback[] | undefined;
  #promise: Promise<T> | undefined;
  #resolve: ((value: unknown) => void) | undefined;
  #reject: ((error: unknown) => void) | undefined;
  #unlink: (() => void)[] | undefined;
  #reported = false;

  /**
   * Whether the future has a result, an exception, or was cancelled.
   *
   * @returns `true` once the future is settled.
   *
   * @example
   * ```ts
   * import { createFuture } from "@aio/asyncio";
   * import { assert } from "@std/assert";
   *
   * const fut = createFuture<number>();
   * assert(!fut.done());
   * fut.setResult(1);
   * assert(fut.done());
   * ```
   */
  done(): boolean {
    return this.#state !== PENDING;
  }

  /**
   * Whether the future was cancelled.
   *
   * @returns `true` only when the future ended by cancellation.
   *
   * @example
   * ```ts
   * import { createFuture } from "@aio/asyncio";
   * import { assert } from "@std/assert";
   *
   * const fut = createFuture<number>();
   * fut.cancel();
   * assert(fut.cancelled());
   * ```
   */
  cancelled(): boolean {
    return this.#state === CANCELLED;
  }

  /**
   * The result of a finished future.
   *
   * @returns The value set with `setResult`.
   * @throws {InvalidStateError} If the future is still pending.
   * @throws {CancelledError} If the future was cancelled.
   * @throws The future's exception, if it failed.
   *
   * @example
   * ```ts
   * import { createFuture } from "@aio/asyncio";
   * import { assertEquals, assertThrows } from "@std/assert";
   *
   * const fut = createFuture<number>();
   * fut.setException(new Error("boom"));
   * assertThrows(() => fut.result(), Error, "boom");
   * ```
   */
  result(): T {
    switch (this.#state) {
      case PENDING:
        throw new InvalidStateError(`${labelOf(this)} result is not set: it is still pending`);
      case FULFILLED:
        return this.#value as T;
      default:
        this.#retrieved();
        throw this.#error;
    }
  }

  /**
   * The exception of a finished future.
   *
   * @returns The exception set with `setException`, or `undefined` when the
   * future has a result.
   * @throws {InvalidStateError} If the future is still pending.
   * @throws {CancelledError} If the future was cancelled.
   *
   * @example
   * ```ts
   * import { createFuture } from "@aio/asyncio";
   * import { assertEquals } from "@std/assert";
   *
   * const fut = createFuture<number>();
   * fut.setResult(1);
   * assertEquals(fut.exception(), undefined);
   * ```
   */
  exception(): unknown {
    switch (this.#state) {
      case PENDING:
        throw new InvalidStateError(`${labelOf(this)} exception is not set: it is still pending`);
      case CANCELLED:
        throw this.#error;
      default:
        this.#retrieved();
        return this.#error;
    }
  }

  /**
   * Marks the future done with a result and runs its done-callbacks.
   *
   * @param value The result.
   * @throws {InvalidStateError} If the future is already done.
   *
   * @example
   * ```ts
   * import { createFuture } from "@aio/asyncio";
   * import { assertEquals } from "@std/assert";
   *
   * const fut = createFuture<number>();
   * fut.setResult(42);
   * assertEquals(await fut, 42);
   * ```
   */
  setResult(value: T): void {
    this.#assertPending("set the result of");
    this.#settle(FULFILLED, value);
  }

  /**
   * Marks the future done with an exception and runs its done-callbacks.
   *
   * @param error The exception; awaiting the future rejects with it.
   * @throws {InvalidStateError} If the future is already done.
   *
   * @example
   * ```ts
   * import { createFuture } from "@aio/asyncio";
   * import { assertRejects } from "@std/assert";
   *
   * const fut = createFuture<number>();
   * fut.setException(new RangeError("too big"));
   * await assertRejects(() => Promise.resolve(fut), RangeError, "too big");
   * ```
   */
  setException(error: unknown): void {
    this.#assertPending("set the exception of");
    this.#settle(REJECTED, error);
  }

  /**
   * Cancels the future: it becomes done, and awaiting it rejects with a
   * {@linkcode CancelledError} carrying `message`.
   *
   * @param message Why the future was cancelled.
   * @returns `false` if the future was already done, else `true`.
   *
   * @example
   * ```ts
   * import { CancelledError, createFuture } from "@aio/asyncio";
   * import { assert, assertRejects } from "@std/assert";
   *
   * const fut = createFuture<number>();
   * assert(fut.cancel("not needed"));
   * await assertRejects(() => Promise.resolve(fut), CancelledError, "not needed");
   * ```
   */
  cancel(message?: string): boolean {
    if (this.#state !== PENDING) return false;
    this.#settle(CANCELLED, new CancelledError(message ?? `${labelOf(this)} was cancelled`));
    return true;
  }

  /**
   * Adds a callback run once when the future is done, asynchronously (on a
   * later microtask), in the order callbacks were added. A callback added to
   * a future that is already done is scheduled right away. An exception
   * thrown by a callback is reported on stderr and does not stop the others.
   *
   * @param callback Receives the future.
   *
   * @example
   * ```ts
   * import { createFuture } from "@aio/asyncio";
   * import { assertEquals } from "@std/assert";
   *
   * const seen: string[] = [];
   * const fut = createFuture<string>();
   * fut.addDoneCallback((f) => seen.push(`first ${f.result()}`));
   * fut.addDoneCallback(() => seen.push("second"));
   * fut.setResult("ok");
   * await fut;
   * await Promise.resolve();
   * assertEquals(seen, ["first ok", "second"]);
   * ```
   */
  addDoneCallback(callback: DoneCallback<T>): void {
    checkFunction(callback, "callback", "add done callback");
    if (this.#state === PENDING) {
      (this.#callbacks ??= []).push(callback);
    } else {
      queueMicrotask(() => runCallback(callback, this));
    }
  }

  /**
   * Removes every registration of `callback` that has not run yet.
   *
   * @param callback A callback passed to `addDoneCallback`.
   * @returns How many registrations were removed.
   *
   * @example
   * ```ts
   * import { createFuture } from "@aio/asyncio";
   * import { assertEquals } from "@std/assert";
   *
   * const fut = createFuture<number>();
   * const cb = () => {};
   * fut.addDoneCallback(cb);
   * fut.addDoneCallback(cb);
   * assertEquals(fut.removeDoneCallback(cb), 2);
   * ```
   */
  removeDoneCallback(callback: DoneCallback<T>): number {
    const list = this.#callbacks;
    if (!list?.includes(callback)) return 0;
    const kept = list.filter((cb) => cb !== callback);
    this.#callbacks = kept;
    return list.length - kept.length;
  }

  /**
   * Attaches callbacks for the result or failure, like `Promise.prototype.then`;
   * this is what makes `await future` work.
   *
   * @typeParam R1 The fulfilled handler's result type.
   * @typeParam R2 The rejected handler's result type.
   * @param onFulfilled Called with the result.
   * @param onRejected Called with the exception (a `CancelledError` if cancelled).
   * @returns A promise for the handler's result.
   *
   * @example
   * ```ts
   * import { createFuture } from "@aio/asyncio";
   * import { assertEquals } from "@std/assert";
   *
   * const fut = createFuture<number>();
   * fut.setResult(2);
   * assertEquals(await fut.then((n) => n * 21), 42);
   * ```
   */
  then<R1 = T, R2 = never>(
    onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    if (this.#state === PENDING) {
      const scope = scopes.getStore();
      if (scope !== undefined && scope.task !== (this as unknown)) this.#linkTo(scope);
    } else {
      this.#retrieved();
    }
    return this.#settledPromise().then(onFulfilled, onRejected);
  }

  /**
   * Attaches a callback for the failure, like `Promise.prototype.catch`;
   * awaiting through it links the future to the current task as `then` does.
   *
   * @typeParam R The type the callback returns.
   * @param onRejected Receives the exception (a `CancelledError` when
   * cancelled).
   * @returns A promise of the result, or of what `onRejected` returns.
   *
   * @example
   * ```ts
   * import { createFuture } from "@aio/asyncio";
   * import { assertEquals } from "@std/assert";
   *
   * const fut = createFuture<number>();
   * fut.setException(new Error("boom"));
   * assertEquals(await fut.catch((e) => (e as Error).message), "boom");
   * ```
   */
  catch<R = never>(
    onRejected?: ((reason: unknown) => R | PromiseLike<R>) | null,
  ): Promise<T | R> {
    return this.then(undefined, onRejected);
  }

  /**
   * Attaches a callback run when the future settles either way, like
   * `Promise.prototype.finally`.
   *
   * @param onFinally Called with no argument once the future is done.
   * @returns A promise that settles like the future, after `onFinally`.
   *
   * @example
   * ```ts
   * import { createFuture } from "@aio/asyncio";
   * import { assertEquals } from "@std/assert";
   *
   * const seen: string[] = [];
   * const fut = createFuture<string>();
   * fut.setResult("ok");
   * assertEquals(await fut.finally(() => seen.push("done")), "ok");
   * assertEquals(seen, ["done"]);
   * ```
   */
  finally(onFinally?: (() => void) | null): Promise<T> {
    return this.then().finally(onFinally);
  }

  /** Subscribes without linking to the current scope (for `shield`). */
  #observe(
    onFulfilled: (value: T) => void,
    onRejected: (reason: unknown) => void,
  ): void {
    this.#retrieved();
    this.#settledPromise().then(onFulfilled, onRejected);
  }

  /** Settles the future; used by `setResult`, `cancel` and tasks. */
  #settle(state: number, payload: unknown): void {
    if (this.#state !== PENDING) return;
    this.#state = state as State;
    if (state === FULFILLED) this.#value = payload;
    else this.#error = payload;
    const unlink = this.#unlink;
    if (unlink) {
      this.#unlink = undefined;
      for (const fn of unlink) fn();
    }
    if (this.#promise) {
      if (state === FULFILLED) this.#resolve!(payload);
      else this.#reject!(payload);
      this.#resolve = this.#reject = undefined;
    } else if (state === REJECTED) {
      this.#reported = true;
      neverRetrieved.register(this, { what: labelOf(this), error: payload }, this);
    }
    const callbacks = this.#callbacks;
    if (callbacks?.length) {
      this.#callbacks = undefined;
      queueMicrotask(() => {
        for (const cb of callbacks) runCallback(cb, this);
      });
    }
  }

  /** Cancelling the awaiting scope cancels this future (asyncio's rule). */
  #linkTo(scope: Scope): void {
    if (scope.cancelRequested) {
      this.cancel(reasonMessage(scope.cancelReason));
      return;
    }
    (this.#unlink ??= []).push(
      scope.onCancel(() => this.cancel(reasonMessage(scope.cancelReason))),
    );
  }

  #settledPromise(): Promise<T> {
    if (this.#promise) return this.#promise;
    switch (this.#state) {
      case PENDING:
        this.#promise = new Promise<T>((resolve, reject) => {
          this.#resolve = resolve as (value: unknown) => void;
          this.#reject = reject;
        });
        break;
      case FULFILLED:
        this.#promise = Promise.resolve(this.#value as T);
        break;
      default:
        this.#promise = Promise.reject(this.#error);
    }
    return this.#promise;
  }

  #retrieved(): void {
    if (this.#reported) {
      this.#reported = false;
      neverRetrieved.unregister(this);
    }
  }

  #assertPending(action: string): void {
    if (this.#state !== PENDING) {
      throw new InvalidStateError(
        `Cannot ${action} a ${labelOf(this).toLowerCase()} that is already ${
          STATE_NAMES[this.#state]
        }`,
      );
    }
  }

  /** The tag `Object.prototype.toString` shows. */
  get [Symbol.toStringTag](): string {
    return labelOf(this);
  }
}

function reasonMessage(reason: unknown): string | undefined {
  return reason instanceof Error ? reason.message : undefined;
}

function runCallback(callback: AnyCallback, future: Future<unknown>): void {
  try {
    callback(future);
  } catch (e) {
    console.error("Exception in done-callback:", e);
  }
}

/**
 * Creates a pending {@linkcode Future}, like asyncio's `loop.create_future()`.
 *
 * @typeParam T The type of the result.
 * @returns A new pending future.
 *
 * @example
 * ```ts
 * import { createFuture } from "@aio/asyncio";
 * import { assertEquals } from "@std/assert";
 *
 * const fut = createFuture<number>();
 * setTimeout(() => fut.setResult(7), 1);
 * assertEquals(await fut, 7);
 * ```
 */
export function createFuture<T>(): Future<T> {
  return new Future<T>();
}

/** Internal: state constants shared with `Task`. */
export const STATES = { PENDING, FULFILLED, REJECTED, CANCELLED } as const;
