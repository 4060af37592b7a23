import {
  assert,
  assertEquals,
  assertFalse,
  assertInstanceOf,
  assertMatch,
  assertRejects,
  assertStrictEquals,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { stub } from "@std/testing/mock";
import {
  CancelledError,
  checkCancelled,
  createTask,
  InvalidStateError,
  isCancellation,
  runInExecutor,
  setDefaultExecutor,
  shutdownDefaultExecutor,
  sleep,
  Task,
  time,
  timeout,
  TimeoutError,
  toThread,
  transfer,
  WorkerPool,
} from "../mod.ts";
import { runDeno, type RunResult } from "./_run.ts";
import { until } from "./_settle.ts";
import * as jobs from "./fixtures/workers/jobs.ts";
import {
  runNotExported,
  runShadowed,
  squareInWorker,
  squareOn,
} from "./fixtures/workers/same_module.ts";

const JOBS = new URL("./fixtures/workers/jobs.ts", import.meta.url);
const FIXTURES = new URL("./fixtures/workers/", import.meta.url);
const { ACTIVE, COUNTERS, EXITED, GATE, MAX_ACTIVE, SPINS, STARTED } = jobs;

/** How many workers were started, are alive (not terminated), were alive at most. */
interface WorkerCount extends Disposable {
  started: number;
  live: number;
  maxLive: number;
}

/**
 * Counts workers by wrapping the global `Worker` that the pool constructs,
 * until disposed. Deno's sanitizers do not see a live worker; this does.
 */
function countWorkers(): WorkerCount {
  const Original = globalThis.Worker;
  const count: WorkerCount = {
    started: 0,
    live: 0,
    maxLive: 0,
    [Symbol.dispose]: () => void (globalThis.Worker = Original),
  };
  globalThis.Worker = class extends Original {
    #terminated = false;
    constructor(...args: ConstructorParameters<typeof Worker>) {
      super(...args);
      count.started++;
      count.maxLive = Math.max(count.maxLive, ++count.live);
    }
    override terminate(): void {
      if (!this.#terminated) count.live--;
      this.#terminated = true;
      super.terminate();
    }
  };
  return count;
}

/** The counter arrays made by the running test. */
let made: Int32Array[] = [];

function counters(): Int32Array {
  const c = new Int32Array(new SharedArrayBuffer(COUNTERS * 4));
  made.push(c);
  return c;
}

function openGate(c: Int32Array): void {
  Atomics.store(c, GATE, 1);
  Atomics.notify(c, GATE);
}

/**
 * A test that must leave no worker alive. Should it fail while jobs wait
 * for a gate or spin, a watchdog opens the gates after 30 s so that the
 * pool's disposal, hence the test, still ends; they are opened at the end
 * in any case.
 */
function poolTest(name: string, fn: (workers: WorkerCount) => Promise<void>): void {
  Deno.test(name, async () => {
    made = [];
    using workers = countWorkers();
    const watchdog = setTimeout(() => made.forEach(openGate), 30_000);
    try {
      await fn(workers);
    } finally {
      clearTimeout(watchdog);
      made.forEach(openGate); // ends a loop left spinning by a failure
    }
    assertEquals(workers.live, 0, "a worker was left alive");
  });
}

const started = (c: Int32Array, n = 1) => () => Atomics.load(c, STARTED) === n;

/** Runs a fixture program with `flags`; kills it if it has not ended after 60 s. */
function runFixture(file: string, flags: string[]): Promise<RunResult> {
  return runDeno(["--no-prompt", ...flags, new URL(file, FIXTURES).pathname], 60_000);
}

poolTest("submit returns a task for the result of sync and async exports", async () => {
  await using pool = new WorkerPool({ maxWorkers: 2 });
  const sync = pool.submit<typeof jobs.add>(JOBS, "add", 1, 2);
  const later = pool.submit<typeof jobs.addLater>(JOBS.href, "addLater", 20, 22);
  assertInstanceOf(sync, Task);
  assertEquals(await sync, 3);
  assertEquals(await later, 42);
  assert(sync.done());
  assertEquals(sync.result(), 3);
  assertEquals(sync.name, "add");
  // A function reference names the export and types the call.
  const typed: number = await pool.submit(JOBS, jobs.add, 5, 6);
  assertEquals(typed, 11);
});

poolTest("a job can run a function of the calling module", async () => {
  await using pool = new WorkerPool({ maxWorkers: 1 });
  assertEquals(await squareOn(pool, 7), 49);
  await assertRejects(
    () => runNotExported(pool),
    TypeError,
    "the module has no export named 'notExported'",
  );
  // `local.negate` is named like the module's export `negate`, which is
  // another function: the worker refuses to run the wrong one.
  await assertRejects(
    () => runShadowed(pool),
    TypeError,
    "the function submitted is not the one the module exports as 'negate'",
  );
});

Deno.test("a job module whose top level submits jobs fails instead of recursing", async () => {
  const { code, stdout, stderr } = await runFixture("unguarded.ts", ["--allow-read"]);
  assertEquals(code, 1, stdout);
  // Evaluated once in the program and once in the worker, never deeper.
  assertEquals(stdout.match(/evaluated in .*/g), [
    "evaluated in main",
    "evaluated in aio-default-1",
  ]);
  assertStringIncludes(stderr, "InvalidStateError: Cannot submit 'square' while a worker imports");
  assertStringIncludes(stderr, "unguarded.ts: its top level runs in every worker");
});

poolTest("errors arrive with class, message and the worker's stack", async () => {
  await using pool = new WorkerPool({ maxWorkers: 1 });
  const error = await assertRejects(
    () => Promise.resolve(pool.submit(JOBS, "fail", "bad input 42")),
    RangeError,
    "bad input 42",
  );
  assertEquals(error.name, "RangeError");
  assertMatch(error.stack!, /^RangeError: bad input 42\n/);
  assertMatch(error.stack!, /at fail \(.*fixtures\/workers\/jobs\.ts:\d+:\d+\)/);

  const late = await assertRejects(
    () => Promise.resolve(pool.submit(JOBS, "failLater", "async failure")),
    TypeError,
    "async failure",
  );
  assertStringIncludes(late.stack!, "jobs.ts");
});

poolTest("custom, aggregate, Deno and non-error throws keep what they can", async () => {
  await using pool = new WorkerPool({ maxWorkers: 1 });
  const custom = await pool.submit(JOBS, "failCustom").then(
    () => null,
    (e) => e as Error & { field?: string; code?: number },
  );
  assertInstanceOf(custom, Error);
  assertEquals(custom.name, "ValidationError");
  assertEquals(custom.message, "age must be positive");
  assertEquals(custom.field, "age");
  assertEquals(custom.code, 422);
  assertMatch(custom.stack!, /^ValidationError: age must be positive\n.*at failCustom /s);
  assertInstanceOf(custom.cause, Error);
  assertEquals(custom.cause.message, "got -1");

  const aggregate = await pool.submit(JOBS, "failAggregate").then(() => null, (e) => e);
  assertInstanceOf(aggregate, AggregateError);
  assertEquals(aggregate.message, "both failed");
  assertInstanceOf(aggregate.errors[0], TypeError);
  assertInstanceOf(aggregate.errors[1], RangeError);
  assertEquals(aggregate.errors[1].message, "second");

  await assertRejects(
    () => Promise.resolve(pool.submit(JOBS, "failNotFound")),
    Deno.errors.NotFound,
  );

  const thrown = await pool.submit(JOBS, "throwString").then(() => null, (e) => e);
  assertStrictEquals(thrown, "just a string");
});

poolTest("bad jobs fail their task and the pool carries on", async () => {
  await using pool = new WorkerPool({ maxWorkers: 1 });
  await assertRejects(
    () => Promise.resolve(pool.submit(JOBS, "nope")),
    TypeError,
    `Cannot run 'nope' from ${JOBS.href}: the module has no export named 'nope'`,
  );
  await assertRejects(
    () => Promise.resolve(pool.submit(JOBS, "notAFunction")),
    TypeError,
    "the export is a number, not a function",
  );
  await assertRejects(
    () => Promise.resolve(pool.submit(new URL("./no_such_module.ts", JOBS), "f")),
    Error,
    "no_such_module.ts",
  );
  const unsendable = await pool.submit(JOBS, "add", () => 1, 2).then(() => null, (e) => e);
  assertInstanceOf(unsendable, DOMException);
  assertEquals(unsendable.name, "DataCloneError");
  assertStringIncludes(unsendable.message, "Cannot send the arguments of 'add' to a worker");
  const unreturnable = await pool.submit(JOBS, "returnFunction").then(() => null, (e) => e);
  assertInstanceOf(unreturnable, DOMException);
  assertEquals(unreturnable.name, "DataCloneError");
  assertStringIncludes(unreturnable.message, "Cannot send the result of 'returnFunction' back");
  assertEquals(await pool.submit(JOBS, "add", 1, 1), 2);
});

Deno.test("a worker that cannot be created fails the job, not submit", async () => {
  const error = new Error("no workers here");
  using _ = stub(globalThis, "Worker", () => {
    throw error;
  });
  await using pool = new WorkerPool({ maxWorkers: 1 });
  const job = pool.submit(JOBS, "add", 1, 2);
  assertStrictEquals(await job.then(() => null, (e) => e), error);
});

poolTest("an uncaught error in a worker fails its job and the worker is replaced", async () => {
  await using pool = new WorkerPool({ maxWorkers: 1, name: "crashy" });
  assertEquals(await pool.submit(JOBS, "whoami"), "crashy-1");
  const crash = await pool.submit(JOBS, "crash").then(() => null, (e) => e);
  assertInstanceOf(crash, EvalError);
  assertEquals(crash.message, "thrown from a timer");
  assertStringIncludes(crash.stack, "jobs.ts");
  assertEquals(await pool.submit(JOBS, "whoami"), "crashy-2");

  await assertRejects(
    () => Promise.resolve(pool.submit(JOBS, "rejectUnhandled")),
    URIError,
    "nobody handles me",
  );
  assertEquals(await pool.submit(JOBS, "whoami"), "crashy-3");
});

poolTest("an uncaught error after a job ended is reported and the worker retired", async () => {
  using errors = stub(console, "error");
  await using pool = new WorkerPool({ maxWorkers: 1, name: "late" });
  assertEquals(await pool.submit(JOBS, "crashAfter", 20), "done");
  await until(() => errors.calls.length > 0, "the late error is reported");
  assertStringIncludes(String(errors.calls[0].args[0]), "after its job ended");
  assertEquals((errors.calls[0].args[1] as Error).message, "thrown after the job ended");
  assertEquals(await pool.submit(JOBS, "whoami"), "late-2");
});

poolTest("cancelling a busy loop that polls checkCancelled() stops it", async (workers) => {
  const c = counters();
  await using pool = new WorkerPool({ maxWorkers: 1, name: "busy" });
  const busy = pool.submit(JOBS, "spin", c);
  await until(() => Atomics.load(c, SPINS) > 1_000, "the loop spins");
  assert(busy.cancel("enough"));
  await assertRejects(() => Promise.resolve(busy), CancelledError, "enough");
  assert(busy.cancelled());
  // The loop itself ended (its `finally` ran) and its worker was terminated.
  await until(() => Atomics.load(c, EXITED) === 1, "the loop ends");
  assertEquals(workers.live, 0);
  assertEquals(await pool.submit(JOBS, "whoami"), "busy-2");
});

poolTest("cancelling a job that yields to the event loop terminates its worker", async (w) => {
  const c = counters();
  await using pool = new WorkerPool({ maxWorkers: 1, name: "ticking" });
  const ticking = pool.submit(JOBS, "tickForever", c);
  await until(() => Atomics.load(c, SPINS) > 10, "the job ticks");
  ticking.cancel();
  await assertRejects(() => Promise.resolve(ticking), CancelledError);
  assertEquals(w.live, 0);
  // Its interval stops: the count settles.
  let last = -1;
  await until(() => {
    const [before, now] = [last, last = Atomics.load(c, SPINS)];
    return now === before;
  }, "the ticking stops");
  assertEquals(await pool.submit(JOBS, "whoami"), "ticking-2");
});

Deno.test("a loop that never yields: its task is cancelled, the pool serves on", async () => {
  // In a subprocess: Deno cannot interrupt such a loop, whose thread then
  // lives until the process exits (as `checkCancelled`'s documentation says).
  const { code, stdout, stderr } = await runFixture("stuck_probe.ts", ["--allow-read"]);
  assertEquals(code, 0, stderr);
  assertStringIncludes(stdout, "cancelled job: CancelledError, cancelled() = true");
  assertStringIncludes(stdout, "next job ran on: stuck-2");
  assertStringIncludes(stdout, "the stuck loop still runs: true");
});

Deno.test("checkCancelled() outside a job checks the current task", async () => {
  checkCancelled();
  const task = createTask(async () => {
    checkCancelled();
    await sleep(60_000).catch(() => {});
    checkCancelled();
  });
  await sleep(1);
  task.cancel("stop");
  await assertRejects(() => Promise.resolve(task), CancelledError, "stop");
});

poolTest("cancelling a queued job drops it: it never starts", async () => {
  const c = counters();
  await using pool = new WorkerPool({ maxWorkers: 1 });
  const first = pool.submit(JOBS, "waitForGate", c, "first");
  const queued = pool.submit(JOBS, "waitForGate", c, "queued");
  const last = pool.submit(JOBS, "add", 2, 3);
  await until(started(c), "the first job starts");
  queued.cancel();
  openGate(c);
  assertEquals(await first, "first");
  assertEquals(await last, 5);
  assert(queued.cancelled());
  assertEquals(Atomics.load(c, STARTED), 1);
});

poolTest("a job cancelled before its task's function starts is stopped too", async (w) => {
  await using pool = new WorkerPool({ maxWorkers: 1 });
  const c = counters();
  const job = pool.submit(JOBS, "spin", c); // already sent to a new worker
  job.cancel(); // before the task's function ever ran
  await assertRejects(() => Promise.resolve(job), CancelledError);
  await until(() => w.live === 0, "its worker is terminated");
  assertEquals(await pool.submit(JOBS, "add", 1, 2), 3);
});

poolTest("cancelling the task that awaits a job stops the job (ambient cancellation)", async () => {
  const c = counters();
  await using pool = new WorkerPool({ maxWorkers: 1 });
  let job: Task<unknown> | undefined;
  const outer = createTask(async () => {
    job = pool.submit(JOBS, "spin", c);
    await job;
  });
  await until(started(c), "the job starts");
  outer.cancel();
  await assertRejects(() => Promise.resolve(outer), CancelledError);
  assert(job!.cancelled());
  await until(() => Atomics.load(c, EXITED) === 1, "the loop ends");
  assertEquals(await pool.submit(JOBS, "add", 1, 2), 3);
});

poolTest("a timeout around a job stops it", async () => {
  const c = counters();
  await using pool = new WorkerPool({ maxWorkers: 1 });
  await assertRejects(
    () =>
      timeout(60_000, async (_signal, deadline) => {
        const job = pool.submit(JOBS, "spin", c);
        await until(started(c), "the job starts");
        deadline.reschedule(time()); // expire now, while the job spins
        await job;
      }),
    TimeoutError,
  );
  await until(() => Atomics.load(c, EXITED) === 1, "the loop ends");
});

poolTest("at most maxWorkers jobs run at once, over 100 submissions", async (workers) => {
  const c = counters();
  await using pool = new WorkerPool({ maxWorkers: 3 });
  const tasks = Array.from({ length: 100 }, () => pool.submit(JOBS, jobs.track, c, 2));
  assertEquals(workers.started, 3, "three workers start at once, no more");
  const seen = await Promise.all(tasks);
  assertEquals(Atomics.load(c, STARTED), 100);
  assertEquals(Atomics.load(c, ACTIVE), 0);
  const max = Atomics.load(c, MAX_ACTIVE);
  assert(max >= 1 && max <= 3, `max concurrent jobs: ${max}`);
  assert(seen.every((n) => n >= 1 && n <= 3));
  assertEquals(workers.maxLive, 3);
  assertEquals(workers.started, 3, "workers were reused, not restarted");
});

poolTest("maxWorkers jobs do run at the same time", async () => {
  const c = counters();
  await using pool = new WorkerPool({ maxWorkers: 3 });
  const tasks = [1, 2, 3].map((n) => pool.submit(JOBS, "waitForGate", c, `job ${n}`));
  // All three are running together: none can finish before the gate opens.
  await until(started(c, 3), "three jobs run");
  openGate(c);
  assertEquals(await Promise.all(tasks), ["job 1", "job 2", "job 3"]);
});

poolTest("a job beyond maxWorkers waits for a free worker", async (workers) => {
  const c = counters();
  await using pool = new WorkerPool({ maxWorkers: 2 });
  const a = pool.submit(JOBS, "waitForGate", c, "a");
  const b = pool.submit(JOBS, "waitForGate", c, "b");
  const third = pool.submit(JOBS, "add", 1, 2);
  await until(started(c, 2), "two jobs run");
  // No third worker was started for it: it waits in the queue.
  assertEquals(workers.started, 2);
  assertFalse(third.done());
  openGate(c);
  assertEquals(await Promise.all([a, b, third]), ["a", "b", 3]);
  assertEquals(workers.started, 2, "it ran on a worker freed by the others");
});

poolTest("shutdown() waits for running jobs, then stops the workers", async (workers) => {
  const c = counters();
  const pool = new WorkerPool({ maxWorkers: 2 });
  const job = pool.submit(JOBS, "waitForGate", c, "finished");
  await until(started(c), "the job starts");
  let shut = false;
  const shutdown = pool.shutdown().then(() => shut = true);
  await sleep(20);
  assertFalse(shut, "shutdown did not wait for the running job");
  assertFalse(job.done());
  assertEquals(workers.live, 1);
  openGate(c);
  await shutdown;
  assertEquals(job.result(), "finished");
  assertEquals(workers.live, 0);
});

poolTest("shutdown({ cancelFutures }) cancels queued jobs; running ones finish", async () => {
  const c = counters();
  const pool = new WorkerPool({ maxWorkers: 1 });
  const running = pool.submit(JOBS, "waitForGate", c, "ran");
  const queued = [pool.submit(JOBS, "add", 1, 2), pool.submit(JOBS, "waitForGate", c, "no")];
  await until(started(c), "the first job starts");
  await pool.shutdown({ wait: false, cancelFutures: true });
  for (const task of queued) {
    await assertRejects(() => Promise.resolve(task), CancelledError, "shut down");
  }
  openGate(c);
  assertEquals(await running, "ran");
  await pool.shutdown();
  assertEquals(Atomics.load(c, STARTED), 1);
});

poolTest("shutdown({ wait: false }) returns at once; queued jobs still run", async (workers) => {
  const c = counters();
  const pool = new WorkerPool({ maxWorkers: 1 });
  const running = pool.submit(JOBS, "waitForGate", c, "first");
  const queued = pool.submit(JOBS, "add", 4, 5);
  await pool.shutdown({ wait: false });
  assertFalse(running.done());
  openGate(c);
  assertEquals(await running, "first");
  assertEquals(await queued, 9);
  assertEquals(workers.live, 0, "the last worker stops with the last job");
  await pool.shutdown(); // again: nothing left to wait for
});

poolTest("submit after shutdown throws InvalidStateError", async () => {
  const pool = new WorkerPool();
  await pool.shutdown();
  assertThrows(
    () => pool.submit(JOBS, "add", 1, 2),
    InvalidStateError,
    "Cannot submit 'add': worker pool",
  );
  assertThrows(() => runInExecutor(pool, JOBS, "add", 1, 2), InvalidStateError);
});

poolTest("a cancelled shutdown wait cancels the remaining jobs and stops the workers", async () => {
  const c = counters();
  const pool = new WorkerPool({ maxWorkers: 1 });
  const busy = pool.submit(JOBS, "spin", c);
  const queued = pool.submit(JOBS, "add", 1, 2);
  await until(started(c), "the job starts");
  const controller = new AbortController();
  const shutdown = pool.shutdown({ signal: controller.signal });
  controller.abort(new Error("no more waiting"));
  await assertRejects(() => shutdown, Error, "no more waiting");
  await assertRejects(() => Promise.resolve(busy), CancelledError, "shut down");
  await assertRejects(() => Promise.resolve(queued), CancelledError, "shut down");
  await until(() => Atomics.load(c, EXITED) === 1, "the loop ends");
});

poolTest("await using shuts the pool down; in a cancelled task it stops the jobs", async (w) => {
  {
    await using pool = new WorkerPool({ maxWorkers: 2 });
    assertEquals(await pool.submit(JOBS, "add", 1, 2), 3);
    assertEquals(w.live, 1);
  }
  assertEquals(w.live, 0);

  const c = counters();
  const outer = createTask(async () => {
    await using pool = new WorkerPool({ maxWorkers: 1 });
    await pool.submit(JOBS, "spin", c);
  });
  await until(started(c), "the job starts");
  outer.cancel();
  const error = await Promise.resolve(outer).then(() => null, (e) => e);
  assert(isCancellation(error), `not a cancellation: ${error}`);
  assert(outer.cancelled());
  await until(() => Atomics.load(c, EXITED) === 1, "the loop ends");
});

poolTest("transfer() moves a buffer: detached in the caller at once", async () => {
  await using pool = new WorkerPool({ maxWorkers: 1 });
  const bytes = new Uint8Array([1, 2, 3, 4]);
  const task = pool.submit(JOBS, "sum", transfer(bytes));
  assertEquals(bytes.byteLength, 0);
  assert(bytes.buffer.detached);
  assertEquals(await task, 10);

  const buffer = new ArrayBuffer(8);
  const whole = pool.submit(JOBS, "sum", transfer(new Uint8Array(buffer)));
  assert(buffer.detached);
  assertEquals(await whole, 0);

  const a = new Uint8Array(3);
  const b = new ArrayBuffer(5);
  const parts = pool.submit(JOBS, "sizes", transfer({ a, b }, [a.buffer, b]));
  assert(a.buffer.detached && b.detached);
  assertEquals(await parts, [3, 5]);
});

poolTest("without transfer() arguments are copied", async () => {
  await using pool = new WorkerPool({ maxWorkers: 1 });
  const bytes = new Uint8Array([5, 6, 7]);
  assertEquals(await pool.submit(JOBS, "scribble", bytes), 3);
  assertFalse(bytes.buffer.detached);
  assertEquals(bytes, new Uint8Array([5, 6, 7]));
});

poolTest("a job returning transfer() moves its result back", async () => {
  await using pool = new WorkerPool({ maxWorkers: 1 });
  const moved: Uint8Array = await pool.submit(JOBS, jobs.makeMoved, 16);
  assertEquals(moved, new Uint8Array(16).fill(7));
  assertEquals(await pool.submit(JOBS, "keptSize"), 0, "the worker's buffer is detached");
  const copied = await pool.submit(JOBS, jobs.makeCopied, 16);
  assertEquals(copied, new Uint8Array(16).fill(7));
  assertEquals(await pool.submit(JOBS, "keptSize"), 16, "the worker kept its copy");
});

poolTest("transfer() rejects what cannot be moved", async () => {
  assertThrows(
    () => transfer({ x: 1 }),
    TypeError,
    "Cannot transfer an instance of Object: only an ArrayBuffer or a view of one moves by itself",
  );
  assertThrows(
    () => transfer(new SharedArrayBuffer(8)),
    TypeError,
    "an instance of SharedArrayBuffer",
  );
  assertThrows(
    () => transfer(new Int32Array(new SharedArrayBuffer(8))),
    TypeError,
    "Cannot transfer an instance of Int32Array",
  );
  // @ts-expect-error: testing bad input
  assertThrows(() => transfer(new ArrayBuffer(1), "buf"), TypeError, "must be an array");
  const buffer = new ArrayBuffer(4);
  transfer(buffer);
  assertThrows(() => transfer(buffer), DOMException, "detached");

  // A marker moves once: sending it again fails that job only.
  await using pool = new WorkerPool({ maxWorkers: 1 });
  const marker = transfer(new Uint8Array([1]));
  assertEquals(await pool.submit(JOBS, "sum", marker), 1);
  const again = await pool.submit(JOBS, "sum", marker).then(() => null, (e) => e as Error);
  assertEquals(again?.name, "DataCloneError");
  assertEquals(await pool.submit(JOBS, "add", 1, 2), 3);
});

poolTest("idle workers stop after idleTimeout; later jobs start fresh ones", async (w) => {
  await using pool = new WorkerPool({ maxWorkers: 2, idleTimeout: 10, name: "idle" });
  assertEquals(await pool.submit(JOBS, "whoami"), "idle-1");
  await until(() => w.live === 0, "the idle worker stops");
  assertEquals(await pool.submit(JOBS, "whoami"), "idle-2");
});

poolTest("toThread and runInExecutor(undefined) use the default pool", async (workers) => {
  assertMatch(await toThread(JOBS, "whoami"), /^aio-default-\d+$/);
  assertMatch(await runInExecutor(undefined, JOBS, "whoami"), /^aio-default-\d+$/);
  assertEquals(await squareInWorker(9), 81);
  assert(workers.live > 0);
  await shutdownDefaultExecutor();
  assertEquals(workers.live, 0);
  // A new default pool is made on next use.
  assertEquals(await toThread(JOBS, jobs.add, 1, 2), 3);
  await shutdownDefaultExecutor();
  await shutdownDefaultExecutor(); // nothing to shut down: fine
});

poolTest("setDefaultExecutor replaces the default pool", async (workers) => {
  assertEquals(await toThread(JOBS, "add", 1, 2), 3);
  assertEquals(workers.live, 1);
  await using mine = new WorkerPool({ maxWorkers: 1, name: "mine" });
  setDefaultExecutor(mine);
  assertEquals(workers.live, 0, "the replaced default pool, made by aio, is shut down");
  assertEquals(await toThread(JOBS, "whoami"), "mine-1");
  assertEquals(await runInExecutor(mine, JOBS, "whoami"), "mine-1");
  setDefaultExecutor(undefined);
  assertMatch(await toThread(JOBS, "whoami"), /^aio-default-\d+$/);
  await shutdownDefaultExecutor();
  // @ts-expect-error: testing bad input
  assertThrows(() => setDefaultExecutor({}), TypeError, "must be a WorkerPool or undefined");
  assertThrows(
    // @ts-expect-error: testing bad input
    () => runInExecutor("pool", JOBS, "add"),
    TypeError,
    "'pool' must be a WorkerPool or undefined: current value is \"pool\"",
  );
});

poolTest("bad arguments are rejected with errors naming the value", async () => {
  assertThrows(
    () => new WorkerPool({ maxWorkers: 0 }),
    RangeError,
    "'maxWorkers' must be an integer >= 1: current value is 0",
  );
  assertThrows(
    () => new WorkerPool({ maxWorkers: 1.5 }),
    RangeError,
    "current value is 1.5",
  );
  assertThrows(
    // @ts-expect-error: testing bad input
    () => new WorkerPool({ maxWorkers: "2" }),
    TypeError,
    "'maxWorkers' must be a number: current value is \"2\"",
  );
  assertThrows(
    () => new WorkerPool({ idleTimeout: -1 }),
    RangeError,
    "'idleTimeout' must be a non-negative number of milliseconds: current value is -1",
  );
  assertThrows(() => new WorkerPool({ idleTimeout: NaN }), RangeError, "current value is NaN");
  // @ts-expect-error: testing bad input
  assertThrows(() => new WorkerPool(null), TypeError, "'options' must be an object");

  await using pool = new WorkerPool({ maxWorkers: 1 });
  assertThrows(
    () => pool.submit("./jobs.ts", "add"),
    TypeError,
    '\'moduleUrl\' must be an absolute URL (import.meta.url, new URL("./jobs.ts", import.meta.url)): current value is "./jobs.ts"',
  );
  assertThrows(
    // @ts-expect-error: testing bad input
    () => pool.submit(42, "add"),
    TypeError,
    "'moduleUrl' must be a string or URL: current value is 42",
  );
  assertThrows(() => pool.submit(JOBS, ""), TypeError, 'current value is ""');
  assertThrows(
    // @ts-expect-error: testing bad input
    () => pool.submit(JOBS, 42),
    TypeError,
    "'exportName' must be a non-empty string or an exported function: current value is 42",
  );
  assertThrows(() => pool.submit(JOBS, () => 1), TypeError, "has no usable name");
  assertThrows(() => pool.submit(JOBS, jobs.add.bind(null), 1, 2), TypeError, '"bound add"');
  await assertRejects(
    // @ts-expect-error: testing bad input
    () => pool.shutdown({ wait: "yes" }),
    TypeError,
    "'wait' must be a boolean: current value is \"yes\"",
  );
  await assertRejects(
    // @ts-expect-error: testing bad input
    () => pool.shutdown({ signal: "stop" }),
    TypeError,
    "'signal' must be an AbortSignal",
  );
});

Deno.test("workers need read access to local modules", async () => {
  const probe = "permission_probe.ts";
  const src = new URL("../src/", import.meta.url).pathname;
  const none = await runFixture(probe, []);
  assertEquals(none.code, 0, none.stderr);
  assertStringIncludes(
    none.stdout,
    "NotCapable: Cannot start a worker of pool 'aio-default': Requires read access to",
  );
  assertStringIncludes(none.stdout, "_worker_host.ts");
  // Allowed to read aio but not the job module: the job fails, not the worker.
  const partial = await runFixture(probe, [`--allow-read=${src}`]);
  assertEquals(partial.code, 0, partial.stderr);
  assertStringIncludes(partial.stdout, "NotCapable: Cannot import file://");
  assertStringIncludes(partial.stdout, "jobs.ts in a worker: Requires read access to");
  const all = await runFixture(probe, ["--allow-read"]);
  assertEquals(all.code, 0, all.stderr);
  assertEquals(all.stdout.trim(), "3");
});
