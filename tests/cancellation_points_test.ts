/**
 * Cancellation at every suspension point, as Trio tests its checkpoints.
 *
 * Each scenario builds a small world (a reader fed step by step, a writer
 * over a target whose writes complete step by step, a queue, a lock, a
 * group...), starts one operation in it and drives the world through its
 * steps. The harness cancels the operation after `k` scheduler turns (one
 * turn is one microtask of the driver; the world takes its next step every
 * {@linkcode TURNS_PER_STEP} turns), for k = 0, 1, 2, ... until the
 * operation completes before the cancel arrives. So the cancel lands at
 * every place the operation can be parked, and in every gap between a
 * wake-up and the resumption it causes, where lost wake-ups hide.
 *
 * Two ways to cancel: `task.cancel()` on the task running the operation
 * (the ambient signal), and an explicit `AbortSignal` passed to it.
 *
 * After each run: the operation either completed or rejected with the
 * cancellation; the scenario's own invariants hold (no byte, item or permit
 * lost or duplicated); no task the run created is still alive; and Deno's
 * sanitizers find no leaked op or resource.
 *
 * @module
 */

import { assert, assertEquals, assertFalse, assertStrictEquals } from "@std/assert";
import {
  allTasks,
  BoundedSemaphore,
  CancelledError,
  Condition,
  createTask,
  Event,
  isCancellation,
  LifoQueue,
  Lock,
  PriorityQueue,
  Queue,
  QueueEmpty,
  QueueFull,
  StreamReader,
  type StreamReaderSource,
  StreamWriter,
  type Task,
  TaskGroup,
} from "../mod.ts";
import { bytes, concat, str } from "./_bytes.ts";

/** Driver turns between two steps of the world. */
const TURNS_PER_STEP = 8;
/** The most k explored for one operation: a run that needs more is a hang. */
const MAX_K = 2000;

type Mode = "task.cancel()" | "signal";
const BOTH: Mode[] = ["task.cancel()", "signal"];

/** One run of a scenario: the operation, the world's steps and the invariants. */
interface World {
  /** The operation under test; `signal` is given in the "signal" mode. */
  op(signal: AbortSignal | undefined): Promise<void>;
  /** What the world does, one action per step (feed data, release, notify...). */
  steps: (() => void)[];
  /**
   * The invariants, once the operation settled and every step ran.
   * `completed`: the operation returned normally.
   */
  check(completed: boolean): void | Promise<void>;
  /**
   * What must hold whenever the world is quiet (before each step, once the
   * previous one had its turns): e.g. nobody waits for a lock that is free.
   * This is where a lost wake-up shows.
   */
  quiet?(): void;
  /**
   * Called once, as soon as the operation has settled, before the world's
   * next step: e.g. a new read must be possible at once after a cancelled one.
   */
  afterOp?(): void;
}

interface Scenario {
  name: string;
  modes?: Mode[];
  make(): World;
}

/** How the runs of one (scenario, mode) went. */
interface Tally {
  cases: number;
  cancelled: number;
}

