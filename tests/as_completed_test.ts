import { assertEquals, assertRejects } from "@std/assert";
import { FakeTime } from "@std/testing/time";
import {
  asCompleted,
  CancelledError,
  createFuture,
  createTask,
  sleep,
  TimeoutError,
} from "../mod.ts";

Deno.test("classic form: promises of results, in completion order", async () => {
  using time = new FakeTime();
  const got: string[] = [];
  const loop = (async () => {
    for (const p of asCompleted([sleep(15, { value: "c" }), sleep(5, { value: "a" })])) {
      got.push(await p);
    }
  })();
  await time.tickAsync(5);
  await time.runMicrotasks();
  assertEquals(got, ["a"]);
  await time.tickAsync(10);
  await loop;
  assertEquals(got, ["a", "c"]);
});

Deno.test("classic form: a failure rejects its promise in turn", async () => {
  using time = new FakeTime();
  const failing = createTask(async () => {
    await sleep(2);
    throw new Error("bad");
  });
  const ok = createTask(() => sleep(10, { value: "ok" }));
  const promises = [...asCompleted([ok, failing])];
  assertEquals(promises.length, 2);
  const first = assertRejects(() => promises[0], Error, "bad");
  await time.tickAsync(2);
  await first;
  await time.tickAsync(8);
  assertEquals(await promises[1], "ok");
});

Deno.test("async form: the original tasks as they finish", async () => {
  using time = new FakeTime();
  const a = createTask(() => sleep(10, { value: 1 }));
  const b = createTask(() => sleep(2, { value: 2 }));
  const fut = createFuture<number>();
  setTimeout(() => fut.setResult(3), 5);
  const order: unknown[] = [];
  const indexes: number[] = [];
  const loop = (async () => {
    for await (const x of asCompleted([a, b, fut])) {
      order.push(x.awaitable);
      indexes.push(x.index);
    }
  })();
  for (const ms of [2, 3, 5]) {
    await time.tickAsync(ms);
    await time.runMicrotasks();
  }
  await loop;
  assertEquals(order, [b, fut, a]);
  assertEquals(indexes, [1, 2, 0]);
});

Deno.test("timeout: what is left rejects with TimeoutError; nothing is cancelled", async () => {
  using time = new FakeTime();
  const fast = createTask(() => sleep(10, { value: "fast" }));
  const slow = createTask(() => sleep(1_000, { value: "slow" }));
  const seen: unknown[] = [];
  const loop = (async () => {
    for await (const t of asCompleted([fast, slow], { timeout: 100 })) seen.push(t.awaitable);
  })();
  const check = assertRejects(() => loop, TimeoutError, "after 100 ms");
  await time.tickAsync(10);
  await time.tickAsync(90);
  await check;
  assertEquals(seen, [fast]);
  await time.tickAsync(900);
  assertEquals(await slow, "slow");
});

Deno.test("async form: a task keeps its own type, and a duplicate counts once", async () => {
  const task = createTask(() => sleep(1, { value: 7 }), { name: "seven" });
  const names: string[] = [];
  for await (const { awaitable, index } of asCompleted([task, task])) {
    names.push(`${index}:${awaitable.name}:${awaitable.result()}`);
  }
  assertEquals(names, ["0:seven:7"]);
});

Deno.test("classic form: destructuring keeps the handed-out promises alive", async () => {
  using time = new FakeTime();
  const [first] = asCompleted([sleep(5, { value: "x" }), sleep(1, { value: "y" })]);
  await time.tickAsync(1);
  assertEquals(await first, "y");
  await time.tickAsync(4);
});

Deno.test("classic form with a timeout rejects the remaining promises", async () => {
  using time = new FakeTime();
  const never = createFuture<number>();
  const [p] = asCompleted([never], { timeout: 50 });
  const check = assertRejects(() => p, TimeoutError);
  await time.tickAsync(50);
  await check;
  never.cancel();
});

Deno.test("leaving the loop early releases the timer and the watches", async () => {
  const a = createTask(() => sleep(1, { value: "a" }));
  const bDone = createFuture<string>();
  const b = createTask(() => bDone);
  for await (const first of asCompleted([a, b], { timeout: 60_000 })) {
    assertEquals(first.awaitable, a);
    break;
  }
  for (const p of asCompleted([b], { timeout: 60_000 })) {
    void p.catch(() => {});
    break;
  }
  // The sanitizers fail this test if a deadline timer was left behind.
  bDone.setResult("b");
  await b;
  await sleep(1);
});

Deno.test("cancelling the consuming task rejects the pending wait", async () => {
  const fut = createFuture<number>();
  const consumer = createTask(async () => {
    for await (const _ of asCompleted([fut])) {
      // never reached
    }
  });
  await sleep(1);
  consumer.cancel();
  await assertRejects(() => Promise.resolve(consumer), CancelledError);
  fut.cancel();
});

Deno.test("an empty list yields nothing; a bad timeout is a TypeError", async () => {
  assertEquals([...asCompleted([])], []);
  for await (const _ of asCompleted([])) throw new Error("unreachable");
  let error: unknown;
  try {
    asCompleted([1], { timeout: NaN });
  } catch (e) {
    error = e;
  }
  assertEquals((error as Error).name, "TypeError");
});

Deno.test("test_as_completed_reverse_wait: the first promise awaited gets the first completion", async () => {
  using time = new FakeTime();
  const promises = [...asCompleted([sleep(50, { value: "a" }), sleep(100, { value: "b" })])];
  assertEquals(promises.length, 2);
  const start = time.now;
  const seen: string[] = [];
  promises[1].then((x) => seen.push(`${x} at ${time.now - start}`));
  await time.tickAsync(50);
  await time.runMicrotasks();
  assertEquals(seen, ["a at 50"]);
  promises[0].then((y) => seen.push(`${y} at ${time.now - start}`));
  await time.tickAsync(50);
  await time.runMicrotasks();
  assertEquals(seen, ["a at 50", "b at 100"]);
});
