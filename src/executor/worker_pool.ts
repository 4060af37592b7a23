/**
 * Blocking and CPU-bound work off the event loop: `WorkerPool` (an executor
 * of module Web Workers, like `concurrent.futures`' pools), `runInExecutor`
 * and `toThread` (asyncio's `loop.run_in_executor` and `asyncio.to_thread`).
 *
 * A job names a function by the URL of the module that exports it and its
 * export name; each worker imports the module once and calls the export with
 * copies of the arguments (structured clone). Cancelling a job terminates
 * its worker; long synchronous loops should call `checkCancelled()` now and
 * then, since Deno cannot interrupt JavaScript that never yields to the
 * event loop.
 *
 * Running a function of the calling module, without a separate file: pass
 * `import.meta.url` and the function itself, e.g.
 * `toThread(import.meta.url, countPrimes, 1e6)`. The limits:
 * - The function must be exported under its own name. The worker looks the
 *   export up by the function's `name` and runs it only if its source text
 *   is the one submitted; otherwise the job fails with a `TypeError`.
 * - The module is evaluated again in each worker, top level included: keep
 *   the program's own work behind `if (import.meta.main)`. A job submitted
 *   from the top level of a module that a worker is importing throws
 *   `InvalidStateError`, rather than starting workers without end.
 * - No closure crosses: the function sees the worker's own copy of its
 *   module's top-level state, not the caller's variables or their changes.
 * - Arguments and results are copied (or moved with `transfer`), so they
 *   must be structured-cloneable: no functions, sockets or class identity.
 *
 * Permissions: workers inherit the program's permissions. Starting a worker
 * reads aio's worker module and each job imports its module, so local
 * (`file:`) modules need read access to them (`--allow-read`, or
 * `--allow-read=<the project folder>`) and remote ones import access
 * (`--allow-import` for hosts outside Deno's default list). Without it the
 * job rejects with `Deno.errors.NotCapable`. What the job itself does needs
 * the usual permissions.
 *
 * @module
 */

import { cancellable, isCancellation, throwIfCancelled } from "../core/cancellation.ts";
import { CancelledError, InvalidStateError } from "../core/errors.ts";
import { createTask, type Task } from "../core/task.ts";
import { type Delay, setDelay } from "../core/_timers.ts";
import { describe } from "../core/_describe.ts";
import {
  checkBoolean,
  checkInteger,
  checkMs,
  checkOptions,
  checkSignal,
  checkString,
} from "../core/_check.ts";
import { park, WaiterQueue } from "../core/_waiters.ts";
import {
  CANCEL_CELL,
  isMarker,
  LOADING,
  type Marker,
  PERMISSION_DENIED,
  type ReplyMessage,
  reviveThrown,
  TRANSFER,
} from "./_worker_protocol.ts";

const HOST = new URL("./_worker_host.ts", import.meta.url);

/**
 * A function a job may run. Its arguments and result cross to and from the
 * worker by structured clone, so they must be cloneable (no functions,
 * sockets or class identity).
 */
// deno-lint-ignore no-explicit-any
export type JobFunction = (...args: any[]) => unknown;

/**
 * A value wrapped by {@linkcode transfer}: its buffers move to the receiving
 * thread instead of being copied.
 *
 * @typeParam T The type of the wrapped value.
 */
export interface Transfer<T> {
  /** The wrapped value (a zero-copy clone of the value given to `transfer`). */
  readonly value: T;
  /** The objects that move with it. */
  readonly transferables: readonly Transferable[];
}

/**
 * The arguments of a job function as `submit` takes them: each one as is or
 * wrapped by {@linkcode transfer}.
 *
 * @typeParam A The parameter types of the job function.
 */
export type JobArgs<A extends readonly unknown[]> = { [K in keyof A]: A[K] | Transfer<A[K]> };

/**
 * What awaiting a job gives: the function's awaited result, unwrapped when
 * the worker returned it through {@linkcode transfer}.
 *
 * @typeParam F The job function.
 */
export type JobResult<F extends JobFunction> = Awaited<ReturnType<F>> extends Transfer<infer V> ? V
  : Awaited<ReturnType<F>>;

/** Options for {@linkcode WorkerPool}. */
export interface WorkerPoolOptions {
  /**
   * The most workers alive at once, hence jobs running at once: an integer
   * >= 1. Default `navigator.hardwareConcurrency`.
   */
  maxWorkers?: number;
  /**
   * How long, in milliseconds, a worker with nothing to do stays alive
   * before it is terminated; a later job starts a fresh one. A live worker
   * keeps the process running, so this is how long a program that forgot
   * `shutdown()` lingers after its last job. `Infinity` keeps workers until
   * `shutdown()`. Default `1000`.
   */
  idleTimeout?: number;
  /** Prefix of the workers' names (`<name>-<n>`), for debugging. */
  name?: string;
}

