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
 * What the running code is inside of: a task, or a `timeout` block or
 * `TaskGroup` body within a task. Internal.
 *
 * Waits observe a scope through `cancelRequested` and `onCancel`, which cost
 * no `AbortSignal`: a task creates its `AbortController` only when someone
 * asks for its `signal`.
 */
export interface Scope {
  /** Aborts when the scope is cancelled; created on first use. */
  readonly signal: AbortSignal;
  /** The task the scope belongs to, if any. */
  readonly task: Task<unknown> | undefined;
  /** Whether the scope is cancelled (until a task's `uncancel()`). */
  readonly cancelRequested: boolean;
  /** The cancellation's reason, while `cancelRequested`. */
  readonly cancelReason: unknown;
  /**
   * Calls `fn` once when the scope is cancelled.
   *
   * @returns A function that unsubscribes.
   */
  onCancel(fn: () => void): () => void;
  /**
   * Calls `hook.scopeCancelled()` once when the scope is cancelled; undone
   * by `removeHook`. Costs no closure, unlike `onCancel`: the path of the
   * waits that park by the thousand.
   */
  addHook(hook: CancelHook): void;
  /** Undoes `addHook`; does nothing for a hook that is not there. */
  removeHook(hook: CancelHook): void;
}

/** An object told when a scope is cancelled (see `Scope.addHook`). Internal. */
export interface CancelHook {
  scopeCancelled(): void;
}

/**
 * What a scope calls when it is cancelled, in the order they were added:
 * nothing, one hook or function, or a set of them. A single entry costs no
 * set: almost every task parks on one wait at a time. Internal.
 */
export type Hooks = CancelHook | (() => void) | Set<CancelHook | (() => void)> | undefined;

/** `hooks` with `hook` added. Internal. */
export function addToHooks(hooks: Hooks, hook: CancelHook | (() => void)): Hooks {
  if (hooks === undefined) return hook;
  if (hooks instanceof Set) return hooks.add(hook);
  if (hooks === hook) return hooks;
  return new Set([hooks, hook]);
}

/** `hooks` without `hook`. Internal. */
export function removeFromHooks(hooks: Hooks, hook: CancelHook | (() => void)): Hooks {
  if (hooks === hook) return undefined;
  if (hooks instanceof Set) hooks.delete(hook);
  return hooks;
}

/** Calls every hook, in order. Internal. */
export function runHooks(hooks: Hooks): void {
  if (hooks === undefined) return;
  if (hooks instanceof Set) {
    for (const hook of hooks) callHook(hook);
  } else {
    callHook(hooks);
  }
}

