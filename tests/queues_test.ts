import {
  assert,
  assertEquals,
  assertFalse,
  assertInstanceOf,
  assertRejects,
  assertThrows,
} from "@std/assert";
import { FakeTime } from "@std/testing/time";
import {
  CancelledError,
  createTask,
  InvalidStateError,
  LifoQueue,
  PriorityQueue,
  Queue,
  QueueEmpty,
  QueueFull,
  QueueShutDown,
  sleep,
  TaskGroup,
} from "../mod.ts";
import { outcome, settle } from "./_settle.ts";

/** Takes everything available now. */
function drain<T>(queue: Queue<T>): T[] {
  const items: T[] = [];
  while (!queue.empty()) items.push(queue.getNowait());
  return items;
}

// ---------------------------------------------------------------- basics

Deno.test("Queue: bad maxsize values are typed errors naming the value", () => {
  assertThrows(
    () => new Queue(1.5),
    RangeError,
    "Cannot create Queue: 'maxsize' must be an integer: current value is 1.5",
  );
  assertThrows(
    () => new Queue("10" as unknown as number),
    TypeError,
    `'maxsize' must be a number: current value is "10"`,
  );
  assertThrows(() => new Queue(NaN), TypeError, "current value is NaN");
  assertThrows(() => new LifoQueue({ maxsize: 0.5 }), RangeError, "Cannot create LifoQueue");
  assertThrows(
    () => new PriorityQueue({ compare: "desc" as unknown as () => number }),
    TypeError,
    `'compare' must be a function: current value is "desc"`,
  );
});

Deno.test("Queue: maxsize <= 0 or Infinity means unbounded", () => {
  for (const maxsize of [0, -1, Infinity, undefined]) {
    const queue = new Queue<number>(maxsize);
    for (let i = 0; i < 1000; i++) queue.putNowait(i);
    assertFalse(queue.full());
    assertEquals(queue.qsize(), 1000);
  }
});

Deno.test("Queue: FIFO, qsize, empty, full, putNowait/getNowait errors", () => {
  const queue = new Queue<string>(2);
  assertEquals(queue.maxsize, 2);
  assert(queue.empty());
  assertThrows(() => queue.getNowait(), QueueEmpty, "Cannot get from queue: it is empty");
  queue.putNowait("a");
  queue.putNowait("b");
  assert(queue.full());
  assertEquals(queue.qsize(), 2);
  assertThrows(
    () => queue.putNowait("c"),
    QueueFull,
    "Cannot put into queue: it is full (maxsize 2)",
  );
  assertEquals(queue.getNowait(), "a");
  assertEquals(queue.getNowait(), "b");
  assert(queue.empty());
});

Deno.test("Queue: a full queue makes put() wait; putters go in FIFO order", async () => {
  const queue = new Queue<number>(1);
  await queue.put(0);
  const putters = [1, 2, 3].map((i) => createTask(() => queue.put(i)));
  await settle();
  const got: number[] = [];
  for (let i = 0; i < 4; i++) got.push(await queue.get());
  await Promise.all(putters);
  assertEquals(got, [0, 1, 2, 3]);
});

Deno.test("Queue: parked getters are served in FIFO order", async () => {
  const queue = new Queue<string>();
  const getters = ["a", "b", "c"].map((name) =>
    createTask(async () => `${name}:${await queue.get()}`)
  );
  await settle();
  for (const item of [1, 2, 3]) queue.putNowait(String(item));
  assertEquals(await Promise.all(getters), ["a:1", "b:2", "c:3"]);
});

Deno.test("Queue: an item put for a parked getter cannot be taken by a newcomer", async () => {
  const queue = new Queue<string>();
  const getter = createTask(() => queue.get());
  await settle();
  queue.putNowait("x");
  assert(queue.empty(), "x is promised to the parked getter");
  assertThrows(() => queue.getNowait(), QueueEmpty);
  const newcomer = queue.get();
  queue.putNowait("y");
  assertEquals(await getter, "x");
  assertEquals(await newcomer, "y");
});