/** Options for {@linkcode WorkerPool.prototype.shutdown}. */
export interface WorkerPoolShutdownOptions {
  /**
   * Wait until every running and queued job has finished and every worker
   * is terminated. Default `true`.
   */
  wait?: boolean;
  /** Cancel the jobs that have not started yet. Default `false`. */
  cancelFutures?: boolean;
  /**
   * Aborting it stops the wait: then every remaining job is cancelled and
   * its worker terminated, and the shutdown rejects with the reason.
   */
  signal?: AbortSignal;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** A worker of the pool. */
interface Slot {
  readonly worker: Worker;
  /** Shared with the worker: set to 1 to cancel its job (`checkCancelled`). */
  readonly cell: Int32Array;
  job: Job | undefined;
  /** Terminates the worker once it has been idle for `idleTimeout`. */
  timer: Delay | undefined;
  /** An uncaught error happened between jobs: retire after the current one. */
  retiring: boolean;
}

interface Job {
  readonly id: number;
  readonly url: string;
  readonly name: string;
  readonly source: string | undefined;
  /** Dropped once sent. */
  args: unknown[] | undefined;
  transfer: Transferable[] | undefined;
  /** The worker running the job. */
  slot: Slot | undefined;
  task: Task<unknown>;
  /** Set when the job ended before its task's function started. */
  outcome: Outcome | undefined;
  /** Settles the task, once its function has started. */
  deliver: ((outcome: Outcome) => void) | undefined;
}

let pools = 0;

/**
 * An executor of module Web Workers, like `concurrent.futures`'
 * `ProcessPoolExecutor`: `submit()` queues a job and returns a
 * {@linkcode Task} for its result; at most `maxWorkers` jobs run at once,
 * one per worker. Workers start when jobs need them, are reused, and stop
 * after `idleTimeout` ms without work or at `shutdown()`.
 *
 * Cancelling a job's task (or a task awaiting it) stops the job: a queued
 * job is dropped; a running one has its worker terminated, and a fresh
 * worker serves the next job. A job stops as soon as it yields to the event
 * loop or calls {@linkcode checkCancelled}; long synchronous loops should
 * call it now and then, because Deno cannot interrupt JavaScript that never
 * yields (see `checkCancelled`). An error thrown by the job arrives with its
 * class (built-in, aio and `Deno.errors` classes; others as an `Error`
 * keeping their `name`), message, the worker's stack, `cause` and cloneable
 * own properties.
 *
 * Arguments and results are copied by structured clone; wrap one in
 * {@linkcode transfer} to move its buffers instead. Running a function of
 * the calling module, and permissions: see the module documentation.
 *
 * @example A job module, and a pool running its export
 * ```ts
 * import { WorkerPool } from "@aio/asyncio";
 * import { assertEquals } from "@std/assert";
 *
 * // Usually `new URL("./jobs.ts", import.meta.url)`: here a module inline.
 * const jobs = "data:text/javascript,export const fib = (n) => n < 2 ? n : fib(n - 1) + fib(n - 2);";
 *
 * await using pool = new WorkerPool({ maxWorkers: 2 });
 * const results = await Promise.all([25, 26, 27].map((n) => pool.submit(jobs, "fib", n)));
 * assertEquals(results, [75025, 121393, 196418]);
 * ```
 */
export class WorkerPool implements AsyncDisposable {
  #max: number;
  #idleTimeout: number;
  #name: string;
  #spawned = 0;
  #nextId = 0;
  /** Jobs waiting for a worker, in submission order. */
  #queue = new Set<Job>();
  /** Every live worker, busy or idle. */
  #slots = new Set<Slot>();
  /** The live workers without a job; the last one freed is reused first. */
  #idle: Slot[] = [];
  #shutdown = false;
  /** Woken when the pool is shut down and empty. */
  #waiters = new WaiterQueue<void>();

  /**
   * Creates a pool; no worker starts until a job needs one.
   *
   * @param options `maxWorkers`, `idleTimeout`, `name`.
   * @throws {RangeError} If `maxWorkers` is not an integer >= 1 or
   * `idleTimeout` is negative or NaN.
   * @throws {TypeError} If an option has the wrong type.
   *
   * @example
   * ```ts
   * import { WorkerPool } from "@aio/asyncio";
   * import { assertEquals, assertThrows } from "@std/assert";
   *
   * await using pool = new WorkerPool({ maxWorkers: 2, idleTimeout: 5_000 });
   * assertEquals(pool.maxWorkers, 2);
   * assertThrows(() => new WorkerPool({ maxWorkers: 0 }), RangeError, "'maxWorkers'");
   * ```
   */
  constructor(options?: WorkerPoolOptions) {
    if (options === undefined) options = {};
    const what = "create worker pool";
    checkOptions(options, what);
    const {
      maxWorkers = navigator.hardwareConcurrency || 1,
      idleTimeout = 1_000,
      name = `aio-pool-${++pools}`,
    } = options;
    this.#max = checkInteger(maxWorkers, "maxWorkers", what, 1);
    this.#idleTimeout = checkMs(idleTimeout, "idleTimeout", what)!;
    this.#name = checkString(name, "name", what, true);
  }

