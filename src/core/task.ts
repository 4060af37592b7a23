/**
 * `Task`: a future that runs a function, owns an `AbortController`, and is the
 * ambient cancellation scope of everything the function awaits.
 *
 * @module
 */

import {
  addToHooks,
  type CancelHook,
  type Hooks,
  isCancellation,
  ownSignal,
  removeFromHooks,
  runHooks,
  type Scope,
  scopes,
} from "./cancellation.ts";
import { CancelledError, InvalidStateError } from "./errors.ts";
import { defineLabel, Future, settleFuture, STATES } from "./future.ts";
import { checkFunction } from "./_check.ts";

/** Options for {@linkcode createTask}. */
export interface TaskOptions {
  /** The task's name, for messages and debugging; default `Task-<n>`. */
  name?: string;
}

/**
 * The function a task runs. A function that declares a parameter receives
 * the task's abort signal; one that declares none (including one with only
 * rest parameters) can read it as `currentTask()!.signal`.
 */
export type TaskFunction<T> = (signal: AbortSignal) => T | PromiseLike<T>;

let counter = 0;
// The unfinished tasks, as an intrusive doubly linked list: O(1) insert and
// remove with no hashing or allocation (a Set cost 15% of task creation).
let liveHead: Task<unknown> | undefined;

// Tasks start in batches: one microtask starts every task created since the
// last one (asyncio's ready queue), instead of one microtask per task.
let startQueue: Task<unknown>[] = [];
let startScheduled = false;
function startPending(): void {
  const queue = startQueue;
  startQueue = [];
  startScheduled = false;
  for (let i = 0; i < queue.length; i++) startTask(queue[i]);
}

/** Runs a task's function in its scope; set by `Task`. */
let startTask: (task: Task<unknown>) => void;
/** The pending cancellation's reason of a task; set by `Task`. */
let reasonOf: (task: Task<unknown>) => CancelledError | undefined;
/** Calls `hook` once when `task` is cancelled; set by `Task`. */
let addHookOf: (task: Task<unknown>, hook: CancelHook | (() => void)) => void;
/** Undoes `addHookOf`; set by `Task`. */
let removeHookOf: (task: Task<unknown>, hook: CancelHook | (() => void)) => void;
/** The scope a task's function runs in; set by `Task`. */
let scopeOf: (task: Task<unknown>) => Scope;

/**
 * The cancel requests (by their reason) that reached a task's function: an
 * aio await took the reason to reject with, reading `cancelReason`. Kept
 * here rather than in a field, so that a task costs no more memory.
 */
const delivered = new WeakSet<CancelledError>();

/**
 * What a task tells its owner (a `TaskGroup`) synchronously when it settles:
 * cheaper than a done-callback, and in time for the owner to cancel the
 * siblings before anything else runs.
 */
type Owner = (task: Task<unknown>) => void;

/** Makes `owner` the owner of `task`, told when the task settles. Internal. */
export let adoptTask: (task: Task<unknown>, owner: Owner) => void;

/** The unfinished tasks, for {@linkcode allTasks}; set by `Task`. */
let liveTasks: () => Generator<Task<unknown>>;

/**
 * A task as the scope its function runs in: the cancellation state the
 * awaits of its function observe, kept off the task's public face.
 */
class TaskScope implements Scope {
  readonly task: Task<unknown>;

  constructor(task: Task<unknown>) {
    this.task = task;
  }

  get signal(): AbortSignal {
    return this.task.signal;
  }

  get cancelRequested(): boolean {
    return reasonOf(this.task) !== undefined;
  }

  /** Read only by an await that rejects with it: reading it delivers the request. */
  get cancelReason(): CancelledError | undefined {
    const reason = reasonOf(this.task);
    if (reason !== undefined) delivered.add(reason);
    return reason;
  }

  /** Each subscription passes a function of its own: the same function twice is one. */
  onCancel(fn: () => void): () => void {
    const task = this.task;
    addHookOf(task, fn);
    return () => removeHookOf(task, fn);
  }

  addHook(hook: CancelHook): void {
    addHookOf(this.task, hook);
  }

  removeHook(hook: CancelHook): void {
    removeHookOf(this.task, hook);
  }
}

