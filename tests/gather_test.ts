import { assert, assertEquals, assertFalse, assertRejects } from "@std/assert";
import { FakeTime } from "@std/testing/time";
import { CancelledError, createFuture, createTask, Future, gather, sleep } from "../mod.ts";

Deno.test("results come back in input order, whatever the finishing order", async () => {
  const first = createFuture<string>();
  const second = createFuture<number>();
  const secondTask = createTask(() => second);
  const g = gather([first, secondTask, Promise.resolve(true), "plain value"]);
  // The second input finishes before the first.
  second.setResult(2);
  await secondTask;
  assertFalse(g.done());
  first.setResult("slow");
  assertEquals(await g, ["slow", 2, true, "plain value"]);
});

Deno.test("gather returns a Future; an empty gather resolves to []", async () => {
  const g = gather([]);
  assert(g instanceof Future);
  assertEquals(await g, []);
});

Deno.test("the first failure rejects; the others keep running", async () => {
  using time = new FakeTime();
  const other = createTask(() => sleep(20, { value: "still running" }));
  const rejected = assertRejects(
    () =>
      Promise.resolve(gather([
        other,
        createTask(async () => {
          await sleep(1);
          throw new TypeError("first failure");
        }),
      ])),
    TypeError,
    "first failure",
  );
  await time.tickAsync(1);
  await rejected;
  assertFalse(other.done());
  await time.tickAsync(19);
  assertEquals(await other, "still running");
});

Deno.test("returnExceptions puts failures in the results", async () => {
  const cancelledChild = createTask(() => sleep(60_000));
  cancelledChild.cancel();
  const results = await gather([
    Promise.reject(new RangeError("r")),
    sleep(1, { value: 1 }),
    cancelledChild,
  ], { returnExceptions: true });
  assert(results[0] instanceof RangeError);
  assertEquals(results[1], 1);
  assert(results[2] instanceof CancelledError);
});

Deno.test("cancelling the gather cancels its children", async () => {
  const a = createTask(() => sleep(60_000));
  const b = createFuture<number>();
  const g = gather([a, b, sleep(1)]);
  await sleep(5);
  assert(g.cancel("stop all"));
  await assertRejects(() => Promise.resolve(g), CancelledError);
  assert(g.cancelled());
  assert(a.cancelled() && b.cancelled());
  assertFalse(g.cancel());
});

Deno.test("cancelling the task awaiting a gather cancels the children", async () => {
  const children = [createTask(() => sleep(60_000)), createTask(() => sleep(60_000))];
  const parent = createTask(() => gather(children));
  await sleep(1);
  parent.cancel();
  await assertRejects(() => Promise.resolve(parent), CancelledError);
  assert(children.every((c) => c.cancelled()));
});

Deno.test("a child cancelled by someone else fails the gather without cancelling it", async () => {
  const child = createTask(() => sleep(60_000));
  const g = gather([child, sleep(1)]);
  await sleep(1);
  child.cancel();
  await assertRejects(() => Promise.resolve(g), CancelledError);
  assertFalse(g.cancelled());
});

Deno.test("gather of gathers (groups of work)", async () => {
  const group1 = gather([sleep(3, { value: 1 }), sleep(1, { value: 2 })]);
  const group2 = gather([sleep(2, { value: "x" })]);
  assertEquals(await gather([group1, group2]), [[1, 2], ["x"]]);
});

Deno.test("test_cancel_gather_1: cancelling a gather whose children are all done returns false and keeps the results", async () => {
  const child = createFuture<number>();
  let cancelled: boolean | undefined;
  child.addDoneCallback(() => (cancelled = all.cancel()));
  const all = gather([child]);
  child.setResult(42);
  assertEquals(await all, [42]);
  assertEquals(cancelled, false);
  assertFalse(all.cancelled());
});