  /**
   * The most workers (and running jobs) the pool has at once.
   *
   * @example
   * ```ts
   * import { WorkerPool } from "@aio/asyncio";
   * import { assertEquals } from "@std/assert";
   *
   * await using pool = new WorkerPool();
   * assertEquals(pool.maxWorkers, navigator.hardwareConcurrency);
   * ```
   */
  get maxWorkers(): number {
    return this.#max;
  }

  /**
   * Queues a call of `exportName` from the module at `moduleUrl` with
   * `args`, and returns the task that awaits its result. The job starts as
   * soon as a worker is free (a new one if fewer than `maxWorkers` exist).
   *
   * `exportName` may be the function itself, when the caller has it (a
   * function of its own module, with `import.meta.url`): the worker then
   * runs the export of that name only if it is the same function (same
   * source text), and the call is typed from it. Wrap an argument in
   * {@linkcode transfer} to move its buffers rather than copy them.
   *
   * Cancelling the task (directly, or by cancelling a task that awaits it)
   * drops a queued job and terminates the worker of a running one (see
   * {@linkcode checkCancelled} for long synchronous loops).
   *
   * @typeParam F The job function's type, for typed arguments and result
   * (inferred when `exportName` is the function).
   * @param moduleUrl The absolute URL of the module exporting the function
   * (`import.meta.url`, `new URL("./jobs.ts", import.meta.url)`).
   * @param exportName The export's name, or the exported function.
   * @param args The arguments: structured-cloneable, or wrapped in `transfer`.
   * @returns A task for the function's (awaited) result.
   * @throws {InvalidStateError} If the pool is shut down, or if called from
   * the top level of a job module while a worker imports it.
   * @throws {TypeError} If `moduleUrl` is not an absolute URL or
   * `exportName` is not a non-empty string or a named function.
   *
   * @example Typed by the function, run from the calling module
   * ```ts
   * import { WorkerPool } from "@aio/asyncio";
   * import { assertEquals } from "@std/assert";
   *
   * const jobs = "data:text/javascript,export function add(a, b) { return a + b; }";
   * await using pool = new WorkerPool({ maxWorkers: 1 });
   * assertEquals(await pool.submit<(a: number, b: number) => number>(jobs, "add", 2, 3), 5);
   * // With a function of the calling module:
   * //   export function add(a: number, b: number) { return a + b; }
   * //   const sum: number = await pool.submit(import.meta.url, add, 2, 3);
   * ```
   *
   * @example Cancelling a running job terminates its worker
   * ```ts
   * import { CancelledError, sleep, WorkerPool } from "@aio/asyncio";
   * import { assertEquals, assertRejects } from "@std/assert";
   *
   * const jobs = "data:text/javascript,export const hang = () => new Promise(() => {});" +
   *   " export const one = () => 1;";
   * await using pool = new WorkerPool({ maxWorkers: 1 });
   * const stuck = pool.submit(jobs, "hang");
   * await sleep(50);
   * stuck.cancel();
   * await assertRejects(() => Promise.resolve(stuck), CancelledError);
   * assertEquals(await pool.submit(jobs, "one"), 1); // served by a fresh worker
   * ```
   */
  submit<F extends JobFunction = JobFunction>(
    moduleUrl: string | URL,
    exportName: string | F,
    ...args: JobArgs<Parameters<F>>
  ): Task<JobResult<F>> {
    const url = checkModuleUrl(moduleUrl);
    const name = checkExportName(exportName);
    if (this.#shutdown) {
      throw new InvalidStateError(
        `Cannot submit '${name}': worker pool '${this.#name}' is shut down`,
      );
    }
    const loading = (globalThis as Record<symbol, unknown>)[LOADING];
    if (loading !== undefined) {
      throw new InvalidStateError(
        `Cannot submit '${name}' while a worker imports the job module ${loading}: its top ` +
          "level runs in every worker, so keep the program behind `if (import.meta.main)`",
      );
    }
    const transfer: Transferable[] = [];
    const values = args.map((arg: unknown) => {
      if (!isMarker(arg)) return arg;
      transfer.push(...arg.transferables);
      return arg.value;
    });
    const job: Job = {
      id: ++this.#nextId,
      url,
      name,
      source: typeof exportName === "function" ? String(exportName) : undefined,
      args: values,
      transfer,
      slot: undefined,
      task: createTask(() =>
        cancellable<unknown>((resolve, reject) => {
          job.deliver = (outcome) => outcome.ok ? resolve(outcome.value) : reject(outcome.error);
          if (job.outcome) job.deliver(job.outcome);
          return () => this.#abandon(job); // cancelled: stop the job now
        }), { name }),
      outcome: undefined,
      deliver: undefined,
    };
    // A task cancelled before its function started ends here.
    job.task.addDoneCallback(() => this.#abandon(job));
    this.#queue.add(job);
    this.#dispatch();
    return job.task as Task<JobResult<F>>;
  }

  /**
   * Stops the pool, like `Executor.shutdown(wait, cancel_futures)`: no job
   * may be submitted any more (`submit` throws {@linkcode InvalidStateError});
   * jobs already submitted still run unless `cancelFutures` cancels those not
   * started; idle workers stop now, busy ones when the queue is empty.
   * Calling it again is allowed (e.g. to cancel what is queued).
   *
   * @param options `wait` (default `true`) for every job to finish and every
   * worker to stop; `cancelFutures` (default `false`) to cancel queued jobs;
   * `signal` to stop waiting.
   * @returns A promise that resolves when the pool is shut down (at once
   * with `wait: false`).
   * @throws (as a rejection) The abort reason if the wait is cancelled by
   * `signal` or the current task; the remaining jobs are then cancelled and
   * their workers terminated.
   *
   * @example
   * ```ts
   * import { InvalidStateError, WorkerPool } from "@aio/asyncio";
   * import { assert, assertEquals, assertThrows } from "@std/assert";
   *
   * const jobs = "data:text/javascript,export const echo = (x) => x;";
   * const pool = new WorkerPool({ maxWorkers: 1 });
   * const first = pool.submit(jobs, "echo", "first");
   * const second = pool.submit(jobs, "echo", "second");
   * await pool.shutdown({ cancelFutures: true });
   * assertEquals(await first, "first"); // it was running: it finished
   * assert(second.cancelled()); // it was queued: cancelled
   * assertThrows(() => pool.submit(jobs, "echo", 1), InvalidStateError);
   * ```
   */
  async shutdown(options?: WorkerPoolShutdownOptions): Promise<void> {
    if (options === undefined) options = {};
    const what = "shut down worker pool";
    checkOptions(options, what);
    const { wait = true, cancelFutures = false, signal } = options;
    checkBoolean(wait, "wait", what);
    checkBoolean(cancelFutures, "cancelFutures", what);
    checkSignal(signal, what);
    this.#shutdown = true;
    if (cancelFutures) this.#cancel([...this.#queue]);
    this.#dispatch();
    if (!wait) return;
    try {
      if (!this.#closed()) await park(this.#waiters, signal);
      else throwIfCancelled(signal);
    } catch (e) {
      this.#cancel([...this.#queue, ...[...this.#slots].flatMap((slot) => slot.job ?? [])]);
      throw e;
    }
  }

  /**
   * Shuts the pool down and waits for its jobs: `await using pool = new
   * WorkerPool()`. When the wait is cancelled (the enclosing task is
   * cancelled), the remaining jobs are cancelled and their workers
   * terminated, and disposal completes without adding an error.
   *
   * @returns A promise that resolves when the pool is shut down.
   *
   * @example
   * ```ts
   * import { WorkerPool } from "@aio/asyncio";
   * import { assertEquals } from "@std/assert";
   *
   * const jobs = "data:text/javascript,export const twice = (x) => 2 * x;";
   * {
   *   await using pool = new WorkerPool();
   *   assertEquals(await pool.submit(jobs, "twice", 21), 42);
   * } // shut down here, its workers terminated
   * ```
   */
  async [Symbol.asyncDispose](): Promise<void> {
    try {
      await this.shutdown();
    } catch (e) {
      if (!isCancellation(e)) throw e;
    }
  }

  #closed(): boolean {
    return this.#shutdown && this.#queue.size === 0 && this.#slots.size === 0;
  }

  /** Starts queued jobs on free workers, then tends the idle ones. */
  #dispatch(): void {
    for (const job of this.#queue) {
      let slot = this.#idle.pop();
      if (!slot && this.#slots.size < this.#max) {
        try {
          slot = this.#spawn();
        } catch (e) {
          this.#queue.delete(job);
          this.#settle(job, { ok: false, error: e });
          continue;
        }
      }
      if (!slot) break;
      this.#queue.delete(job);
      this.#start(slot, job);
    }
    for (const slot of [...this.#idle]) {
      if (this.#shutdown) this.#retire(slot);
      else slot.timer ??= setDelay(() => this.#retire(slot), this.#idleTimeout);
    }
    if (this.#waiters.size > 0 && this.#closed()) this.#waiters.resolveAll();
  }

  #spawn(): Slot {
    const worker = new Worker(HOST, { type: "module", name: `${this.#name}-${++this.#spawned}` });
    const slot: Slot = {
      worker,
      cell: new Int32Array(new SharedArrayBuffer(4)),
      job: undefined,
      timer: undefined,
      retiring: false,
    };
    worker.onmessage = (event: MessageEvent<ReplyMessage>) => this.#onReply(slot, event.data);
    worker.onmessageerror = () => {
      const job = slot.job;
      if (!job || !this.#slots.has(slot)) return;
      const error = new DOMException(
        `Cannot receive the result of '${job.name}' from the worker: it could not be deserialized`,
        "DataCloneError",
      );
      this.#finish(slot, job, { ok: false, error }, false);
    };
    // The worker itself failed (e.g. no permission to load it): the worker
    // host catches the errors of jobs.
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      if (!this.#slots.has(slot)) return;
      const error = this.#workerError(event);
      if (slot.job) {
        this.#finish(slot, slot.job, { ok: false, error }, true);
      } else {
        console.error(error);
        this.#retire(slot);
        this.#dispatch();
      }
    };
    this.#slots.add(slot);
    return slot;
  }

  #start(slot: Slot, job: Job): void {
    slot.timer?.clear();
    slot.timer = undefined;
    slot.job = job;
    job.slot = slot;
    const { id, url, name, source, args = [], transfer = [] } = job;
    job.args = job.transfer = undefined;
    try {
      slot.worker.postMessage({ id, url, name, source, args, cancel: slot.cell }, { transfer });
    } catch (e) {
      // Nothing was sent: the worker stays ready for the next job.
      slot.job = job.slot = undefined;
      this.#idle.push(slot);
      this.#settle(job, {
        ok: false,
        error: new DOMException(
          `Cannot send the arguments of '${name}' to a worker: ${(e as Error).message}`,
          "DataCloneError",
        ),
      });
    }
  }

  #onReply(slot: Slot, reply: ReplyMessage): void {
    if (!this.#slots.has(slot)) return;
    const job = slot.job;
    if (job?.id === reply.id) {
      const outcome: Outcome = reply.ok
        ? { ok: true, value: reply.value }
        : { ok: false, error: reviveThrown(reply.error) };
      this.#finish(slot, job, outcome, !reply.ok && reply.fatal);
    } else if (!reply.ok && reply.fatal) {
      // An uncaught error from a job that already ended (a stray timer).
      console.error(
        `Uncaught error in a worker of pool '${this.#name}' after its job ended:`,
        reviveThrown(reply.error),
      );
      if (job) {
        slot.retiring = true; // the next job, already sent, may finish
      } else {
        this.#retire(slot);
        this.#dispatch();
      }
    }
  }

  /** Ends a running job, frees (or retires) its worker and starts the next job. */
  #finish(slot: Slot, job: Job, outcome: Outcome, fatal: boolean): void {
    slot.job = job.slot = undefined;
    if (fatal || slot.retiring) this.#retire(slot);
    else this.#idle.push(slot);
    this.#settle(job, outcome);
    this.#dispatch();
  }