const macrotask = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** Runs `world` once, cancelling after `k` turns; returns whether the cancel came first. */
async function runOnce(scenario: Scenario, mode: Mode, k: number): Promise<boolean> {
  const before = new Set(allTasks());
  const world = scenario.make();
  const controller = new AbortController();
  let settled = false;
  let completed = false;
  let failure: unknown = undefined;
  const body = async (signal: AbortSignal | undefined) => {
    try {
      await world.op(signal);
      completed = true;
    } catch (e) {
      failure = e;
      throw e;
    } finally {
      settled = true;
    }
  };
  let task: Task<void> | undefined;
  let direct: Promise<void> | undefined;
  if (mode === "task.cancel()") {
    task = createTask(() => body(undefined), { name: `${scenario.name} k=${k}` });
  } else {
    direct = body(controller.signal);
    direct.catch(() => {}); // examined below
  }
  const finished = () => settled || (task?.done() ?? false);
  let turn = 0;
  let cancelled = false;
  const next = async () => {
    if (turn++ === k && !finished()) {
      cancelled = true;
      if (task) task.cancel("cancelled by the harness");
      else controller.abort(new CancelledError("aborted by the harness"));
    }
    await Promise.resolve();
  };
  const where = `${scenario.name} [${mode}] k=${k}`;
  let after = false;
  const between = () => {
    if (!after && finished()) {
      after = true;
      world.afterOp?.();
    }
    try {
      world.quiet?.();
    } catch (e) {
      throw new Error(`${where}, before step ${s}: ${e instanceof Error ? e.message : e}`, {
        cause: e,
      });
    }
  };
  let s = 0;
  for (; s <= world.steps.length; s++) {
    for (let t = 0; t < TURNS_PER_STEP; t++) await next();
    if (cancelled) {
      // Cancellation is prompt: the operation ends without the world
      // taking another step.
      for (let i = 0; i < 20 && !finished(); i++) {
        for (let t = 0; t < TURNS_PER_STEP; t++) await next();
        await macrotask();
      }
      assert(finished(), `${where}: still running after its cancel, the world frozen`);
    }
    between();
    if (s < world.steps.length) world.steps[s]();
  }
  for (let i = 0; i < 50 && !finished(); i++) {
    for (let t = 0; t < TURNS_PER_STEP; t++) await next();
    await macrotask();
  }
  between();
  assert(finished(), `${where}: the operation hung`);
  const outcome = await Promise.resolve(task ?? direct).then(() => undefined, (e) => e);
  if (!completed) {
    assert(cancelled, `${where}: failed without a cancel: ${failure ?? outcome}`);
    const error = failure ?? outcome;
    assert(isCancellation(error), `${where}: rejected with ${error}, not a cancellation`);
  }
  try {
    await world.check(completed);
  } catch (e) {
    throw new Error(`${where}: ${e instanceof Error ? e.message : e}`, { cause: e });
  }
  // Tasks the run created (helpers of the world included) have all ended.
  for (let i = 0; i < 10 && [...allTasks()].some((t) => !before.has(t)); i++) await macrotask();
  const left = [...allTasks()].filter((t) => !before.has(t)).map((t) => t.name);
  assertEquals(left, [], `${where}: tasks left running`);
  return !cancelled;
}

/** Explores k = 0, 1, ... until the operation completes before its cancel. */
async function explore(scenario: Scenario, mode: Mode): Promise<Tally> {
  let cancelled = 0;
  for (let k = 0; k < MAX_K; k++) {
    if (await runOnce(scenario, mode, k)) {
      assert(cancelled > 0, `${scenario.name} [${mode}]: no run was ever cancelled`);
      return { cases: k + 1, cancelled };
    }
    cancelled++;
  }
  throw new Error(`${scenario.name} [${mode}]: still cancelled after ${MAX_K} turns`);
}

function define(group: string, scenarios: Scenario[]): void {
  Deno.test(`cancellation at every suspension point: ${group}`, async (t) => {
    let cases = 0;
    let cancelled = 0;
    let pairs = 0;
    for (const scenario of scenarios) {
      for (const mode of scenario.modes ?? BOTH) {
        await t.step(`${scenario.name} [${mode}]`, async () => {
          const tally = await explore(scenario, mode);
          cases += tally.cases;
          cancelled += tally.cancelled;
          pairs++;
        });
      }
    }
    console.log(
      `${group}: ${pairs} (operation, mode) pairs, ${cases} (operation, k) cases, ` +
        `${cancelled} of them cancelled`,
    );
  });
}

// ------------------------------------------------------------ StreamReader

const TEXT = "alpha\nbeta\r\ngamma\n12345678";
const DATA = bytes(TEXT);
/** The chunks the world delivers, one per step; 3 bytes each. */
const CHUNKS = Array.from(
  { length: Math.ceil(DATA.length / 3) },
  (_, i) => DATA.slice(i * 3, i * 3 + 3),
);

/**
 * A `read(p)` source whose reads complete only when the world delivers a
 * chunk: a read is in flight (and cannot be taken back) when the cancel lands.
 */
