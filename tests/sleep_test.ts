import { assertEquals, assertFalse, assertRejects } from "@std/assert";
import { FakeTime } from "@std/testing/time";
import { CancelledError, createTask, sleep } from "../mod.ts";

Deno.test("sleep resolves after the delay, to the value if given", async () => {
  using time = new FakeTime();
  let done = false;
  const p = sleep(1_000, { value: "v" }).then((v) => {
    done = true;
    return v;
  });
  await time.tickAsync(999);
  assertFalse(done);
  await time.tickAsync(1);
  assertEquals(await p, "v");
});

Deno.test("negative delays count as zero", async () => {
  assertEquals(await sleep(-5, { value: 1 }), 1);
});

Deno.test("delays above 2^31-1 ms do not fire early", async () => {
  using time = new FakeTime();
  let done = false;
  const long = sleep(2 ** 31 + 10).then(() => (done = true));
  await time.tickAsync(2 ** 31 - 1);
  assertFalse(done);
  await time.tickAsync(11);
  await long;
  assertEquals(done, true);
});

Deno.test("an aborted signal rejects with its reason and clears the timer", async () => {
  const controller = new AbortController();
  const p = sleep(60_000, { signal: controller.signal });
  controller.abort(new RangeError("why"));
  await assertRejects(() => p, RangeError, "why");
  const already = AbortSignal.abort(new CancelledError("before"));
  await assertRejects(() => sleep(1, { signal: already }), CancelledError, "before");
});

Deno.test("Infinity sleeps until cancelled", async () => {
  const task = createTask(() => sleep(Infinity));
  await sleep(1);
  task.cancel();
  await assertRejects(() => Promise.resolve(task), CancelledError);
});

Deno.test("a non-number delay rejects with a TypeError naming the value", async () => {
  // @ts-expect-error: testing bad input
  await assertRejects(() => sleep("10"), TypeError, "Cannot sleep: 'ms' must be a number");
  await assertRejects(() => sleep(NaN), TypeError, "current value is NaN");
});