  #settle(job: Job, outcome: Outcome): void {
    job.outcome = outcome;
    job.deliver?.(outcome);
  }

  /**
   * Drops a job whose task is done or cancelled: a queued one leaves the
   * queue, a running one's worker is terminated. Nothing for a finished job.
   */
  #abandon(job: Job): void {
    if (this.#queue.delete(job)) {
      job.args = job.transfer = undefined;
    } else if (job.slot) {
      const slot = job.slot;
      slot.job = job.slot = undefined;
      this.#retire(slot);
    } else {
      return;
    }
    this.#dispatch();
  }

  /** Abandons `jobs` and cancels their tasks, because the pool is shut down. */
  #cancel(jobs: Job[]): void {
    for (const job of jobs) {
      this.#abandon(job);
      job.task.cancel(`Job '${job.name}' was cancelled: worker pool '${this.#name}' shut down`);
    }
  }

  #retire(slot: Slot): void {
    if (!this.#slots.delete(slot)) return;
    slot.timer?.clear();
    slot.timer = undefined;
    const i = this.#idle.indexOf(slot);
    if (i >= 0) this.#idle.splice(i, 1);
    // Tell a job polling `checkCancelled()` to stop: `terminate()` alone
    // cannot interrupt JavaScript that never yields to the event loop.
    Atomics.store(slot.cell, 0, 1);
    slot.worker.terminate();
  }

  #workerError(event: ErrorEvent): Error {
    const message = event.message || "unknown error";
    if (PERMISSION_DENIED.test(message)) {
      return new Deno.errors.NotCapable(
        `Cannot start a worker of pool '${this.#name}': ${message}`,
      );
    }
    const where = event.filename ? ` (at ${event.filename}:${event.lineno}:${event.colno})` : "";
    return new Error(`Worker of pool '${this.#name}' failed: ${message}${where}`);
  }
}