function steppedConn(): { source: StreamReaderSource; deliver: (c: Uint8Array | null) => void } {
  const ready: (Uint8Array | null)[] = [];
  let pending: { p: Uint8Array; resolve: (n: number | null) => void } | undefined;
  const serve = () => {
    if (pending === undefined || ready.length === 0) return;
    const { p, resolve } = pending;
    pending = undefined;
    const chunk = ready.shift()!;
    if (chunk === null) return resolve(null);
    const n = Math.min(p.length, chunk.length);
    p.set(chunk.subarray(0, n));
    if (n < chunk.length) ready.unshift(chunk.subarray(n));
    resolve(n);
  };
  return {
    source: {
      read(p) {
        assert(pending === undefined, "two reads in flight on one conn");
        return new Promise((resolve) => {
          pending = { p, resolve };
          serve();
        });
      },
    },
    deliver(chunk) {
      ready.push(chunk);
      serve();
    },
  };
}

/** A `ReadableStream` whose pulls complete only when the world delivers a chunk. */
function steppedStream(): {
  source: StreamReaderSource;
  deliver: (c: Uint8Array | null) => void;
} {
  const ready: (Uint8Array | null)[] = [];
  let waiting: (() => void) | undefined;
  const source = new ReadableStream<Uint8Array>({
    async pull(controller) {
      while (ready.length === 0) await new Promise<void>((resolve) => waiting = resolve);
      const chunk = ready.shift()!;
      if (chunk === null) controller.close();
      else controller.enqueue(chunk);
    },
  }, { highWaterMark: 0 });
  return {
    source,
    deliver(chunk) {
      ready.push(chunk);
      const wake = waiting;
      waiting = undefined;
      wake?.();
    },
  };
}

type ReaderKind = "fed" | "read(p)" | "stream";

/** A reader over `kind`, and the steps that deliver `CHUNKS` then the end. */
function readerWorld(kind: ReaderKind): { reader: StreamReader; steps: (() => void)[] } {
  if (kind === "fed") {
    const reader = new StreamReader();
    return {
      reader,
      steps: [...CHUNKS.map((c) => () => reader.feedData(c)), () => reader.feedEof()],
    };
  }
  const { source, deliver } = kind === "read(p)" ? steppedConn() : steppedStream();
  const reader = new StreamReader(source);
  return { reader, steps: [...CHUNKS.map((c) => () => deliver(c)), () => deliver(null)] };
}

/**
 * A reader operation that returns the bytes it consumed: the check reads
 * the rest and asserts that consumed + rest is the whole input, once.
 */
function readScenario(
  name: string,
  kind: ReaderKind,
  read: (reader: StreamReader, signal: AbortSignal | undefined, got: Uint8Array[]) => Promise<void>,
): Scenario {
  return {
    name: `${name} (${kind})`,
    make() {
      const { reader, steps } = readerWorld(kind);
      const got: Uint8Array[] = [];
      let probe: Promise<unknown> | undefined;
      return {
        steps,
        op: (signal) => read(reader, signal, got),
        afterOp() {
          // A cancelled read leaves no waiter behind: another read may wait at once.
          probe = reader.read(3).then((b) => void got.push(b));
        },
        async check() {
          await probe;
          // The reader is still usable: no waiter left behind.
          const rest = await reader.read();
          assert(reader.atEof());
          assertEquals(str(concat([...got, rest])), TEXT, "bytes lost or duplicated");
        },
      };
    },
  };
}

/**
 * Iterating with `lines()` (or `for await`) collects lines as they come; a
 * cancel may stop it between two lines: what was yielded plus the rest
 * must still be the input.
 */
function linesScenario(kind: ReaderKind, form: "lines()" | "for await"): Scenario {
  return {
    name: `${form} (${kind})`,
    make() {
      const { reader, steps } = readerWorld(kind);
      const got: string[] = [];
      let probe: Promise<Uint8Array> | undefined;
      return {
        steps,
        afterOp() {
          probe = reader.read(3);
        },
        async op(signal) {
          if (form === "lines()") {
            for await (const line of reader.lines({ signal })) got.push(line);
          } else {
            // The byte iterator takes no options: it observes the ambient task only.
            for await (const line of reader) got.push(str(line));
          }
        },
        async check(completed) {
          const rest = str(await probe!) + str(await reader.read());
          const all = TEXT.split(/(?<=\n)/);
          const yielded = form === "lines()"
            ? got.map((line, i) => all[i].startsWith(line) ? all[i] : `<${line}>`)
            : got;
          assertEquals(yielded.join("") + rest, TEXT, "lines lost or duplicated");
          if (completed) assertEquals(rest, "");
        },
      };
    },
    modes: form === "for await" ? ["task.cancel()"] : BOTH,
  };
}

