/**
 * The ambient cancellation scope: which task (or `timeout` block) the running
 * code belongs to, and the signal every aio await observes without being
 * passed it.
 *
 * @module
 */

import { AsyncLocalStorage } from "node:async_hooks";
import { CancelledError } from "./errors.ts";
import type { Task } from "./task.ts";

/**
 * What the running code is inside of: a task, or a `timeout` block within a
 * task. Internal.
 */
export interface Scope {
  /** Aborts when the scope is cancelled; created on first use. */
  readonly signal: AbortSignal;
  /** The task the scope belongs to, if any. */
  readonly task: Task<unknown> | undefined;
}

/** Carries the current scope across awaits. Internal. */
export const scopes: AsyncLocalStorage<Scope> = new AsyncLocalStorage<Scope>();

/** The scope the running code is in, if any. Internal. */
export function currentScope(): Scope | undefined {
  return scopes.getStore();
}

/**
 * Tells whether `e` means "cancelled": an aio {@linkcode CancelledError}, or
 * the `DOMException` named `"AbortError"` that `fetch`, `Deno.connect` and
 * other signal-taking APIs reject with.
 *
 * @param e Any thrown value.
 * @returns `true` when `e` is a cancellation rather than a failure.
 *
 * @example
 * ```ts
 * import { CancelledError, isCancellation } from "@aio/asyncio";
 * import { assert } from "@std/assert";
 *
 * assert(isCancellation(new CancelledError()));
 * assert(isCancellation(new DOMException("stop", "AbortError")));
 * assert(!isCancellation(new Error("boom")));
 * ```
 */
export function isCancellation(e: unknown): boolean {
  return e instanceof CancelledError ||
    (typeof e === "object" && e !== null && (e as { name?: unknown }).name === "AbortError");
}

/**
 * The reason an await rejects with when `signal` aborted: the signal's own
 * reason (std convention), so a task's cancel arrives as its
 * {@linkcode CancelledError}. Internal.
 */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new CancelledError();
}

/**
 * Throws when the explicit `signal` or the ambient scope is already
 * cancelled. Internal: the synchronous checkpoint of aio's awaitables.
 */
export function throwIfCancelled(signal?: AbortSignal): void {
  if (signal?.aborted) throw abortReason(signal);
  const ambient = scopes.getStore()?.signal;
  if (ambient?.aborted) throw abortReason(ambient);
}

/**
 * One signal that aborts when either the explicit `signal` or the ambient
 * scope does; `undefined` when there is neither. For handing to APIs that
 * take a single `{ signal }` (`Deno.connect`, `fetch`). Internal.
 */
export function linkedSignal(signal?: AbortSignal): AbortSignal | undefined {
  const ambient = scopes.getStore()?.signal;
  if (!ambient) return signal;
  if (!signal || signal === ambient) return ambient;
  return AbortSignal.any([signal, ambient]);
}

/**
 * Makes a promise that settles like `start` says, or rejects with the abort
 * reason as soon as the explicit `signal` or the ambient scope is cancelled.
 * `start` may return a cleanup function, run (once) when the wait is
 * cancelled, which must undo whatever `start` registered: a cancelled wait
 * consumes nothing. When a signal is already aborted, `start` is not called.
 * Internal: the one wait path of every aio awaitable.
 */
export function cancellable<T>(
  start: (
    resolve: (value: T) => void,
    reject: (error: unknown) => void,
  ) => (() => void) | void,
  signal?: AbortSignal,
): Promise<T> {
  const ambient = scopes.getStore()?.signal;
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  if (ambient?.aborted) return Promise.reject(abortReason(ambient));
  if (!signal && !ambient) {
    return new Promise<T>((resolve, reject) => void start(resolve, reject));
  }
  return new Promise<T>((resolve, reject) => {
    // `cleanup` is only known once `start` returns; an abort fired from
    // inside `start` runs it then.
    const wait = { settled: false, aborted: false, cleanup: undefined as (() => void) | void };
    const onAbort = (from: AbortSignal) => {
      if (wait.settled) return;
      detach();
      wait.aborted = true;
      wait.cleanup?.();
      reject(abortReason(from));
    };
    const unsubscribe = [
      signal ? subscribe(signal, () => onAbort(signal)) : undefined,
      ambient && ambient !== signal ? subscribe(ambient, () => onAbort(ambient)) : undefined,
    ];
    const detach = () => {
      wait.settled = true;
      unsubscribe[0]?.();
      unsubscribe[1]?.();
    };
    wait.cleanup = start((value) => {
      if (wait.settled) return;
      detach();
      resolve(value);
    }, (error) => {
      if (wait.settled) return;
      detach();
      reject(error);
    });
    if (wait.aborted) wait.cleanup?.();
  });
}

const subscribers = new WeakMap<AbortSignal, Set<() => void>>();

/**
 * Runs `fn` once when `signal` aborts; returns a function that unsubscribes.
 * One event listener per signal, however many waits share it: subscribing
 * and unsubscribing are O(1), unlike `addEventListener`. Internal.
 */
export function subscribe(signal: AbortSignal, fn: () => void): () => void {
  let set = subscribers.get(signal);
  if (!set) {
    const fns = set = new Set();
    subscribers.set(signal, fns);
    signal.addEventListener("abort", () => {
      subscribers.delete(signal);
      for (const f of fns) f();
      fns.clear();
    }, { once: true });
  }
  set.add(fn);
  return () => void set.delete(fn);
}

/**
 * A scope nested in the current one (a `timeout` block, a `TaskGroup` body):
 * it belongs to the same task, and it is cancelled by its own `cancel()`, by
 * the enclosing scope, or by an explicit signal. Construct it, `run` the
 * body in it, and `close()` it when done. Internal.
 */
export class ChildScope implements Scope {
  readonly task: Task<unknown> | undefined;
  /** The enclosing scope's signal and the explicit one, if any. */
  readonly outer: readonly AbortSignal[];
  #controller = new AbortController();
  #unsubscribe: (() => void)[];

  /**
   * @param signal An explicit outer signal.
   * @param onOuterAbort What an outer cancellation does; default `cancel`.
   * @throws The outer reason, when an outer signal is already aborted.
   */
  constructor(signal?: AbortSignal, onOuterAbort?: (reason: unknown) => void) {
    const parent = scopes.getStore();
    this.task = parent?.task;
    const outer = [signal, parent?.signal].filter((s) => s !== undefined);
    for (const s of outer) if (s.aborted) throw abortReason(s);
    this.outer = outer;
    const onAbort = onOuterAbort ?? ((reason: unknown) => this.cancel(reason));
    this.#unsubscribe = outer.map((s) => subscribe(s, () => onAbort(abortReason(s))));
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Cancels the scope (once) with `reason`. */
  cancel(reason: unknown): void {
    if (!this.#controller.signal.aborted) this.#controller.abort(reason);
  }

  /** The reason of the first outer signal that aborted, if any. */
  outerCancellation(): { reason: unknown } | undefined {
    const s = this.outer.find((s) => s.aborted);
    return s && { reason: abortReason(s) };
  }

  /** Runs `fn` in this scope, awaiting its result inside the scope. */
  run<T>(fn: () => T | PromiseLike<T>): Promise<T> {
    return scopes.run(this, async () => await fn());
  }

  /** Stops listening to the outer signals. */
  close(): void {
    for (const off of this.#unsubscribe) off();
  }
}