/**
 * Wraps a value so that its buffers are moved, not copied, when it crosses
 * to or from a worker: pass it as an argument of `submit`/`toThread`, or
 * return it from a job function (importing `transfer` from aio in the job's
 * module) to move the result back. Moving is immediate: `transfer` detaches
 * the buffers at once (their `byteLength` becomes 0) and keeps a zero-copy
 * clone of `value` to send, so a marker can be sent once.
 *
 * Without `transferables`, the value itself must be an `ArrayBuffer`, a
 * typed array or a `DataView` (its buffer moves). For anything else (an
 * object holding buffers, a `MessagePort`, a stream), list what moves.
 *
 * @typeParam T The type of the value.
 * @param value The value to send.
 * @param transferables The buffers (ports, streams) inside `value` to move.
 * @returns A marker that `submit` and the workers unwrap.
 * @throws {TypeError} If `transferables` is not an array, or is omitted and
 * `value` is not a buffer or a view of one (a `SharedArrayBuffer` is shared,
 * never moved).
 * @throws {DOMException} `DataCloneError` if an entry cannot be transferred
 * (e.g. a detached buffer).
 *
 * @example Moving a buffer to a worker
 * ```ts
 * import { transfer, WorkerPool } from "@aio/asyncio";
 * import { assertEquals } from "@std/assert";
 *
 * const jobs = "data:text/javascript,export const sum = (bytes) => bytes.reduce((a, b) => a + b, 0);";
 * await using pool = new WorkerPool({ maxWorkers: 1 });
 * const bytes = new Uint8Array([1, 2, 3]);
 * const task = pool.submit(jobs, "sum", transfer(bytes));
 * assertEquals(bytes.byteLength, 0); // moved: detached here at once
 * assertEquals(await task, 6);
 * ```
 */
