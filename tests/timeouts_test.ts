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
  createFuture,
  createTask,
  InvalidStateError,
  sleep,
  timeout,
  timeoutAt,
  TimeoutError,
  waitFor,
} from "../mod.ts";
import { time, type Timeout } from "../mod.ts";
import { FakeClock } from "./_clock.ts";

Deno.test("timeout returns the block's result when it finishes in time", async () => {
  assertEquals(await timeout(60_000, () => sleep(1, { value: 5 })), 5);
  assertEquals(await timeout(null, () => "no deadline"), "no deadline");
  assertEquals(await timeout(Infinity, () => "forever ok"), "forever ok");
});

Deno.test("timeout turns its own cancellation into TimeoutError, with the cause", async () => {
  using time = new FakeTime();
  let inner: unknown;
  const p = timeout(100, async (signal) => {
    try {
      await sleep(10_000);
    } catch (e) {
      inner = e;
      assert(signal.aborted);
      throw e;
    }
  });
  const check = assertRejects(() => p, TimeoutError, "Timed out after 100 ms");
  await time.tickAsync(100);
  const error = await check;
  assertInstanceOf(inner, CancelledError);
  assertEquals((error as Error).cause, inner);
});

Deno.test("an outer task cancellation passes through timeout as CancelledError", async () => {
  const task = createTask(() => timeout(60_000, () => sleep(60_000)));
  await sleep(1);
  task.cancel("outer");
  const error = await task.then(() => null, (e) => e);
  assertInstanceOf(error, CancelledError);
  assertEquals((error as Error).message, "outer");
  assert(task.cancelled());
});

Deno.test("an outer signal passes through timeout as its reason, not TimeoutError", async () => {
  const controller = new AbortController();
  const p = timeout(60_000, () => sleep(60_000), { signal: controller.signal });
  controller.abort(new CancelledError("outer signal"));
  await assertRejects(() => p, CancelledError, "outer signal");
});

Deno.test("when both the deadline and the outer scope fired, the outer cancellation wins", async () => {
  using time = new FakeTime();
  const controller = new AbortController();
  const p = timeout(10, async () => {
    try {
      await sleep(1_000);
    } finally {
      controller.abort(new CancelledError("outer too"));
    }
  }, { signal: controller.signal });
  const check = assertRejects(() => p, CancelledError, "outer too");
  await time.tickAsync(10);
  await check;
});

Deno.test("timeout waits for the block to end (cooperative cancellation)", async () => {
  using time = new FakeTime();
  const log: string[] = [];
  const p = timeout(10, async () => {
    try {
      await sleep(1_000);
    } catch (e) {
      await new Promise((r) => setTimeout(r, 50)); // cleanup that ignores the signal
      log.push("cleaned up");
      throw e;
    }
  });
  const check = assertRejects(() => p, TimeoutError);
  await time.tickAsync(10);
  assertEquals(log, []);
  await time.tickAsync(50);
  await check;
  assertEquals(log, ["cleaned up"]);
});

Deno.test("a block that finishes despite expiry returns its value (asyncio rule)", async () => {
  using time = new FakeTime();
  const p = timeout(10, async () => {
    try {
      await sleep(1_000);
    } catch {
      return "recovered";
    }
  });
  await time.tickAsync(10);
  assertEquals(await p, "recovered");
});

Deno.test("a failure inside the block is not converted", async () => {
  await assertRejects(
    () =>
      timeout(1_000, () => {
        throw new RangeError("own failure");
      }),
    RangeError,
    "own failure",
  );
});

Deno.test("reschedule moves the deadline; when() reports it; expired() after", async () => {
  using clock = new FakeClock();
  let handle: { expired(): boolean } | undefined;
  const p = timeout(100, async (_signal, deadline) => {
    handle = deadline;
    assertEquals(deadline.when(), time() + 100);
    deadline.reschedule(time() + 300);
    assertEquals(deadline.when(), time() + 300);
    await sleep(10_000);
  });
  const check = assertRejects(() => p, TimeoutError);
  await clock.tickAsync(299);
  assertFalse(handle!.expired());
  await clock.tickAsync(1);
  await check;
  assert(handle!.expired());
});

Deno.test("reschedule(null) removes the deadline; a past deadline expires at once", async () => {
  assertEquals(
    await timeout(5, async (_s, deadline) => {
      deadline.reschedule(null);
      await sleep(20);
      return "no deadline";
    }),
    "no deadline",
  );
  await assertRejects(
    () =>
      timeout(60_000, async (_s, deadline) => {
        deadline.reschedule(time() - 1);
        await sleep(60_000);
      }),
    TimeoutError,
  );
});

Deno.test("reschedule after expiry or after the block ended throws InvalidStateError", async () => {
  let saved: { reschedule(when: number | null): void } | undefined;
  await timeout(100, (_s, deadline) => {
    saved = deadline;
  });
  assertThrows(() => saved!.reschedule(null), InvalidStateError, "finished");
  await assertRejects(
    () =>
      timeout(0, async (_s, deadline) => {
        try {
          await sleep(1_000);
        } finally {
          assertThrows(() => deadline.reschedule(null), InvalidStateError, "expired");
        }
      }),
    TimeoutError,
  );
});

