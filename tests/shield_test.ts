import { assert, assertEquals, assertFalse, assertRejects } from "@std/assert";
import { FakeTime } from "@std/testing/time";
import { CancelledError, createFuture, createTask, shield, sleep } from "../mod.ts";

Deno.test("shield keeps the inner task running when the outer await is cancelled", async () => {
  using time = new FakeTime();
  const inner = createTask(async () => {
    await sleep(20);
    return "inner finished";
  });
  const outer = createTask(() => shield(inner));
  await time.tickAsync(1);
  outer.cancel("outer gone");
  await assertRejects(() => Promise.resolve(outer), CancelledError, "outer gone");
  assert(outer.cancelled());
  assertFalse(inner.done());
  await time.tickAsync(19);
  assertEquals(await inner, "inner finished");
  assertFalse(inner.cancelled());
});

Deno.test("shield passes the result or failure through when not cancelled", async () => {
  assertEquals(await shield(createTask(() => 3)), 3);
  assertEquals(await shield(Promise.resolve("plain")), "plain");
  await assertRejects(
    () =>
      shield(createTask(() => {
        throw new TypeError("inner failed");
      })),
    TypeError,
    "inner failed",
  );
});

Deno.test("shield with an explicit signal; a failing inner after cancel is not unhandled", async () => {
  const fut = createFuture<number>();
  const controller = new AbortController();
  const p = shield(fut, { signal: controller.signal });
  controller.abort(new CancelledError("explicit"));
  await assertRejects(() => p, CancelledError, "explicit");
  assertFalse(fut.cancelled());
  fut.setException(new Error("late failure"));
  await sleep(2);
});

Deno.test("cancelling the inner task itself still cancels the shielded await", async () => {
  const inner = createTask(() => sleep(60_000));
  const p = shield(inner);
  await sleep(1);
  inner.cancel();
  await assertRejects(() => p, CancelledError);
});