export function transfer<T>(value: T, transferables?: readonly Transferable[]): Transfer<T> {
  let list: Transferable[];
  if (transferables === undefined) {
    const buffer = value instanceof ArrayBuffer
      ? value
      : ArrayBuffer.isView(value) && value.buffer instanceof ArrayBuffer
      ? value.buffer
      : undefined;
    if (!buffer) {
      throw new TypeError(
        `Cannot transfer ${describe(value)}: only an ArrayBuffer or a view of one moves by ` +
          "itself; name what moves with transfer(value, [buffer, ...])",
      );
    }
    list = [buffer];
  } else if (Array.isArray(transferables)) {
    list = [...transferables];
  } else {
    throw new TypeError(
      `Cannot transfer: 'transferables' must be an array: current value is ${
        describe(transferables)
      }`,
    );
  }
  const [moved, ...movedList] = structuredClone([value, ...list], { transfer: list });
  const marker: Marker & Transfer<T> = {
    [TRANSFER]: true,
    value: moved as T,
    transferables: movedList as Transferable[],
  };
  return marker;
}

/**
 * Runs a job on `pool`, or on the default pool when `pool` is `undefined`:
 * asyncio's `loop.run_in_executor(executor, func, *args)`. Same as
 * `pool.submit(moduleUrl, exportName, ...args)`.
 *
 * @typeParam F The job function's type (inferred when `exportName` is the
 * function).
 * @param pool The pool, or `undefined` for the default one (see
 * {@linkcode toThread}).
 * @param moduleUrl The absolute URL of the module exporting the function.
 * @param exportName The export's name, or the exported function.
 * @param args The arguments: structured-cloneable, or wrapped in `transfer`.
 * @returns A task for the function's result.
 * @throws {TypeError} If `pool` is neither a `WorkerPool` nor `undefined`,
 * or the job is named wrongly (see `WorkerPool.submit`).
 * @throws {InvalidStateError} If the pool is shut down.
 *
 * @example
 * ```ts
 * import { runInExecutor, WorkerPool } from "@aio/asyncio";
 * import { assertEquals } from "@std/assert";
 *
 * const jobs = "data:text/javascript,export const upper = (s) => s.toUpperCase();";
 * await using pool = new WorkerPool({ maxWorkers: 1 });
 * assertEquals(await runInExecutor(pool, jobs, "upper", "hi"), "HI");
 * ```
 */
