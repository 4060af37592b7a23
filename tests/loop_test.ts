import { assert, assertEquals, assertThrows } from "@std/assert";
import { FakeTime } from "@std/testing/time";
import { callAt, callLater, callSoon, sleep, time } from "../mod.ts";
import { assertFalse, assertRejects } from "@std/assert";
import { type Timeout, timeout, timeoutAt, TimeoutError } from "../mod.ts";
import { FakeClock } from "./_clock.ts";

Deno.test("callSoon runs callbacks in FIFO order on a later turn, with arguments", async () => {
  const order: string[] = [];
  callSoon((x: string) => order.push(x), "a");
  callSoon((x: string, y: string) => order.push(x + y), "b", "c");
  queueMicrotask(() => order.push("microtask"));
  order.push("sync");
  // FIFO: a callback scheduled after them runs after them.
  await new Promise<void>((resolve) => callSoon(() => resolve()));
  assertEquals(order, ["sync", "microtask", "a", "bc"]);
});

Deno.test("callLater fires after the delay; cancel() and using prevent it", async () => {
  using fake = new FakeTime();
  const fired: string[] = [];
  callLater(100, () => fired.push("later"));
  const cancelled = callLater(50, () => fired.push("cancelled"));
  cancelled.cancel();
  cancelled.cancel();
  {
    using _scoped = callLater(10, () => fired.push("scoped"));
  }
  await fake.tickAsync(99);
  assertEquals(fired, []);
  await fake.tickAsync(1);
  assertEquals(fired, ["later"]);
  assert(cancelled.cancelled());
});

Deno.test("callAt schedules on the time() clock, in milliseconds", async () => {
  const when = time() + 10;
  let at = 0;
  const fired = Promise.withResolvers<void>();
  const handle = callAt(when, () => {
    at = time();
    fired.resolve();
  });
  assertEquals(handle.when(), when);
  await fired.promise;
  assert(at >= when - 2, `fired at ${at}, due ${when}`);
  const pastFired = Promise.withResolvers<void>();
  const past = callAt(time() - 10_000, () => {
    at = -1;
    pastFired.resolve();
  });
  await pastFired.promise;
  assertEquals(at, -1);
  assertEquals(past.cancelled(), false);
});

Deno.test("time() is monotonic milliseconds", () => {
  const a = time();
  const b = time();
  assert(b >= a);
  assert(Math.abs(a - performance.now()) < 1_000);
});

Deno.test("bad arguments are typed errors", () => {
  assertThrows(
    // @ts-expect-error: testing bad input
    () => callSoon(1),
    TypeError,
    "Cannot call soon: 'fn' must be a function: current value is 1",
  );
  assertThrows(() => callLater(NaN, () => {}), TypeError, "Cannot call later");
  // @ts-expect-error: testing bad input
  assertThrows(() => callAt("now", () => {}), TypeError, "'when' must be a number");
});

Deno.test("one clock: time(), callAt, timeoutAt, when() and reschedule() share monotonic milliseconds", async () => {
  using clock = new FakeClock();
  const t0 = time();
  const fired: number[] = [];
  const handle = callAt(t0 + 20, () => fired.push(time() - t0));
  assertEquals(handle.when(), t0 + 20);
  let block: Timeout | undefined;
  const p = timeoutAt(t0 + 50, async (_signal, deadline) => {
    block = deadline;
    await sleep(60_000);
  });
  const check = assertRejects(() => p, TimeoutError);
  assertEquals(block!.when(), t0 + 50);
  await clock.tickAsync(20);
  assertEquals(fired, [20]);
  assertFalse(block!.expired());
  block!.reschedule(time() + 40);
  assertEquals(block!.when(), t0 + 60);
  await clock.tickAsync(39);
  assertFalse(block!.expired());
  await clock.tickAsync(1);
  await check;
  assert(block!.expired());
  assertEquals(await timeout(30, (_signal, deadline) => deadline.when()! - time()), 30);
});

Deno.test("one clock: a wall-clock jump neither fires nor delays a deadline", async () => {
  using clock = new FakeClock();
  let block: Timeout | undefined;
  const p = timeout(100, async (_signal, deadline) => {
    block = deadline;
    await sleep(60_000);
  });
  const check = assertRejects(() => p, TimeoutError);
  const at = block!.when();
  clock.jumpWallClock(3_600_000); // the system clock is set an hour ahead
  block!.reschedule(at); // the same deadline, armed again after the jump
  assertFalse(block!.expired(), "a forward jump fired the deadline");
  clock.jumpWallClock(-7_200_000); // and then an hour behind
  block!.reschedule(at);
  await clock.tickAsync(99);
  assertFalse(block!.expired());
  await clock.tickAsync(1);
  await check;
  assert(block!.expired(), "a backward jump delayed the deadline");
});

Deno.test("one clock: a deadline whole milliseconds away arms a timer of exactly that many", async () => {
  // (t + 50) - t is 50.000000000007276 for this t: the timer must still be due at 50 ms.
  const t = 65525.48840345773;
  assert((t + 50) - t > 50);
  using clock = new FakeClock();
  const realNow = performance.now;
  performance.now = () => t;
  let fired = false;
  callAt(t + 50, () => (fired = true));
  performance.now = realNow;
  await clock.tickAsync(50);
  assert(fired, "the callAt timer was armed for more than 50 ms");
});