/**
 * A {@linkcode Future} that runs a function: asyncio's `Task`. Create one with
 * {@linkcode createTask}. The function starts on a later microtask and
 * receives the task's `AbortSignal`; inside it, every aio await (sleep,
 * reads, locks, queues, awaiting other futures...) observes the task without
 * being passed the signal, so `task.cancel()` rejects the await the task is
 * parked on with {@linkcode CancelledError}.
 *
 * Cancellation is cooperative and, as in Trio, it sticks: once cancelled,
 * every later aio await in the task rejects too, so the task ends unless it
 * calls `uncancel()` to carry on (asyncio's `Task.uncancel`). A request no
 * aio await has delivered when the function returns ends the task cancelled
 * all the same, as in asyncio.
 *
 * @typeParam T The type of the result.
 *
 * @example
 * ```ts
 * import { createTask, sleep } from "@aio/asyncio";
 * import { assert, assertEquals } from "@std/assert";
 *
 * const task = createTask(async () => {
 *   await sleep(5);
 *   return 42;
 * }, { name: "answer" });
 * assertEquals(task.name, "answer");
 * assertEquals(await task, 42);
 * assert(task.done());
 * ```
 */
export class Task<T> extends Future<T> {
  #name: string | number;
  #fn: TaskFunction<T> | undefined;
  #controller: AbortController | undefined;
  #cancelRequests = 0;
  /** The reason of the pending cancellation, until `uncancel()`. */
  #reason: CancelledError | undefined;
  /**
   * What to call on cancel: aio's parked waits (cheaper than listeners).
   * One wait is kept as is; more go in a set, so that leaving one of many
   * waits (a `Promise.all` over 100k futures in a task) is O(1), not a scan.
   */
  #hooks: Hooks;
  #owner: Owner | undefined;
  #scope: TaskScope | undefined;
  #prev: Task<unknown> | undefined;
  #next: Task<unknown> | undefined;