export function runInExecutor<F extends JobFunction = JobFunction>(
  pool: WorkerPool | undefined,
  moduleUrl: string | URL,
  exportName: string | F,
  ...args: JobArgs<Parameters<F>>
): Task<JobResult<F>> {
  if (pool !== undefined && !(pool instanceof WorkerPool)) {
    throw new TypeError(
      `Cannot run in executor: 'pool' must be a WorkerPool or undefined: current value is ${
        describe(pool)
      }`,
    );
  }
  return (pool ?? defaultExecutor()).submit<F>(moduleUrl, exportName, ...args);
}

/**
 * Runs a job on the default pool, off the event loop: asyncio's
 * `to_thread(func, *args)`. The default pool is created on first use with
 * `navigator.hardwareConcurrency` workers, each stopped after 1 s idle;
 * replace it with {@linkcode setDefaultExecutor} and stop it with
 * {@linkcode shutdownDefaultExecutor} (do so at the end of a test, for the
 * test sanitizers, or of a program, so it exits without waiting for the
 * idle workers to stop).
 *
 * To run a function of the calling module, pass `import.meta.url` and the
 * (exported) function; see the module documentation for the limits.
 * Unlike a Python thread, a cancelled job does stop (see
 * {@linkcode checkCancelled}).
 *
 * @typeParam F The job function's type (inferred when `exportName` is the
 * function).
 * @param moduleUrl The absolute URL of the module exporting the function.
 * @param exportName The export's name, or the exported function.
 * @param args The arguments: structured-cloneable, or wrapped in `transfer`.
 * @returns A task for the function's result; cancelling it stops the job.
 * @throws {TypeError} If the job is named wrongly (see `WorkerPool.submit`).
 *
 * @example
 * ```ts
 * import { createTask, shutdownDefaultExecutor, sleep, toThread } from "@aio/asyncio";
 * import { assert, assertEquals } from "@std/assert";
 *
 * // A blocking function: it would freeze the event loop for ~200 ms.
 * const jobs = "data:text/javascript,export function block(ms) {" +
 *   " const end = Date.now() + ms; while (Date.now() < end); return ms; }";
 *
 * let ticks = 0;
 * const ticker = createTask(async () => {
 *   for (;;) {
 *     await sleep(10);
 *     ticks++;
 *   }
 * });
 * assertEquals(await toThread(jobs, "block", 200), 200);
 * assert(ticks > 0); // the loop kept running meanwhile
 * ticker.cancel();
 * await shutdownDefaultExecutor();
 * ```
 */
export function toThread<F extends JobFunction = JobFunction>(
  moduleUrl: string | URL,
  exportName: string | F,
  ...args: JobArgs<Parameters<F>>
): Task<JobResult<F>> {
  return defaultExecutor().submit<F>(moduleUrl, exportName, ...args);
}

let defaultPool: WorkerPool | undefined;
/** Whether aio made the default pool (and so shuts it down when replaced). */
let ownDefault = false;

function defaultExecutor(): WorkerPool {
  if (!defaultPool) {
    defaultPool = new WorkerPool({ name: "aio-default" });
    ownDefault = true;
  }
  return defaultPool;
}

/**
 * Makes `pool` the default pool of {@linkcode toThread} and
 * `runInExecutor(undefined, ...)`, like asyncio's
 * `loop.set_default_executor`; `undefined` goes back to a pool created on
 * first use. A default pool that aio created is shut down (without waiting)
 * when replaced; one you set stays yours to shut down.
 *
 * @param pool The new default pool, or `undefined`.
 * @throws {TypeError} If `pool` is neither a `WorkerPool` nor `undefined`.
 *
 * @example
 * ```ts
 * import { setDefaultExecutor, toThread, WorkerPool } from "@aio/asyncio";
 * import { assertEquals } from "@std/assert";
 *
 * const jobs = "data:text/javascript,export const who = () => self.name;";
 * await using pool = new WorkerPool({ maxWorkers: 1, name: "mine" });
 * setDefaultExecutor(pool);
 * assertEquals(await toThread(jobs, "who"), "mine-1");
 * setDefaultExecutor(undefined);
 * ```
 */
export function setDefaultExecutor(pool: WorkerPool | undefined): void {
  if (pool !== undefined && !(pool instanceof WorkerPool)) {
    throw new TypeError(
      `Cannot set default executor: 'pool' must be a WorkerPool or undefined: current value is ${
        describe(pool)
      }`,
    );
  }
  if (defaultPool && ownDefault && defaultPool !== pool) void defaultPool.shutdown({ wait: false });
  defaultPool = pool;
  ownDefault = false;
}

