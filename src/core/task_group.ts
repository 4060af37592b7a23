/**
 * `TaskGroup`: structured concurrency, like asyncio's `TaskGroup` (3.11+)
 * and Trio's nurseries — no child outlives its group.
 *
 * @module
 */

import { ChildScope, isCancellation } from "./cancellation.ts";
import { CancelledError, InvalidStateError } from "./errors.ts";
import { adoptTask, Task, type TaskFunction, type TaskOptions } from "./task.ts";
import { checkFunction } from "./_check.ts";

/** Options for {@linkcode TaskGroup.run}. */
export interface TaskGroupOptions {
  /** Aborting it cancels the group like a cancelled enclosing task would. */
  signal?: AbortSignal;
}

/**
 * The failures of a {@linkcode TaskGroup}: every child (and body) error that
 * was not a cancellation, in the order they happened, each distinct error
 * once (a body that fails with a child's error, as `return
 * Promise.all(tasks)` does, adds nothing).
 *
 * @example
 * ```ts
 * import { TaskGroup, TaskGroupError } from "@aio/asyncio";
 * import { assertEquals, assertRejects } from "@std/assert";
 *
 * const e = await assertRejects(
 *   () =>
 *     TaskGroup.run((tg) => {
 *       tg.createTask(() => { throw new Error("a"); });
 *       tg.createTask(() => { throw new Error("b"); });
 *     }),
 *   TaskGroupError,
 * );
 * assertEquals(e.errors.map((x: Error) => x.message), ["a", "b"]);
 * ```
 */
export class TaskGroupError extends AggregateError {
  /**
   * Creates the group's error.
   *
   * @param errors The failures, in order.
   */
  constructor(errors: unknown[]) {
    const first = errors[0] instanceof Error ? `: ${errors[0].message}` : "";
    super(
      errors,
      `${errors.length} unhandled error${errors.length === 1 ? "" : "s"} in a TaskGroup${first}`,
    );
    this.name = "TaskGroupError";
  }
}

/**
 * A scope that owns the tasks created in it; asyncio's `TaskGroup`. Open one
 * with {@linkcode TaskGroup.run}. The rules:
 *
 * - the scope ends only after every child has ended;
 * - the first child failure cancels the other children and the body (the
 *   body's aio awaits reject with `CancelledError`);
 * - the group then rejects with a {@linkcode TaskGroupError} (an
 *   `AggregateError`) of the real failures, cancellations excluded, with a
 *   failing body's own error last;
 * - cancelling the enclosing task (or `options.signal`) cancels every child
 *   and the body, and surfaces as that `CancelledError`, not an aggregate —
 *   unless a child failed for real while being cancelled: such errors are
 *   never lost;
 * - `createTask` on a finished or failing group throws.
 *
 * There is no `await using` form: a disposer cannot tell whether the block
 * failed, so it could not cancel the children of a failing block.
 *
 * @example
 * ```ts
 * import { sleep, TaskGroup } from "@aio/asyncio";
 * import { assertEquals } from "@std/assert";
 *
 * const sum = await TaskGroup.run(async (tg) => {
 *   const a = tg.createTask(() => sleep(10, { value: 1 }));
 *   const b = tg.createTask(() => sleep(5, { value: 2 }));
 *   return await a + await b;
 * });
 * assertEquals(sum, 3);
 * ```
 */
export class TaskGroup {
  /** The children, some perhaps done: compacted as they finish. */
  #tasks: Task<unknown>[] = [];
  /** How many children are still running. */
  #live = 0;
  #errors: unknown[] = [];
  #aborting = false;
  #finished = false;
  #wake: (() => void) | undefined;
  #scope: ChildScope;

  private constructor(signal: AbortSignal | undefined) {
    this.#scope = new ChildScope(signal, (reason) => this.#abort(reason));
  }