  static {
    startTask = (task) => task.#start();
    reasonOf = (task) => task.#reason;
    addHookOf = (task, hook) => void (task.#hooks = addToHooks(task.#hooks, hook));
    removeHookOf = (task, hook) => void (task.#hooks = removeFromHooks(task.#hooks, hook));
    scopeOf = (task) => task.#scope ??= new TaskScope(task);
    adoptTask = (task, owner) => void (task.#owner = owner);
    liveTasks = function* () {
      for (let t = liveHead; t; t = t.#next) yield t;
    };
  }

  /**
   * Creates and schedules a task; same as {@linkcode createTask}.
   *
   * @param fn The function to run.
   * @param options The task's name.
   *
   * @example
   * ```ts
   * import { Task } from "@aio/asyncio";
   * import { assertEquals } from "@std/assert";
   *
   * assertEquals(await new Task(() => "made directly"), "made directly");
   * ```
   */
  constructor(fn: TaskFunction<T>, options?: TaskOptions) {
    super();
    checkFunction(fn, "fn", "create task");
    this.#fn = fn;
    this.#name = options?.name ?? ++counter;
    this.#next = liveHead;
    if (liveHead) liveHead.#prev = this;
    liveHead = this;
    startQueue.push(this);
    if (!startScheduled) {
      startScheduled = true;
      queueMicrotask(startPending);
    }
  }

  /**
   * The task's name, for messages and debugging: `Task-<n>` unless given.
   *
   * @example
   * ```ts
   * import { createTask } from "@aio/asyncio";
   * import { assertMatch } from "@std/assert";
   *
   * const task = createTask(() => {});
   * assertMatch(task.name, /^Task-\d+$/);
   * task.name = "renamed";
   * await task;
   * ```
   */
  get name(): string {
    const name = this.#name;
    return typeof name === "number" ? `Task-${name}` : name;
  }
  set name(value: string) {
    this.#name = String(value);
  }

  /**
   * The task's abort signal: aborts, with the task's
   * {@linkcode CancelledError} as its reason, when the task is cancelled. Hand
   * it to APIs that take `{ signal }` (`fetch`, `Deno.connect`...).
   *
   * @example
   * ```ts
   * import { createTask, isCancellation } from "@aio/asyncio";
   * import { assert } from "@std/assert";
   *
   * const task = createTask((signal) =>
   *   new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)))
   * );
   * await Promise.resolve();
   * task.cancel();
   * const error = await task.then(() => null, (e) => e);
   * assert(isCancellation(error) && task.cancelled());
   * ```
   */
  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      ownSignal(this.#controller.signal, scopeOf(this));
      if (this.#reason) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /**
   * Requests cancellation: aborts the task's signal with a
   * {@linkcode CancelledError}, which rejects the aio await the task is parked
   * on (or, if the task has not started yet, keeps it from starting). A
   * request that no aio await has delivered by the time the function returns
   * (it cancelled itself and returned, or it was only awaiting promises aio
   * did not make) ends the task cancelled, as in asyncio; one that was
   * delivered and caught lets the task return its value.
   *
   * @param message Why the task is cancelled.
   * @returns `false` if the task is already done, else `true`.
   *
   * @example
   * ```ts
   * import { createTask, sleep } from "@aio/asyncio";
   * import { assert } from "@std/assert";
   *
   * const task = createTask(() => sleep(60_000));
   * assert(task.cancel("bye"));
   * await task.then(() => {}, () => {});
   * assert(task.cancelled());
   * assert(!task.cancel());
   * ```
   */
  override cancel(message?: string): boolean {
    if (this.done()) return false;
    this.#cancelRequests++;
    if (this.#reason === undefined) {
      const reason = this.#reason = new CancelledError(
        message ?? `Task '${this.name}' was cancelled`,
      );
      this.#controller?.abort(reason);
      const hooks = this.#hooks;
      this.#hooks = undefined;
      runHooks(hooks);
    }
    return true;
  }

  /**
   * How many cancellation requests are pending (asyncio's `cancelling()`).
   *
   * @returns The number of `cancel()` calls not yet matched by `uncancel()`.
   *
   * @example
   * ```ts
   * import { createTask, sleep } from "@aio/asyncio";
   * import { assertEquals } from "@std/assert";
   *
   * const task = createTask(() => sleep(60_000));
   * task.cancel();
   * assertEquals(task.cancelling(), 1);
   * await task.then(() => {}, () => {});
   * ```
   */
  cancelling(): number {
    return this.#cancelRequests;
  }

  /**
   * Withdraws one cancellation request (asyncio's `uncancel()`). When none
   * remain, the task gets a fresh signal and its later aio awaits work again:
   * this is how a task that caught {@linkcode CancelledError} carries on. The
   * signal passed to the task's function stays aborted; read `task.signal`
   * for the current one.
   *
   * @returns The number of cancellation requests left.
   *
   * @example
   * ```ts
   * import { CancelledError, createTask, currentTask, sleep } from "@aio/asyncio";
   * import { assertEquals } from "@std/assert";
   *
   * const task = createTask(async () => {
   *   try {
   *     await sleep(60_000);
   *   } catch (e) {
   *     if (!(e instanceof CancelledError)) throw e;
   *     currentTask()!.uncancel();
   *   }
   *   await sleep(1);
   *   return "carried on";
   * });
   * await sleep(1);
   * task.cancel();
   * assertEquals(await task, "carried on");
   * ```
   */
  uncancel(): number {
    if (this.#cancelRequests > 0 && --this.#cancelRequests === 0) {
      this.#reason = undefined;
      if (this.#controller?.signal.aborted) this.#controller = undefined;
    }
    return this.#cancelRequests;
  }

  /**
   * Tasks are settled by their function: use `createFuture()` for a value
   * set by hand.
   *
   * @throws {InvalidStateError} Always.
   */
  override setResult(_value: T): never {
    throw new InvalidStateError("Task does not support setResult: its function sets the result");
  }

  /**
   * Tasks are settled by their function: use `createFuture()` for a value
   * set by hand.
   *
   * @throws {InvalidStateError} Always.
   */
  override setException(_error: unknown): never {
    throw new InvalidStateError(
      "Task does not support setException: its function sets the exception",
    );
  }

  /** Runs the function in this task's scope. */
  #start(): void {
    const fn = this.#fn!;
    this.#fn = undefined;
    if (this.#cancelRequests > 0) {
      // Cancelled before it started: the function never runs (asyncio).
      this.#end(this.#reason);
      return;
    }
    // The function and the await of its result both run in the task's
    // scope, so a returned future is linked to the task like any await.
    scopes.run(scopeOf(this), Task.#runIn, this, fn);
  }

  static #runIn<T>(task: Task<T>, fn: TaskFunction<T>): void {
    let result: T | PromiseLike<T>;
    try {
      // A function that declares no parameter does not get the signal, and
      // the task then creates its AbortController only if it is cancelled
      // or asked for it: that is 15% of a task's cost.
      result = fn.length === 0 ? (fn as () => T | PromiseLike<T>)() : fn(task.signal);
    } catch (e) {
      task.#end(e);
      return;
    }
    if (isThenable(result)) {
      result.then((value) => task.#succeed(value), (e) => task.#end(e));
    } else {
      task.#succeed(result);
    }
  }

  #unlink(): void {
    const prev = this.#prev, next = this.#next;
    if (prev) prev.#next = next;
    else if (liveHead === this) liveHead = next;
    if (next) next.#prev = prev;
    this.#prev = this.#next = undefined;
  }

  #succeed(value: T): void {
    if (this.#reason !== undefined && !delivered.has(this.#reason)) {
      // Cancelled while running and never told: the request wins (asyncio).
      this.#end(this.#reason);
      return;
    }
    this.#unlink();
    settleFuture(this, STATES.FULFILLED, value);
    this.#owner?.(this);
  }

  #end(error: unknown): void {
    this.#unlink();
    if (error instanceof CancelledError) {
      settleFuture(this, STATES.CANCELLED, error);
    } else if (this.#cancelRequests > 0 && isCancellation(error)) {
      // A pending request always has its reason (`uncancel` clears both).
      settleFuture(this, STATES.CANCELLED, this.#reason!);
    } else {
      settleFuture(this, STATES.REJECTED, error);
    }
    this.#owner?.(this);
  }
}

defineLabel(Task.prototype, (task) => `Task '${(task as Task<unknown>).name}'`);

function isThenable<T>(value: unknown): value is PromiseLike<T> {
  return value !== null && (typeof value === "object" || typeof value === "function") &&
    typeof (value as PromiseLike<T>).then === "function";
}

/**
 * Runs `fn` as a {@linkcode Task}, starting on a later microtask; asyncio's
 * `asyncio.create_task`. `fn` receives the task's abort signal.
 *
 * @typeParam T The type of the result.
 * @param fn The function to run; may be async.
 * @param options The task's name.
 * @returns The task, which is awaitable.
 *
 * @example
 * ```ts
 * import { createTask, sleep } from "@aio/asyncio";
 * import { assertEquals } from "@std/assert";
 *
 * const slow = createTask(async () => { await sleep(20); return "slow"; });
 * const fast = createTask(async () => { await sleep(10); return "fast"; });
 * assertEquals(await Promise.all([slow, fast]), ["slow", "fast"]);
 * ```
 */
export function createTask<T>(fn: TaskFunction<T>, options?: TaskOptions): Task<T> {
  return new Task(fn, options);
}

/**
 * The task whose code is running, like `asyncio.current_task()`.
 *
 * @returns The current task, or `undefined` outside any task.
 *
 * @example
 * ```ts
 * import { createTask, currentTask } from "@aio/asyncio";
 * import { assertEquals } from "@std/assert";
 *
 * const task = createTask(() => currentTask()?.name, { name: "me" });
 * assertEquals(await task, "me");
 * assertEquals(currentTask(), undefined);
 * ```
 */
export function currentTask(): Task<unknown> | undefined {
  return scopes.getStore()?.task;
}

/**
 * The tasks not yet done, like `asyncio.all_tasks()`.
 *
 * @returns A new set of the unfinished tasks.
 *
 * @example
 * ```ts
 * import { allTasks, createTask, sleep } from "@aio/asyncio";
 * import { assert } from "@std/assert";
 *
 * const task = createTask(() => sleep(5));
 * assert(allTasks().has(task));
 * await task;
 * assert(!allTasks().has(task));
 * ```
 */
export function allTasks(): Set<Task<unknown>> {
  return new Set(liveTasks());
}