Deno.test("timeoutAt takes an absolute deadline on the time() clock", async () => {
  using clock = new FakeClock();
  const p = timeoutAt(time() + 50, () => sleep(1_000));
  const check = assertRejects(() => p, TimeoutError);
  await clock.tickAsync(50);
  await check;
  assertEquals(await timeoutAt(null, () => 1), 1);
});

Deno.test("timeouts nest: the inner deadline fires inside the outer one", async () => {
  const result = await timeout(60_000, async () => {
    try {
      await timeout(5, () => sleep(60_000));
    } catch (e) {
      assertInstanceOf(e, TimeoutError);
      return "inner timed out, outer fine";
    }
  });
  assertEquals(result, "inner timed out, outer fine");
});

Deno.test("bad arguments are typed errors", async () => {
  await assertRejects(() => timeout(NaN, () => 1), TypeError, "'ms' must be a number");
  // @ts-expect-error: testing bad input
  await assertRejects(() => timeout("10", () => 1), TypeError, "current value is 10");
  // @ts-expect-error: testing bad input
  await assertRejects(() => timeout(10, null), TypeError, "'fn' must be a function");
  // @ts-expect-error: testing bad input
  await assertRejects(() => timeoutAt("soon", () => 1), TypeError, "'when'");
});

Deno.test("waitFor: result in time; on timeout the task is cancelled and waited for", async () => {
  assertEquals(await waitFor(sleep(1, { value: "ok" }), 60_000), "ok");
  const task = createTask(() => sleep(60_000));
  await assertRejects(() => waitFor(task, 5), TimeoutError);
  assert(task.cancelled());
});

Deno.test("waitFor a future: timeout cancels it", async () => {
  const fut = createFuture<number>();
  await assertRejects(() => waitFor(fut, 5), TimeoutError);
  assert(fut.cancelled());
});

Deno.test("waitFor a plain promise rejects at the deadline and leaves it running", async () => {
  let resolve!: (v: string) => void;
  const plain = new Promise<string>((r) => (resolve = r));
  await assertRejects(() => waitFor(plain, 5), TimeoutError);
  resolve("still fine");
  assertEquals(await plain, "still fine");
});

Deno.test("cancel while parked in waitFor: CancelledError, and the awaited task is cancelled", async () => {
  const inner = createTask(() => sleep(60_000));
  const outer = createTask(() => waitFor(inner, 60_000));
  await sleep(1);
  outer.cancel("stop waiting");
  const error = await outer.then(() => null, (e) => e);
  assertInstanceOf(error, CancelledError);
  assert(outer.cancelled());
  assert(inner.cancelled());
});

Deno.test("waitFor with null waits without a limit", async () => {
  assertEquals(await waitFor(sleep(5, { value: 3 }), null), 3);
});

Deno.test("test_nested_timeouts: at one deadline only the outermost block raises TimeoutError", async (t) => {
  // Two blocks with the same absolute deadline, 10 ms away. Timers count
  // whole milliseconds, so which of the two fires first depends on the
  // fractions of a millisecond at which the blocks were entered.
  const cases = [
    { name: "both entered at once: the outer timer fires first", before: 0, between: 0 },
    {
      name: "entered 0.9 and 1.05 ms later: the inner timer fires first",
      before: 0.9,
      between: 0.15,
    },
  ];
  for (const { name, before, between } of cases) {
    await t.step(name, async () => {
      using clock = new FakeClock();
      const deadline = time() + 10;
      const blocks: Timeout[] = [];
      const gate = createFuture<void>();
      let innerError: unknown;
      await clock.tickAsync(before);
      const p = timeoutAt(deadline, async (_signal, outer) => {
        blocks.push(outer);
        await gate;
        try {
          await timeoutAt(deadline, async (_signal, inner) => {
            blocks.push(inner);
            await sleep(10_000);
          });
        } catch (e) {
          innerError = e;
          throw e;
        }
      });
      const check = assertRejects(() => p, TimeoutError);
      await clock.tickAsync(between);
      gate.setResult();
      await clock.tickAsync(Math.ceil(10 - before - between)); // the inner timer is due
      await clock.tickAsync(1); // and the outer one, in a later turn if not already
      await check;
      assertInstanceOf(innerError, CancelledError, "the inner block passes the cancellation on");
      assertEquals(blocks.map((b) => b.expired()), [true, true]);
    });
  }
});

Deno.test("test_wait_for_timeout_less_then_0_or_0_coroutine_do_not_started: waitFor(task, <= 0) cancels a task that has not started", async () => {
  for (const ms of [0, -1]) {
    let started = false;
    const task = createTask(() => {
      started = true;
      return 1;
    });
    await assertRejects(() => waitFor(task, ms), TimeoutError);
    assertFalse(started, `waitFor(task, ${ms}) let the task run`);
    assert(task.cancelled());
  }
  // A task already done gives its result, as in asyncio.
  const done = createTask(() => "finished");
  await done;
  assertEquals(await waitFor(done, 0), "finished");
});