const readerScenarios: Scenario[] = [];
for (const kind of ["fed", "read(p)", "stream"] as ReaderKind[]) {
  readerScenarios.push(
    readScenario("read(8) x2", kind, async (r, signal, got) => {
      got.push(await r.read(8, { signal }));
      got.push(await r.read(8, { signal }));
    }),
    readScenario("read()", kind, async (r, signal, got) => {
      got.push(await r.read(-1, { signal }));
    }),
    readScenario("readLine() x2", kind, async (r, signal, got) => {
      got.push(await r.readLine({ signal }));
      got.push(await r.readLine({ signal }));
    }),
    readScenario("readUntil(\\r\\n)", kind, async (r, signal, got) => {
      got.push(await r.readUntil("\r\n", { signal }));
    }),
    readScenario("readUntil([\\r\\n, 78]) x2", kind, async (r, signal, got) => {
      got.push(await r.readUntil(["\r\n", "78"], { signal }));
      got.push(await r.readUntil(["\r\n", "78"], { signal }));
    }),
    readScenario("readExactly(20)", kind, async (r, signal, got) => {
      got.push(await r.readExactly(20, { signal }));
    }),
    linesScenario(kind, "lines()"),
    linesScenario(kind, "for await"),
  );
}

define("StreamReader", readerScenarios);

// ------------------------------------------------------------ StreamWriter

/**
 * A write target whose writes (and close) complete only when the world
 * takes a step; each step completes at most 5 bytes of the pending write,
 * so partial writes happen too.
 */
function steppedTarget() {
  const written: number[] = [];
  let pending: { p: Uint8Array; resolve: (n: number) => void } | undefined;
  let closing: (() => void) | undefined;
  const target = {
    closes: 0,
    write(p: Uint8Array): Promise<number> {
      assert(pending === undefined, "two writes in flight");
      return new Promise<number>((resolve) => pending = { p, resolve });
    },
    close(): Promise<void> {
      target.closes++;
      return new Promise<void>((resolve) => closing = resolve);
    },
  };
  const step = () => {
    if (pending !== undefined) {
      const { p, resolve } = pending;
      pending = undefined;
      const n = Math.min(5, p.length);
      written.push(...p.subarray(0, n));
      resolve(n);
    } else if (closing !== undefined) {
      const done = closing;
      closing = undefined;
      done();
    }
  };
  return { target, written, step };
}

const PAYLOAD = bytes("0123456789abcdefghij"); // 20 bytes: 4 steps of 5

function writerScenario(
  name: string,
  op: (writer: StreamWriter, signal: AbortSignal | undefined) => Promise<void>,
  modes?: Mode[],
): Scenario {
  return {
    name,
    modes,
    make() {
      const { target, written, step } = steppedTarget();
      const writer = new StreamWriter(target, { writeBufferLimits: { high: 8, low: 4 } });
      let wrote = false;
      const write = writer.write.bind(writer);
      writer.write = (data) => {
        write(data);
        wrote = true;
      };
      return {
        // Enough steps for the whole payload and the close.
        steps: Array.from({ length: 12 }, () => step),
        op: (signal) => op(writer, signal),
        async check() {
          // Whatever was cancelled, the writer still flushes everything, once.
          // (close() is idempotent; the operation may not have reached it.)
          writer.close();
          for (let i = 0; i < 12; i++) {
            step();
            await macrotask();
          }
          await writer.waitClosed();
          // (Cancelled before it started, the operation wrote nothing.)
          assertEquals(
            str(Uint8Array.from(written)),
            wrote ? str(PAYLOAD) : "",
            "bytes lost or duplicated",
          );
          assertEquals(target.closes, 1, "the target was not closed exactly once");
          assertEquals(writer.getWriteBufferSize(), 0);
        },
      };
    },
  };
}