Deno.test("Queue: a slot freed for a parked putter cannot be taken by a newcomer", async () => {
  const queue = new Queue<string>(1);
  queue.putNowait("a");
  const putter = createTask(() => queue.put("b"));
  await settle();
  assertEquals(queue.getNowait(), "a");
  assert(queue.full(), "the free slot is promised to the parked putter");
  assertThrows(() => queue.putNowait("newcomer"), QueueFull);
  await putter;
  assertEquals(queue.getNowait(), "b");
});

// ---------------------------------------------------------------- cancellation

Deno.test("Queue: a getter cancelled after it was handed an item leaves it at the front", async () => {
  const queue = new Queue<string>();
  const getter = createTask(() => queue.get());
  await settle();
  queue.putNowait("x"); // for the getter...
  getter.cancel(); // ...cancelled before it resumes
  queue.putNowait("y");
  assertEquals(await outcome(getter), { error: "CancelledError" });
  assertEquals(queue.qsize(), 2);
  assertEquals(drain(queue), ["x", "y"]);
});

Deno.test("Queue: a handed-then-cancelled getter passes the item to the next getter", async () => {
  const queue = new Queue<string>();
  const first = createTask(() => queue.get());
  const second = createTask(() => queue.get());
  await settle();
  queue.putNowait("x");
  first.cancel();
  assertEquals(await outcome(first), { error: "CancelledError" });
  assertEquals(await second, "x");
  assert(queue.empty());
});

Deno.test("Queue: several handed-then-cancelled getters keep the items in order", async () => {
  const queue = new Queue<number>();
  const getters = [0, 1, 2].map(() => createTask(() => queue.get()));
  await settle();
  [1, 2, 3].forEach((n) => queue.putNowait(n));
  getters[0].cancel();
  getters[1].cancel();
  assertEquals(await outcome(getters[0]), { error: "CancelledError" });
  assertEquals(await outcome(getters[1]), { error: "CancelledError" });
  assertEquals(await getters[2], 1);
  assertEquals(drain(queue), [2, 3]);
});

Deno.test("Queue: a cancelled parked get() takes nothing (task and signal)", async () => {
  const queue = new Queue<string>();
  const getter = createTask(() => queue.get());
  const controller = new AbortController();
  const bySignal = queue.get({ signal: controller.signal });
  await settle();
  getter.cancel();
  controller.abort(new CancelledError("by signal"));
  assertEquals(await outcome(getter), { error: "CancelledError" });
  await assertRejects(() => bySignal, CancelledError, "by signal");
  queue.putNowait("kept");
  assertEquals(queue.getNowait(), "kept");
});

Deno.test("Queue: a cancelled put() does not insert; a woken-then-cancelled putter passes its slot on", async () => {
  const queue = new Queue<string>(1);
  queue.putNowait("a");
  const p1 = createTask(() => queue.put("b"));
  const p2 = createTask(() => queue.put("c"));
  const controller = new AbortController();
  const p3 = queue.put("d", { signal: controller.signal });
  await settle();
  controller.abort();
  await assertRejects(() => p3);
  assertEquals(queue.getNowait(), "a"); // frees a slot for p1...
  p1.cancel(); // ...cancelled before it resumes
  assertEquals(await outcome(p1), { error: "CancelledError" });
  await p2;
  assertEquals(drain(queue), ["c"]);
  assertEquals(queue.qsize(), 0);
  // Only "a" and "c" were ever put.
  queue.taskDone();
  queue.taskDone();
  assertThrows(() => queue.taskDone(), InvalidStateError);
});

