import {
  assert,
  assertEquals,
  assertFalse,
  assertInstanceOf,
  assertMatch,
  assertRejects,
  assertStrictEquals,
  assertThrows,
} from "@std/assert";
import { FakeTime } from "@std/testing/time";
import {
  allTasks,
  CancelledError,
  createFuture,
  createTask,
  currentTask,
  InvalidStateError,
  isCancellation,
  sleep,
  type Task,
} from "../mod.ts";

const tick = () => new Promise<void>((r) => setTimeout(r, 0));

Deno.test("fn runs on a later microtask, not synchronously", async () => {
  const order: string[] = [];
  const task = createTask(() => order.push("task"));
  order.push("caller");
  await task;
  assertEquals(order, ["caller", "task"]);
});

Deno.test("result and exception of finished tasks read back", async () => {
  const ok = createTask(() => 42);
  const asyncOk = createTask(async () => {
    await sleep(1);
    return "later";
  });
  const bad = createTask(() => {
    throw new TypeError("sync failure");
  });
  const asyncBad = createTask(async () => {
    await sleep(1);
    throw new RangeError("async failure");
  });
  assertEquals(await ok, 42);
  assertEquals(await asyncOk, "later");
  await assertRejects(() => Promise.resolve(bad), TypeError, "sync failure");
  await assertRejects(() => Promise.resolve(asyncBad), RangeError, "async failure");
  assertEquals(ok.result(), 42);
  assertEquals(asyncOk.exception(), undefined);
  assertInstanceOf(bad.exception(), TypeError);
  assertThrows(() => asyncBad.result(), RangeError, "async failure");
  assertFalse(bad.cancelled());
});

Deno.test("names: default Task-<n>, or the given one", async () => {
  const a = createTask(() => {});
  const b = createTask(() => {}, { name: "worker" });
  assertMatch(a.name, /^Task-\d+$/);
  assertEquals(b.name, "worker");
  assertEquals(String(b), "[object Task 'worker']");
  await Promise.all([a, b]);
});

Deno.test("a task rejects setResult and setException", async () => {
  const task = createTask(() => 1);
  assertThrows(() => task.setResult(2), InvalidStateError);
  assertThrows(() => task.setException(new Error()), InvalidStateError);
  assertEquals(await task, 1);
});

Deno.test("createTask rejects a non-function", () => {
  // @ts-expect-error: testing bad input
  assertThrows(() => createTask(42), TypeError, "'fn' must be a function: current value is 42");
});

Deno.test("cancel while parked in sleep: the sleep rejects with CancelledError", async () => {
  let caught: unknown;
  const task = createTask(async () => {
    try {
      await sleep(60_000);
    } catch (e) {
      caught = e;
      throw e;
    }
  });
  await tick();
  assert(task.cancel("enough"));
  await assertRejects(() => Promise.resolve(task), CancelledError, "enough");
  assertInstanceOf(caught, CancelledError);
  assert(task.cancelled());
  assertFalse(task.cancel(), "cancel() is false once done");
});

Deno.test("cancel while parked in a nested await of another task cancels both", async () => {
  const inner = createTask(() => sleep(60_000));
  const outer = createTask(async () => await inner);
  await tick();
  outer.cancel();
  await assertRejects(() => Promise.resolve(outer), CancelledError);
  await assertRejects(() => Promise.resolve(inner), CancelledError);
  assert(outer.cancelled());
  assert(inner.cancelled(), "asyncio cancels the task being awaited");
});

Deno.test("cancel before start: the function never runs", async () => {
  let ran = false;
  const task = createTask(() => {
    ran = true;
  });
  task.cancel("too soon");
  await assertRejects(() => Promise.resolve(task), CancelledError, "too soon");
  assertFalse(ran);
  assert(task.cancelled());
});

Deno.test("the signal passed to fn aborts with the task's CancelledError", async () => {
  let reason: unknown;
  const task = createTask((signal) =>
    new Promise<void>((_, reject) => {
      signal.addEventListener("abort", () => {
        reason = signal.reason;
        reject(signal.reason);
      });
    })
  );
  await tick();
  task.cancel("via signal");
  await task.then(() => {}, () => {});
  assertInstanceOf(reason, CancelledError);
  assert(task.cancelled());
  assertStrictEquals(task.signal.reason, reason);
});

Deno.test("an AbortError from a signal-taking API ends a cancelled task as cancelled", async () => {
  const task = createTask(async (signal) => {
    await new Promise((_, reject) =>
      signal.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")))
    );
  });
  await tick();
  task.cancel();
  await task.then(() => {}, () => {});
  assert(task.cancelled());
  assert(isCancellation(new DOMException("x", "AbortError")));
});

Deno.test("an AbortError without a cancel request is a plain failure", async () => {
  const task = createTask(() => {
    throw new DOMException("someone else's controller", "AbortError");
  });
  await task.then(() => {}, () => {});
  assertFalse(task.cancelled());
  assertEquals((task.exception() as DOMException).name, "AbortError");
});