define("StreamWriter", [
  writerScenario("write + drain()", async (writer, signal) => {
    writer.write(PAYLOAD);
    await writer.drain({ signal });
    // The writer is still usable after a drain, and a second drain passes.
    await writer.drain({ signal });
  }),
  writerScenario("close() + waitClosed()", async (writer, signal) => {
    writer.write(PAYLOAD);
    writer.close();
    await writer.waitClosed({ signal });
  }),
  writerScenario(
    "await using (asyncDispose)",
    async (writer) => {
      await using w = writer;
      w.write(PAYLOAD);
    },
    ["task.cancel()"],
  ),
]);

// ------------------------------------------------------------------ queues

type QueueKind = "Queue" | "PriorityQueue" | "LifoQueue";

function makeQueue(kind: QueueKind, maxsize = 0): Queue<number> {
  return kind === "Queue"
    ? new Queue<number>(maxsize)
    : kind === "PriorityQueue"
    ? new PriorityQueue<number>(maxsize)
    : new LifoQueue<number>(maxsize);
}

function drain(queue: Queue<number>): number[] {
  const out: number[] = [];
  for (;;) {
    try {
      out.push(queue.getNowait());
    } catch (e) {
      assert(e instanceof QueueEmpty);
      return out;
    }
  }
}

/** Two gets by the operation and one by a competing task: each item is had once. */
function getScenario(kind: QueueKind): Scenario {
  return {
    name: `${kind}.get() x2`,
    make() {
      const queue = makeQueue(kind);
      const got: number[] = [];
      let rival: number | undefined;
      let rivalWaiting = true;
      const rivalTask = createTask(async () => {
        try {
          rival = await queue.get();
        } finally {
          rivalWaiting = false;
        }
      }, { name: "rival getter" });
      let n = 0;
      return {
        steps: [1, 2, 3, 4].map(() => () => queue.putNowait(++n)),
        quiet() {
          assert(!(rivalWaiting && queue.qsize() > 0), "a getter waits while an item is queued");
        },
        async op(signal) {
          got.push(await queue.get({ signal }));
          got.push(await queue.get({ signal }));
        },
        async check(completed) {
          await rivalTask;
          const rest = drain(queue);
          const all = [...got, rival!, ...rest].sort();
          assertEquals(all, [1, 2, 3, 4], "items lost or duplicated");
          if (completed) assertEquals(got.length, 2);
          assertEquals(queue.qsize(), 0);
          // No claim is left behind: the next item goes to the next getter.
          queue.putNowait(9);
          assertEquals(await queue.get(), 9);
        },
      };
    },
  };
}

/** Two puts into a full queue while the world takes items out, plus a rival putter. */
function putScenario(kind: QueueKind): Scenario {
  return {
    name: `${kind}.put() x2 (maxsize 1)`,
    make() {
      const queue = makeQueue(kind, 1);
      queue.putNowait(0);
      const taken: number[] = [];
      const put: number[] = [];
      let rivalWaiting = true;
      const rivalTask = createTask(async () => {
        try {
          await queue.put(100);
        } finally {
          rivalWaiting = false;
        }
      }, { name: "rival putter" });
      return {
        steps: Array.from({ length: 5 }, () => () => {
          if (!queue.empty()) taken.push(queue.getNowait());
        }),
        quiet() {
          assert(!(rivalWaiting && !queue.full()), "a putter waits while a slot is free");
        },
        async op(signal) {
          await queue.put(10, { signal });
          put.push(10);
          await queue.put(20, { signal });
          put.push(20);
        },
        async check(completed) {
          for (let i = 0; i < 5 && !rivalTask.done(); i++) {
            if (!queue.empty()) taken.push(queue.getNowait());
            await macrotask();
          }
          await rivalTask;
          const all = [...taken, ...drain(queue)].sort((a, b) => a - b);
          assertEquals(all, [0, ...put, 100].sort((a, b) => a - b), "items lost or duplicated");
          if (completed) assertEquals(put, [10, 20]);
          // No reserved slot leaked: the one slot is free again, and only one.
          assertFalse(queue.full());
          queue.putNowait(1);
          assert(queue.full());
          let full = false;
          try {
            queue.putNowait(2);
          } catch (e) {
            full = e instanceof QueueFull;
          }
          assert(full, "the queue took more items than its maxsize");
          assertEquals(drain(queue), [1]);
        },
      };
    },
  };
}