function callHook(hook: CancelHook | (() => void)): void {
  if (typeof hook === "function") hook();
  else hook.scopeCancelled();
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

/** The scope each task signal belongs to, for {@linkcode abortReason}. */
const signalScopes = new WeakMap<AbortSignal, Scope>();

/** Records that `signal` is the signal of `scope`. Internal. */
export function ownSignal(signal: AbortSignal, scope: Scope): void {
  signalScopes.set(signal, scope);
}

/**
 * The reason an await rejects with when `signal` aborted: the signal's own
 * reason (std convention), so a task's cancel arrives as its
 * {@linkcode CancelledError}. For a task's own signal the reason is read
 * from the task, which counts the request as delivered. Internal.
 */
export function abortReason(signal: AbortSignal): unknown {
  const scope = signalScopes.get(signal);
  if (scope?.cancelRequested) return scope.cancelReason;
  return signal.reason ?? new CancelledError();
}

/**
 * Throws when the explicit `signal` or the ambient scope is already
 * cancelled. Internal: the synchronous checkpoint of aio's awaitables.
 */
export function throwIfCancelled(signal?: AbortSignal): void {
  if (signal?.aborted) throw abortReason(signal);
  const scope = scopes.getStore();
  if (scope?.cancelRequested) throw scope.cancelReason;
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
  const scope = scopes.getStore();
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  if (scope?.cancelRequested) return Promise.reject(scope.cancelReason);
  if (!signal && !scope) {
    return new Promise<T>((resolve, reject) => void start(resolve, reject));
  }
  const wait = new Wait<T>();
  const promise = wait.begin(signal, scope);
  wait.start(start);
  return promise;
}

/** Calls `fn` in the running scope; its result as a promise. */
function enter<T>(fn: () => T | PromiseLike<T>): Promise<T> {
  let result: T | PromiseLike<T>;
  try {
    result = fn();
  } catch (e) {
    return Promise.reject(e);
  }
  if (result instanceof Promise) return result;
  return awaitIn(result);
}

async function awaitIn<T>(value: T | PromiseLike<T>): Promise<T> {
  return await value;
}

const ABORTED_IN_START = Symbol("aborted in start");

/**
 * A cancellable wait kept as one object, for the waits that park by the
 * thousand (a read waiting for data): what {@linkcode cancellable} does,
 * without its closures. The owner calls {@linkcode Pending.begin}, keeps the
 * object where whatever ends the wait finds it, and ends it with
 * {@linkcode Pending.settle} or {@linkcode Pending.fail}; a cancellation
 * calls {@linkcode Pending.cancelled}, which must undo what the owner
 * registered. Internal.
 */
export abstract class Pending<T> implements CancelHook {
  #resolve: ((value: T) => void) | undefined = undefined;
  #reject: ((error: unknown) => void) | undefined = undefined;
  #scope: Scope | undefined = undefined;
  #offSignal: (() => void) | undefined = undefined;
  #settled = false;

  /** Undoes what the owner registered; called once, when a cancellation ends the wait. */
  protected abstract cancelled(): void;

  /**
   * Starts the wait in the running scope (`scope`, when the caller looked it
   * up already), also ended by `signal`. When either is already cancelled,
   * the promise is rejected and `waiting` is false: the owner must not
   * register the wait.
   */
  begin(signal: AbortSignal | undefined, scope: Scope | undefined = scopes.getStore()): Promise<T> {
    if (signal !== undefined && signal.aborted) return this.#refuse(abortReason(signal));
    if (scope !== undefined) {
      if (scope.cancelRequested) return this.#refuse(scope.cancelReason);
      this.#scope = scope;
      scope.addHook(this);
    }
    // The running scope's own signal adds nothing to the scope's hook.
    if (signal !== undefined && (scope === undefined || signalScopes.get(signal) !== scope)) {
      this.#offSignal = subscribe(signal, () => this.#abort(abortReason(signal)));
    }
    return new Promise<T>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  /** Whether the wait is still on: begun, and neither settled nor cancelled. */
  get waiting(): boolean {
    return !this.#settled;
  }

  #refuse(reason: unknown): Promise<never> {
    this.#settled = true;
    return Promise.reject(reason);
  }

  /** Ends the wait with `value`; no-op once it ended. */
  settle(value: T): void {
    if (this.#settled) return;
    this.#detach();
    this.#resolve!(value);
  }

  /** Ends the wait with `error`; no-op once it ended. */
  fail(error: unknown): void {
    if (this.#settled) return;
    this.#detach();
    this.#reject!(error);
  }

  scopeCancelled(): void {
    this.#abort(this.#scope!.cancelReason);
  }

  #detach(): void {
    this.#settled = true;
    this.#offSignal?.();
    this.#scope?.removeHook(this);
  }

  #abort(reason: unknown): void {
    if (this.#settled) return;
    this.#detach();
    this.cancelled();
    this.#reject!(reason);
  }
}

/** The wait of {@linkcode cancellable}: its owner is a `start` function. */
class Wait<T> extends Pending<T> {
  /**
   * The undo of `start`, known once `start` returns; `null` while `start`
   * runs, `ABORTED_IN_START` when an abort came from inside it.
   */
  #cleanup: (() => void) | void | null | typeof ABORTED_IN_START = null;

  start(
    start: (resolve: (value: T) => void, reject: (error: unknown) => void) => (() => void) | void,
  ): void {
    const cleanup = start((value) => this.settle(value), (error) => this.fail(error));
    // An abort fired from inside `start` runs the cleanup now.
    if (this.#cleanup === ABORTED_IN_START) cleanup?.();
    this.#cleanup = cleanup;
  }

  protected cancelled(): void {
    const cleanup = this.#cleanup;
    if (cleanup === null) this.#cleanup = ABORTED_IN_START;
    else if (cleanup !== ABORTED_IN_START) cleanup?.();
  }
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
 * body in it, and `close()` it when done. Its `AbortController` is made only
 * when someone asks for its `signal`. Internal.
 */
export class ChildScope implements Scope, CancelHook {
  readonly task: Task<unknown> | undefined;
  #parent: Scope | undefined;
  #signal: AbortSignal | undefined;
  #controller: AbortController | undefined;
  #cancelled = false;
  #reason: unknown = undefined;
  #hooks: Hooks = undefined;
  #onOuterAbort: ((reason: unknown) => void) | undefined;
  #offSignal: (() => void) | undefined;
  /** What runs in this scope, for its owner to find (a `timeout` block's deadline). */
  block: unknown = undefined;

  /**
   * @param signal An explicit outer signal.
   * @param onOuterAbort What an outer cancellation does; default `cancel`.
   * @throws The outer reason, when the outer scope or signal is already
   * cancelled.
   */
  constructor(signal?: AbortSignal, onOuterAbort?: (reason: unknown) => void) {
    const parent = scopes.getStore();
    this.task = parent?.task;
    if (signal?.aborted) throw abortReason(signal);
    if (parent?.cancelRequested) throw parent.cancelReason;
    this.#parent = parent;
    this.#signal = signal;
    this.#onOuterAbort = onOuterAbort;
    if (signal) this.#offSignal = subscribe(signal, () => this.#outerAbort(abortReason(signal)));
    parent?.addHook(this);
  }

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      ownSignal(this.#controller.signal, this);
      if (this.#cancelled) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /** The scope this one is nested in, if any. */
  get parent(): Scope | undefined {
    return this.#parent;
  }

  get cancelRequested(): boolean {
    return this.#cancelled;
  }

  get cancelReason(): unknown {
    return this.#reason;
  }

  onCancel(fn: () => void): () => void {
    if (this.#cancelled) return () => {};
    this.#hooks = addToHooks(this.#hooks, fn);
    return () => void (this.#hooks = removeFromHooks(this.#hooks, fn));
  }

  addHook(hook: CancelHook): void {
    if (!this.#cancelled) this.#hooks = addToHooks(this.#hooks, hook);
  }

  removeHook(hook: CancelHook): void {
    this.#hooks = removeFromHooks(this.#hooks, hook);
  }

  /** The enclosing scope was cancelled. */
  scopeCancelled(): void {
    this.#outerAbort(this.#parent!.cancelReason);
  }

  #outerAbort(reason: unknown): void {
    if (this.#onOuterAbort) this.#onOuterAbort(reason);
    else this.cancel(reason);
  }

  /** Cancels the scope (once) with `reason`. */
  cancel(reason: unknown): void {
    if (this.#cancelled) return;
    this.#cancelled = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
    const hooks = this.#hooks;
    this.#hooks = undefined;
    runHooks(hooks);
  }

  /** The reason of the outer cancellation (explicit signal first), if any. */
  outerCancellation(): { reason: unknown } | undefined {
    if (this.#signal?.aborted) return { reason: abortReason(this.#signal) };
    if (this.#parent?.cancelRequested) return { reason: this.#parent.cancelReason };
    return undefined;
  }

  /**
   * Runs `fn` in this scope, awaiting its result inside the scope (so that
   * a returned future is linked to it). A native promise needs no await of
   * ours: awaiting one links nothing.
   */
  run<T>(fn: () => T | PromiseLike<T>): Promise<T> {
    return scopes.run(this, enter, fn);
  }

  /** Stops listening to the outer scope and signal. */
  close(): void {
    this.#offSignal?.();
    this.#offSignal = undefined;
    this.#parent?.removeHook(this);
  }
}