Deno.test("Queue: in an already cancelled task, put, get and join reject at once and touch nothing", async () => {
  const queue = new Queue<number>();
  queue.putNowait(1);
  const task = createTask(async () => {
    try {
      await sleep(60_000);
    } catch {
      // cancelled; the task stays cancelled, so every aio wait is a checkpoint
    }
    const results = await Promise.allSettled([queue.get(), queue.put(2), queue.join()]);
    return results.map((r) => r.status === "rejected" && r.reason.name);
  });
  await settle();
  task.cancel();
  assertEquals(await task, ["CancelledError", "CancelledError", "CancelledError"]);
  const controller = new AbortController();
  controller.abort();
  await assertRejects(() => queue.get({ signal: controller.signal }));
  await assertRejects(() => queue.put(3, { signal: controller.signal }));
  assertEquals(drain(queue), [1]);
});

// ---------------------------------------------------------------- taskDone / join

Deno.test("Queue: join waits until every item is marked done; taskDone over-call throws", async () => {
  const queue = new Queue<number>();
  await queue.join(); // nothing unfinished
  [1, 2].forEach((n) => queue.putNowait(n));
  const joiner = createTask(() => queue.join());
  await settle();
  queue.getNowait();
  queue.taskDone();
  await settle();
  assertFalse(joiner.done());
  queue.getNowait();
  queue.taskDone();
  await joiner;
  assertThrows(
    () => queue.taskDone(),
    InvalidStateError,
    "taskDone() called too many times",
  );
});

Deno.test("Queue: join is cancellable", async () => {
  const queue = new Queue<number>();
  queue.putNowait(1);
  const joiner = createTask(() => queue.join());
  await settle();
  joiner.cancel();
  assertEquals(await outcome(joiner), { error: "CancelledError" });
});

Deno.test("Queue: producer/consumer through simulated time (FakeTime)", async () => {
  using time = new FakeTime();
  const queue = new Queue<number>(2);
  const consumed: string[] = [];
  const start = Date.now();
  const consumer = createTask(async () => {
    for (;;) {
      const item = await queue.get();
      await sleep(1_000); // slow consumer
      consumed.push(`${item}@${Date.now() - start}`);
      queue.taskDone();
    }
  });
  const producer = createTask(async () => {
    for (let i = 0; i < 5; i++) await queue.put(i);
  });
  const joined = createTask(async () => {
    await producer;
    await queue.join();
  });
  for (let i = 0; i < 6; i++) await time.tickAsync(1_000);
  await joined;
  consumer.cancel();
  await outcome(consumer);
  assertEquals(consumed, ["0@1000", "1@2000", "2@3000", "3@4000", "4@5000"]);
});

// ---------------------------------------------------------------- shutdown

Deno.test("Queue: shutdown() lets gets drain what is queued, then raises QueueShutDown", async () => {
  const queue = new Queue<number>();
  queue.putNowait(1);
  queue.putNowait(2);
  queue.shutdown();
  assertThrows(() => queue.putNowait(3), QueueShutDown, "it is shut down");
  await assertRejects(() => queue.put(3), QueueShutDown);
  assertEquals(await queue.get(), 1);
  assertEquals(queue.getNowait(), 2);
  assertThrows(() => queue.getNowait(), QueueShutDown);
  await assertRejects(() => queue.get(), QueueShutDown);
  queue.taskDone();
  queue.taskDone();
  await queue.join();
});

Deno.test("Queue: shutdown() wakes parked getters and putters with QueueShutDown", async () => {
  const empty = new Queue<number>();
  const getters = [createTask(() => empty.get()), createTask(() => empty.get())];
  const full = new Queue<number>(1);
  full.putNowait(0);
  const putter = createTask(() => full.put(1));
  await settle();
  empty.shutdown();
  full.shutdown();
  for (const g of getters) assertEquals(await outcome(g), { error: "QueueShutDown" });
  assertEquals(await outcome(putter), { error: "QueueShutDown" });
  assertEquals(drain(full), [0], "the queued item is still there, the refused one is not");
});