  /**
   * Runs `body` with a new group and waits for all of its children.
   *
   * @typeParam T The body's result type.
   * @param body Receives the group; creates children with `tg.createTask`.
   * @param options An outer `signal` that cancels the whole group.
   * @returns The body's result, once every child has ended.
   * @throws {TaskGroupError} If a child or the body failed.
   * @throws {CancelledError} If the enclosing task or `signal` cancelled it.
   *
   * @example Ten concurrent children
   * ```ts
   * import { sleep, TaskGroup } from "@aio/asyncio";
   * import { assertEquals } from "@std/assert";
   *
   * const results: number[] = [];
   * await TaskGroup.run((tg) => {
   *   for (let i = 0; i < 10; i++) {
   *     tg.createTask(async () => {
   *       await sleep(10 - i);
   *       results.push(i);
   *     });
   *   }
   * });
   * assertEquals(results.length, 10);
   * ```
   */
  static async run<T>(
    body: (tg: TaskGroup) => T | PromiseLike<T>,
    options?: TaskGroupOptions,
  ): Promise<T> {
    checkFunction(body, "body", "run TaskGroup");
    const tg = new TaskGroup(options?.signal);
    let result: T | undefined;
    let failed = false;
    let failure: unknown;
    try {
      result = await tg.#scope.run(() => body(tg));
    } catch (e) {
      failed = true;
      failure = e;
    }
    try {
      await tg.#exit(failed, failure);
    } finally {
      tg.#scope.close();
    }
    return result as T;
  }

  /**
   * The group's abort signal: aborts when the group starts cancelling its
   * children (a failure, or an outer cancellation).
   *
   * @example
   * ```ts
   * import { TaskGroup, TaskGroupError } from "@aio/asyncio";
   * import { assert, assertRejects } from "@std/assert";
   *
   * let signal: AbortSignal | undefined;
   * await assertRejects(
   *   () =>
   *     TaskGroup.run((tg) => {
   *       signal = tg.signal;
   *       tg.createTask(() => { throw new Error("x"); });
   *     }),
   *   TaskGroupError,
   * );
   * assert(signal?.aborted);
   * ```
   */
  get signal(): AbortSignal {
    return this.#scope.signal;
  }

  /**
   * Creates a child task owned by this group.
   *
   * @typeParam T The child's result type.
   * @param fn The function to run; receives the child's signal.
   * @param options The child's name.
   * @returns The child task.
   * @throws {InvalidStateError} If the group has finished or is shutting
   * down after a failure or cancellation.
   *
   * @example
   * ```ts
   * import { TaskGroup } from "@aio/asyncio";
   * import { assertEquals } from "@std/assert";
   *
   * const name = await TaskGroup.run(async (tg) => {
   *   const child = tg.createTask(() => "hi", { name: "greeter" });
   *   await child;
   *   return child.name;
   * });
   * assertEquals(name, "greeter");
   * ```
   */
  createTask<T>(fn: TaskFunction<T>, options?: TaskOptions): Task<T> {
    if (this.#finished) {
      throw new InvalidStateError("Cannot create a task: the TaskGroup has finished");
    }
    if (this.#aborting) {
      throw new InvalidStateError("Cannot create a task: the TaskGroup is shutting down");
    }
    const task = new Task(fn, options);
    const tasks = this.#tasks;
    // Drop finished children once they are most of the list: amortised O(1).
    if (tasks.length >= 64 && tasks.length >= 2 * this.#live) {
      this.#tasks = tasks.filter((t) => !t.done());
    }
    this.#tasks.push(task);
    this.#live++;
    adoptTask(task, this.#childDone);
    return task;
  }

  /** A child settled (told synchronously by the task). */
  #childDone = (task: Task<unknown>): void => {
    this.#live--;
    if (!task.cancelled()) {
      try {
        task.result();
      } catch (e) {
        // Like asyncio, siblings already scheduled still take their step
        // before the group cancels them: abort on a later microtask.
        // Each distinct error once: children awaiting one failed future
        // fail with the same error.
        const errors = this.#errors;
        if (!errors.includes(e) && errors.push(e) === 1) queueMicrotask(() => this.#abort());
      }
    }
    if (this.#live === 0) this.#wake?.();
  };

  #abort(reason?: unknown): void {
    if (this.#aborting) return;
    this.#aborting = true;
    this.#scope.cancel(reason ?? new CancelledError("TaskGroup is shutting down"));
    for (const task of this.#tasks) task.cancel("TaskGroup is shutting down");
  }

  async #exit(failed: boolean, failure: unknown): Promise<void> {
    if (failed) this.#abort();
    while (this.#live > 0) {
      // Not cancellable on purpose: an outer cancellation reaches the
      // children through #abort, and the group still waits for them.
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = undefined;
    }
    this.#finished = true;
    this.#tasks = [];
    const errors = this.#errors;
    // The body often fails with a child's error (`return Promise.all(tasks)`):
    // each distinct error once.
    if (failed && !isCancellation(failure) && !errors.includes(failure)) errors.push(failure);
    if (errors.length > 0) throw new TaskGroupError(errors);
    const outer = this.#scope.outerCancellation();
    if (outer) throw outer.reason;
    if (failed) throw failure;
  }
}
