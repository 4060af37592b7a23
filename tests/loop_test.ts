import { assert, assertEquals, assertThrows } from "@std/assert";
import { FakeTime } from "@std/testing/time";
import { callAt, callLater, callSoon, time } from "../mod.ts";

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

Deno.test("callAt schedules on the time() clock, in seconds", async () => {
  const when = time() + 0.01;
  let at = 0;
  const fired = Promise.withResolvers<void>();
  const handle = callAt(when, () => {
    at = time();
    fired.resolve();
  });
  assertEquals(handle.when(), when);
  await fired.promise;
  assert(at >= when - 0.002, `fired at ${at}, due ${when}`);
  const pastFired = Promise.withResolvers<void>();
  const past = callAt(time() - 10, () => {
    at = -1;
    pastFired.resolve();
  });
  await pastFired.promise;
  assertEquals(at, -1);
  assertEquals(past.cancelled(), false);
});

Deno.test("time() is monotonic seconds", () => {
  const a = time();
  const b = time();
  assert(b >= a);
  assert(Math.abs(a - performance.now() / 1000) < 1);
});

Deno.test("bad arguments are typed errors", () => {
  // @ts-expect-error: testing bad input
  assertThrows(() => callSoon(1), TypeError, "Cannot call soon: expected a function, got 1");
  assertThrows(() => callLater(NaN, () => {}), TypeError, "Cannot call later");
  // @ts-expect-error: testing bad input
  assertThrows(() => callAt("now", () => {}), TypeError, "'when' must be a number");
});
