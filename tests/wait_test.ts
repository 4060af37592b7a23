import { assert, assertEquals, assertFalse, assertRejects } from "@std/assert";
import { FakeTime } from "@std/testing/time";
import {
  ALL_COMPLETED,
  CancelledError,
  createFuture,
  createTask,
  FIRST_COMPLETED,
  FIRST_EXCEPTION,
  sleep,
  wait,
} from "../mod.ts";

Deno.test("ALL_COMPLETED (default): every awaitable done, the very objects returned", async () => {
  const task = createTask(() => sleep(5, { value: 1 }));
  const fut = createFuture<number>();
  const plain = sleep(2, { value: 3 });
  setTimeout(() => fut.setResult(2), 3);
  const { done, pending } = await wait([task, fut, plain]);
  assertEquals(done, new Set<PromiseLike<number>>([task, fut, plain]));
  assertEquals(pending.size, 0);
  assert(done.has(task) && done.has(fut) && done.has(plain));
});

Deno.test("FIRST_COMPLETED returns on the first to finish, leaving the rest running", async () => {
  const fast = createTask(() => sleep(2, { value: "fast" }));
  const slow = createTask(() => sleep(60_000));
  const { done, pending } = await wait([slow, fast], { returnWhen: FIRST_COMPLETED });
  assertEquals([...done], [fast]);
  assertEquals([...pending], [slow]);
  assertFalse(slow.done(), "wait does not cancel");
  slow.cancel();
  await slow.then(() => {}, () => {});
});

Deno.test("FIRST_EXCEPTION returns on the first failure; cancellation does not count", async () => {
  const cancelled = createTask(() => sleep(60_000));
  const failing = createTask(async () => {
    await sleep(10);
    throw new Error("boom");
  });
  const slow = createTask(() => sleep(60_000));
  cancelled.cancel();
  const { done, pending } = await wait([cancelled, failing, slow], {
    returnWhen: FIRST_EXCEPTION,
  });
  assertEquals(done, new Set([cancelled, failing]));
  assertEquals([...pending], [slow]);
  slow.cancel();
  await slow.then(() => {}, () => {});
});

Deno.test("FIRST_EXCEPTION with no failure waits for all", async () => {
  const a = sleep(2, { value: 1 });
  const b = sleep(4, { value: 2 });
  const { done, pending } = await wait([a, b], { returnWhen: FIRST_EXCEPTION });
  assertEquals(done.size, 2);
  assertEquals(pending.size, 0);
});

Deno.test("a timeout returns what is done so far and cancels nothing", async () => {
  using time = new FakeTime();
  const quick = createTask(() => sleep(10));
  const slow = createTask(() => sleep(1_000));
  const result = wait([quick, slow], { timeout: 100 });
  await time.tickAsync(10);
  await time.tickAsync(90);
  const { done, pending } = await result;
  assertEquals([...done], [quick]);
  assertEquals([...pending], [slow]);
  assertFalse(slow.cancelled());
  await time.tickAsync(900);
  await slow;
});

Deno.test("cancelling the waiting task rejects wait and leaves the awaitables alone", async () => {
  using time = new FakeTime();
  const child = createTask(() => sleep(50, { value: "child" }));
  const waiter = createTask(() => wait([child]));
  await time.tickAsync(1);
  waiter.cancel();
  await assertRejects(() => Promise.resolve(waiter), CancelledError);
  assertFalse(child.done());
  await time.tickAsync(49);
  assertEquals(await child, "child");
});

Deno.test("bad input: empty set, unknown returnWhen, bad timeout", async () => {
  await assertRejects(() => wait([]), RangeError, "the set of awaitables is empty");
  await assertRejects(
    // @ts-expect-error: testing bad input
    () => wait([Promise.resolve(1)], { returnWhen: "FIRST" }),
    RangeError,
    "current value is FIRST",
  );
  await assertRejects(
    () => wait([Promise.resolve(1)], { timeout: NaN }),
    TypeError,
    "'timeout' must be a number",
  );
  await wait([Promise.resolve(1)], { returnWhen: ALL_COMPLETED, timeout: null });
});

Deno.test("test_wait_really_done: done and pending are sorted by done() when wait returns", async () => {
  const a = createFuture<number>();
  const b = createFuture<number>();
  const waiting = wait([a, b], { returnWhen: FIRST_COMPLETED });
  a.addDoneCallback(() => b.setResult(2));
  a.setResult(1);
  const { done, pending } = await waiting;
  assertEquals(done, new Set([a, b]));
  assertEquals(pending.size, 0);
});