/**
 * Shuts down the default pool and waits for its jobs and workers, like
 * asyncio's `loop.shutdown_default_executor()`; the next
 * {@linkcode toThread} starts a new one. Call it at the end of a program or
 * test that used `toThread`.
 *
 * @param options `signal` to stop waiting (the remaining jobs are then
 * cancelled and their workers terminated).
 * @returns A promise that resolves when the pool is shut down.
 *
 * @example
 * ```ts
 * import { shutdownDefaultExecutor, toThread } from "@aio/asyncio";
 * import { assertEquals } from "@std/assert";
 *
 * const jobs = "data:text/javascript,export const len = (s) => s.length;";
 * assertEquals(await toThread(jobs, "len", "four"), 4);
 * await shutdownDefaultExecutor();
 * ```
 */
export async function shutdownDefaultExecutor(
  options?: { signal?: AbortSignal },
): Promise<void> {
  const pool = defaultPool;
  defaultPool = undefined;
  ownDefault = false;
  await pool?.shutdown({ wait: true, signal: options?.signal });
}

/**
 * A cancellation checkpoint for synchronous code, like Trio's
 * `from_thread.check_cancelled()`. Inside a job run by a
 * {@linkcode WorkerPool} (or `toThread`), it throws
 * {@linkcode CancelledError} once the job has been cancelled; call it now
 * and then in long loops so that a cancelled job stops at once and its
 * thread is freed. Anywhere else it throws the current task's cancellation,
 * if any. It costs an atomic load: cheap enough for every iteration of most
 * loops.
 *
 * Why it matters: Deno (2.9) stops a terminated worker only when its code
 * yields to the event loop (an `await`, a timer, the end of the job). A loop
 * that never yields nor calls `checkCancelled()` keeps running on its thread
 * after its job is cancelled and its worker terminated: the pool no longer
 * counts that worker and a fresh one serves the next job, but the thread
 * keeps a CPU busy, and the process alive, until the loop ends.
 *
 * @throws {CancelledError} If the job (or the current task) is cancelled.
 *
 * @example A long loop that stops when its job is cancelled
 * ```ts
 * import { CancelledError, checkCancelled, sleep, WorkerPool } from "@aio/asyncio";
 * import { assertRejects } from "@std/assert";
 *
 * // In a job module:
 * //   export function search(): number {
 * //     for (let i = 0; ; i++) {
 * //       if (i % 1024 === 0) checkCancelled();
 * //       ...
 * //     }
 * //   }
 * const aio = import.meta.resolve("@aio/asyncio");
 * const jobs = "data:text/javascript," + encodeURIComponent(
 *   `import { checkCancelled } from "${aio}";
 *    export function search() { for (let i = 0; ; i++) if (i % 1024 === 0) checkCancelled(); }`,
 * );
 * await using pool = new WorkerPool({ maxWorkers: 1 });
 * const job = pool.submit(jobs, "search");
 * await sleep(100);
 * job.cancel(); // the loop throws at its next check; the worker stops
 * await assertRejects(() => Promise.resolve(job), CancelledError);
 * checkCancelled(); // not in a job nor a cancelled task: returns
 * ```
 */
export function checkCancelled(): void {
  const cell = (globalThis as Record<symbol, unknown>)[CANCEL_CELL];
  if (cell instanceof Int32Array && Atomics.load(cell, 0) !== 0) {
    throw new CancelledError("The job was cancelled");
  }
  throwIfCancelled();
}

function checkModuleUrl(moduleUrl: unknown): string {
  if (moduleUrl instanceof URL) return moduleUrl.href;
  if (typeof moduleUrl !== "string") {
    throw new TypeError(
      `Cannot submit a job: 'moduleUrl' must be a string or URL: current value is ${
        describe(moduleUrl)
      }`,
    );
  }
  if (!URL.canParse(moduleUrl)) {
    throw new TypeError(
      `Cannot submit a job: 'moduleUrl' must be an absolute URL (import.meta.url, ` +
        `new URL("./jobs.ts", import.meta.url)): current value is ${describe(moduleUrl)}`,
    );
  }
  return new URL(moduleUrl).href;
}

function checkExportName(exportName: unknown): string {
  if (typeof exportName === "string") {
    if (exportName !== "") return exportName;
  } else if (typeof exportName === "function") {
    const name = exportName.name;
    if (typeof name === "string" && name !== "" && !name.startsWith("bound ")) return name;
    throw new TypeError(
      `Cannot submit a job: the function given as 'exportName' has no usable name ` +
        `(current value is ${describe(name)}): pass the name it is exported under`,
    );
  }
  throw new TypeError(
    `Cannot submit a job: 'exportName' must be a non-empty string or an exported function: ` +
      `current value is ${describe(exportName)}`,
  );
}