function joinScenario(): Scenario {
  return {
    name: "Queue.join()",
    make() {
      const queue = new Queue<number>();
      queue.putNowait(1);
      queue.putNowait(2);
      let done = 0;
      let doneWhenJoined = -1;
      return {
        steps: [
          () => queue.getNowait(),
          () => void (queue.taskDone(), done++),
          () => queue.getNowait(),
          () => void (queue.taskDone(), done++),
        ],
        async op(signal) {
          await queue.join({ signal });
          doneWhenJoined = done;
        },
        async check(completed) {
          if (completed) assertEquals(doneWhenJoined, 2, "join() returned with unfinished items");
          // No joiner is left behind, and join passes now.
          await queue.join();
        },
      };
    },
  };
}

define("queues", [
  ...(["Queue", "PriorityQueue", "LifoQueue"] as QueueKind[]).flatMap((k) => [
    getScenario(k),
    putScenario(k),
  ]),
  joinScenario(),
]);

// ------------------------------------------------------------------- locks

/**
 * The world holds every permit; the operation and a rival each wait for
 * one, hold it for a step, and give it back. Checks mutual exclusion while
 * it runs, and every permit back at the end (a bounded semaphore throws on
 * a release too many).
 */
function acquireScenario(kind: "Lock" | "BoundedSemaphore(2)"): Scenario {
  return {
    name: `${kind}.acquire()`,
    make() {
      const permits = kind === "Lock" ? 1 : 2;
      const lock = kind === "Lock" ? new Lock() : new BoundedSemaphore(2);
      let holders = 0;
      let most = 0;
      const enter = () => {
        holders++;
        most = Math.max(most, holders);
      };
      const held: { release(): void }[] = [];
      for (let i = 0; i < permits; i++) {
        lock.acquire().then((p) => {
          enter();
          held.push(p);
        });
      }
      const giveBack = () => {
        const p = held.shift();
        if (p) {
          holders--;
          p.release();
        }
      };
      const gate = new Event();
      let waiting = 0;
      const rivalTask = createTask(async () => {
        waiting++;
        let permit;
        try {
          permit = await lock.acquire();
        } finally {
          waiting--;
        }
        using _permit = permit;
        enter();
        await gate.wait();
        holders--;
      }, { name: "rival" });
      return {
        steps: [
          () => giveBack(),
          () => giveBack(),
          () => gate.set(),
        ],
        quiet() {
          assert(!(waiting > 0 && !lock.locked()), "a task waits for a free permit");
        },
        async op(signal) {
          waiting++;
          let permit;
          try {
            permit = await lock.acquire({ signal });
          } finally {
            waiting--;
          }
          using _permit = permit;
          enter();
          try {
            await gate.wait({ signal });
          } finally {
            holders--;
          }
        },
        async check() {
          while (held.length > 0) giveBack();
          gate.set();
          await rivalTask;
          assert(most <= permits, `${most} holders at once`);
          assertEquals(holders, 0);
          // Every permit is back, and no more.
          const again = [];
          for (let i = 0; i < permits; i++) {
            assertFalse(lock.locked(), "a permit was lost");
            again.push(await lock.acquire());
          }
          assert(lock.locked(), "a permit was duplicated");
          for (const p of again) p.release();
          assertFalse(lock.locked());
        },
      };
    },
  };
}

/**
 * The operation and a rival wait on a condition; the world notifies one.
 * A notification the operation cannot use (cancelled after it was chosen)
 * must reach the rival; `wait()` returns or throws with the lock held.
 */