Deno.test("raising CancelledError without a request still ends the task cancelled", async () => {
  const task = createTask(() => {
    throw new CancelledError("self");
  });
  await task.then(() => {}, () => {});
  assert(task.cancelled());
});

Deno.test("a task that catches CancelledError ends normally if it returns", async () => {
  const task = createTask(async () => {
    try {
      await sleep(60_000);
    } catch {
      return "swallowed";
    }
  });
  await tick();
  task.cancel();
  assertEquals(await task, "swallowed");
  assertFalse(task.cancelled());
});

Deno.test("cancellation sticks until uncancel(): later awaits reject, then work again", async () => {
  const log: string[] = [];
  const task = createTask(async () => {
    try {
      await sleep(60_000);
    } catch {
      log.push("first");
    }
    try {
      await sleep(1);
    } catch {
      log.push("still cancelled");
    }
    assertEquals(currentTask()!.cancelling(), 1);
    assertEquals(currentTask()!.uncancel(), 0);
    await sleep(1);
    log.push("carried on");
    return "done";
  });
  await tick();
  task.cancel();
  assertEquals(await task, "done");
  assertEquals(log, ["first", "still cancelled", "carried on"]);
});

Deno.test("cancelling() counts requests; uncancel() never goes below zero", async () => {
  const task = createTask(() => sleep(60_000));
  assertEquals(task.cancelling(), 0);
  assertEquals(task.uncancel(), 0);
  task.cancel();
  task.cancel();
  assertEquals(task.cancelling(), 2);
  await task.then(() => {}, () => {});
});

Deno.test("currentTask() inside and outside tasks, across awaits", async () => {
  assertEquals(currentTask(), undefined);
  const task: Task<unknown> = createTask(async () => {
    assertStrictEquals(currentTask(), task);
    await sleep(1);
    assertStrictEquals(currentTask(), task);
    const child = createTask(() => currentTask()?.name, { name: "child" });
    assertEquals(await child, "child");
    assertStrictEquals(currentTask(), task);
  });
  await task;
  assertEquals(currentTask(), undefined);
});

Deno.test("allTasks() holds exactly the unfinished tasks", async () => {
  const a = createTask(() => sleep(5));
  const b = createTask(() => 1);
  assert(allTasks().has(a) && allTasks().has(b));
  await b;
  assertFalse(allTasks().has(b));
  assert(allTasks().has(a));
  await a;
  assertFalse(allTasks().has(a));
});

Deno.test("awaiting a cancelled future inside a task ends the task cancelled", async () => {
  const fut = createFuture<number>();
  const task = createTask(() => fut);
  fut.cancel();
  await task.then(() => {}, () => {});
  assert(task.cancelled());
});

Deno.test("FakeTime: a task sleeping 1 h finishes when the clock advances", async () => {
  using time = new FakeTime();
  let done = false;
  const task = createTask(async () => {
    await sleep(3_600_000);
    done = true;
  });
  await time.tickAsync(3_599_999);
  assertFalse(done);
  await time.tickAsync(1);
  await task;
  assert(done);
});

Deno.test("allTasks() stays exact as tasks finish in any order", async () => {
  const tasks = Array.from({ length: 50 }, (_, i) => createTask(() => sleep((i * 7) % 13)));
  const alive = () => tasks.filter((t) => allTasks().has(t)).length;
  assertEquals(alive(), 50);
  await tasks[0];
  for (const t of tasks) {
    await t;
    assertFalse(allTasks().has(t));
  }
  assertEquals(alive(), 0);
});

Deno.test("a function without parameters reads the signal from currentTask()", async () => {
  const task = createTask(async () => {
    const signal = currentTask()!.signal;
    await sleep(60_000).catch(() => {});
    return signal.aborted;
  });
  await sleep(1);
  task.cancel();
  assertEquals(await task, true);
});

Deno.test("test_cancel_at_end: a cancel request never delivered at an await ends the task cancelled", async () => {
  const task: Task<number> = createTask(() => {
    task.cancel("at the end");
    return 12;
  });
  await assertRejects(() => Promise.resolve(task), CancelledError, "at the end");
  assert(task.cancelled());
  // Also after awaiting something aio does not control, which cannot deliver it.
  const late: Task<number> = createTask(async () => {
    await new Promise((resolve) => setTimeout(resolve, 0));
    late.cancel();
    return 12;
  });
  await assertRejects(() => Promise.resolve(late), CancelledError);
  // A request delivered at an aio await and caught still lets the task return.
  const caught = createTask(async () => {
    currentTask()!.cancel();
    try {
      await sleep(60_000);
    } catch {
      return "caught";
    }
  });
  assertEquals(await caught, "caught");
  assertFalse(caught.cancelled());
});