Deno.test("Queue: shutdown(true) drops the items, unblocks join, and gets raise at once", async () => {
  const queue = new Queue<number>();
  [1, 2, 3].forEach((n) => queue.putNowait(n));
  queue.getNowait(); // taken, not yet done
  const joiner = createTask(() => queue.join());
  await settle();
  queue.shutdown(true);
  assertEquals(queue.qsize(), 0);
  assertThrows(() => queue.getNowait(), QueueShutDown);
  assertFalse(joiner.done(), "the item taken is still unfinished");
  queue.taskDone();
  await joiner;
});

Deno.test("Queue: a getter handed an item before an immediate shutdown raises QueueShutDown", async () => {
  const queue = new Queue<number>();
  const getter = createTask(() => queue.get());
  await settle();
  queue.putNowait(1);
  queue.shutdown(true);
  assertEquals(await outcome(getter), { error: "QueueShutDown" });
  await queue.join();
});

// ---------------------------------------------------------------- iteration

Deno.test("Queue: for await yields items until the queue is shut down and drained", async () => {
  const queue = new Queue<number>(2);
  const producer = createTask(async () => {
    for (let i = 0; i < 10; i++) await queue.put(i);
    queue.shutdown();
  });
  const seen: number[] = [];
  for await (const item of queue) seen.push(item);
  await producer;
  assertEquals(seen, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

Deno.test("Queue: for await ends at an immediate shutdown", async () => {
  const queue = new Queue<number>();
  const seen: number[] = [];
  const consumer = createTask(async () => {
    for await (const item of queue) {
      seen.push(item);
      if (item === 2) queue.shutdown(true);
    }
    return "ended";
  });
  [1, 2, 3, 4].forEach((n) => queue.putNowait(n));
  assertEquals(await consumer, "ended");
  assertEquals(seen, [1, 2]);
});

Deno.test("Queue: breaking out of for await leaves the other items queued", async () => {
  const queue = new Queue<number>();
  [1, 2, 3].forEach((n) => queue.putNowait(n));
  for await (const item of queue) {
    if (item === 1) break;
  }
  assertEquals(drain(queue), [2, 3]);
});

Deno.test("Queue: cancelling a task iterating over a queue ends it with CancelledError", async () => {
  const queue = new Queue<number>();
  const consumer = createTask(async () => {
    for await (const _ of queue) { /* never gets one */ }
  });
  await settle();
  consumer.cancel();
  assertEquals(await outcome(consumer), { error: "CancelledError" });
  queue.putNowait(1);
  assertEquals(queue.getNowait(), 1);
});

// ---------------------------------------------------------------- many waiters

Deno.test("Queue: 10,000 parked getters are served in order", async () => {
  const queue = new Queue<number>();
  const n = 10_000;
  const got = new Array<number>(n);
  const getters: Promise<void>[] = [];
  for (let i = 0; i < n; i++) getters.push(queue.get().then((item) => void (got[i] = item)));
  for (let i = 0; i < n; i++) queue.putNowait(i);
  await Promise.all(getters);
  assert(got.every((item, i) => item === i));
  assert(queue.empty());
});

Deno.test("Queue: 10,000 workers in a TaskGroup share a bounded queue", async () => {
  const queue = new Queue<number>(10);
  const n = 10_000;
  let sum = 0;
  await TaskGroup.run(async (tg) => {
    for (let w = 0; w < n; w++) {
      tg.createTask(async () => {
        for await (const item of queue) {
          sum += item;
          queue.taskDone();
        }
      });
    }
    for (let i = 1; i <= n; i++) await queue.put(i);
    await queue.join();
    queue.shutdown();
  });
  assertEquals(sum, (n * (n + 1)) / 2);
});

// ---------------------------------------------------------------- PriorityQueue, LifoQueue

Deno.test("PriorityQueue: natural order of numbers, strings and [priority, data] arrays", () => {
  const numbers = new PriorityQueue<number>();
  [5, 1, 4, 2, 3].forEach((n) => numbers.putNowait(n));
  assertEquals(drain(numbers), [1, 2, 3, 4, 5]);
  const strings = new PriorityQueue<string>();
  ["pear", "apple", "fig"].forEach((s) => strings.putNowait(s));
  assertEquals(drain(strings), ["apple", "fig", "pear"]);
  const tuples = new PriorityQueue<[number, string]>();
  [[2, "b"], [1, "z"], [2, "a"], [1, "y"]].forEach((t) => tuples.putNowait(t as [number, string]));
  assertEquals(drain(tuples), [[1, "y"], [1, "z"], [2, "a"], [2, "b"]]);
});

Deno.test("PriorityQueue: ties come out in insertion order", () => {
  type Job = { priority: number; id: number };
  const queue = new PriorityQueue<Job>({ compare: (a, b) => a.priority - b.priority });
  const jobs: Job[] = [];
  for (let id = 0; id < 200; id++) jobs.push({ priority: id % 3, id });
  jobs.forEach((j) => queue.putNowait(j));
  const out = drain(queue);
  const expected = [...jobs].sort((a, b) => a.priority - b.priority || a.id - b.id);
  assertEquals(out, expected);
  // [priority, data] arrays whose data has no natural order tie on it too.
  const tuples = new PriorityQueue<[number, { name: string }]>();
  tuples.putNowait([1, { name: "first" }]);
  tuples.putNowait([0, { name: "urgent" }]);
  tuples.putNowait([1, { name: "second" }]);
  assertEquals(drain(tuples).map(([, d]) => d.name), ["urgent", "first", "second"]);
});

Deno.test("PriorityQueue: matches a stable sort on random input, with puts and gets interleaved", () => {
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const queue = new PriorityQueue<[number, number]>({ compare: (a, b) => a[0] - b[0] });
  const model: [number, number][] = [];
  const out: [number, number][] = [];
  const expected: [number, number][] = [];
  for (let i = 0; i < 5000; i++) {
    if (random() < 0.6 || model.length === 0) {
      const item: [number, number] = [Math.floor(random() * 50), i];
      queue.putNowait(item);
      model.push(item);
    } else {
      out.push(queue.getNowait());
      model.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      expected.push(model.shift()!);
    }
  }
  assertEquals(out, expected);
});

Deno.test("PriorityQueue: without compare, unorderable items are a TypeError naming them", async () => {
  const queue = new PriorityQueue<unknown>();
  assertThrows(
    () => queue.putNowait({ id: 1 }),
    TypeError,
    "Cannot put an instance of Object into a PriorityQueue without a 'compare' option",
  );
  await assertRejects(() => queue.put(NaN), TypeError, "Cannot put NaN");
  assert(queue.empty());
});

Deno.test("PriorityQueue: a throwing comparator leaves the queue intact", () => {
  let broken = false;
  const queue = new PriorityQueue<number>({
    compare: (a, b) => {
      if (broken) throw new Error("compare failed");
      return a - b;
    },
  });
  [3, 1, 2].forEach((n) => queue.putNowait(n));
  broken = true;
  assertThrows(() => queue.putNowait(0), Error, "compare failed");
  assertThrows(() => queue.getNowait(), Error, "compare failed");
  broken = false;
  assertEquals(drain(queue), [1, 2, 3]);
});

Deno.test("PriorityQueue: a parked getter gets the best item available when it resumes", async () => {
  const queue = new PriorityQueue<number>();
  const getter = createTask(() => queue.get());
  await settle();
  queue.putNowait(5);
  queue.putNowait(1);
  assertEquals(await getter, 1);
  assertEquals(drain(queue), [5]);
});

Deno.test("LifoQueue: last in, first out; bounded like Queue", async () => {
  const stack = new LifoQueue<number>(3);
  [1, 2, 3].forEach((n) => stack.putNowait(n));
  assert(stack.full());
  assertThrows(() => stack.putNowait(4), QueueFull);
  const putter = createTask(() => stack.put(4));
  await settle();
  assertEquals(stack.getNowait(), 3);
  await putter;
  assertEquals(drain(stack), [4, 2, 1]);
  assertInstanceOf(stack, Queue);
});