function conditionScenario(): Scenario {
  return {
    name: "Condition.wait()",
    make() {
      const cond = new Condition();
      let rivalWoke = -1;
      let steps = 0;
      let lockHeldAfterWait = true;
      // The rival queues up behind the operation: it starts waiting at step 1.
      const rivalGo = new Event();
      const rivalTask = createTask(async () => {
        await rivalGo.wait();
        using _permit = await cond.acquire();
        await cond.wait();
        rivalWoke = steps;
      }, { name: "rival waiter" });
      let notifiedOp = false;
      const notifyOne = () => {
        steps++;
        // The world holds the lock to notify, as the API requires.
        cond.acquire().then((p) => {
          cond.notify(1);
          p.release();
        });
      };
      return {
        steps: [() => steps++, () => rivalGo.set(), () => steps++, notifyOne, () => steps++],
        async op(signal) {
          using _permit = await cond.acquire({ signal });
          try {
            await cond.wait({ signal });
            notifiedOp = true;
          } finally {
            if (!cond.locked()) lockHeldAfterWait = false;
          }
        },
        async check(completed) {
          assert(lockHeldAfterWait, "wait() ended without the lock");
          if (!completed) {
            // The one notification went to the rival (or nobody waited yet but it).
            for (let i = 0; i < 10 && rivalWoke < 0; i++) await macrotask();
            assert(rivalWoke >= 0, "a notification was lost");
          } else {
            assert(notifiedOp);
            // Wake the rival, which did not get the single notification.
            const p = await cond.acquire();
            cond.notifyAll();
            p.release();
          }
          await rivalTask;
          assertFalse(cond.locked(), "the lock was left held");
        },
      };
    },
  };
}

define("locks", [
  acquireScenario("Lock"),
  acquireScenario("BoundedSemaphore(2)"),
  conditionScenario(),
]);

// --------------------------------------------------------------- TaskGroup

/**
 * A group whose body and two children each wait on the world; one child
 * awaits twice in its cleanup. Wherever the cancel lands, the group
 * returns or rejects only once every child has finished, each child's
 * cleanup ran exactly once, and nothing outlives the group.
 */
function taskGroupScenario(): Scenario {
  return {
    name: "TaskGroup.run() body and children",
    make() {
      const events = [new Event(), new Event(), new Event(), new Event()];
      const log: string[] = [];
      let childrenAtExit: boolean | undefined;
      const children: Task<void>[] = [];
      return {
        steps: events.map((e) => () => e.set()),
        async op(signal) {
          try {
            await TaskGroup.run(async (tg) => {
              children.push(tg.createTask(async () => {
                log.push("child 1 start");
                try {
                  await events[0].wait();
                  await events[2].wait();
                  log.push("child 1 done");
                } finally {
                  log.push("child 1 cleanup");
                }
              }, { name: "child 1" }));
              children.push(tg.createTask(async () => {
                log.push("child 2 start");
                try {
                  await events[1].wait();
                  log.push("child 2 done");
                } finally {
                  // Cleanup that awaits: the group waits for it.
                  await Promise.resolve();
                  await Promise.resolve();
                  log.push("child 2 cleanup");
                }
              }, { name: "child 2" }));
              await events[1].wait();
              log.push("body waited");
              await events[3].wait();
              log.push("body done");
            }, { signal });
          } finally {
            childrenAtExit = children.every((c) => c.done());
          }
        },
        check(completed) {
          // (Cancelled before it started, the operation made no group.)
          if (childrenAtExit !== undefined) {
            assertStrictEquals(childrenAtExit, true, "the group ended before its children");
          }
          const count = (s: string) => log.filter((l) => l === s).length;
          for (const child of ["child 1", "child 2"]) {
            // A child cancelled before it started never runs (asyncio's rule);
            // one that started cleans up exactly once.
            assertEquals(
              count(`${child} cleanup`),
              count(`${child} start`),
              `${child}: started ${count(`${child} start`)}, cleaned up ${
                count(`${child} cleanup`)
              }`,
            );
          }
          if (completed) {
            for (const s of ["child 1 done", "child 2 done", "body done"]) {
              assertEquals(count(s), 1, s);
            }
          }
        },
      };
    },
  };
}

define("TaskGroup", [taskGroupScenario()]);
