import { assert, assertEquals, assertFalse, assertRejects } from "@std/assert";
import { CancelledError, createTask, isCancellation, sleep, TimeoutError } from "../mod.ts";

Deno.test("isCancellation recognises CancelledError and AbortError, nothing else", () => {
  assert(isCancellation(new CancelledError()));
  assert(isCancellation(new DOMException("x", "AbortError")));
  assert(isCancellation(AbortSignal.abort().reason));
  assertFalse(isCancellation(new TimeoutError()));
  assertFalse(isCancellation(new DOMException("x", "TimeoutError")));
  assertFalse(isCancellation(new Error("AbortError")));
  assertFalse(isCancellation(null));
  assertFalse(isCancellation("AbortError"));
});

Deno.test("many waits on one signal inside one task all reject on cancel", async () => {
  const task = createTask(async () => {
    const waits = Array.from({ length: 10_000 }, () => sleep(60_000));
    const results = await Promise.allSettled(waits);
    return results.filter((r) => r.status === "rejected").length;
  });
  await sleep(1);
  task.cancel();
  // The task swallows the per-sleep rejections and returns the count.
  assertEquals(await task, 10_000);
});

Deno.test("an already-cancelled task rejects its next aio await at once", async () => {
  const task = createTask(async () => {
    currentlyCancel();
    await sleep(60_000);
  });
  function currentlyCancel() {
    task.cancel("self");
  }
  await assertRejects(() => Promise.resolve(task), CancelledError, "self");
});
