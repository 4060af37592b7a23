import {
  assert,
  assertEquals,
  assertFalse,
  assertInstanceOf,
  assertRejects,
  assertThrows,
} from "@std/assert";
import { pooledMap } from "@std/async/pool";
import { FakeTime } from "@std/testing/time";
import {
  Barrier,
  BoundedSemaphore,
  BrokenBarrierError,
  CancelledError,
  Condition,
  createTask,
  Event,
  InvalidStateError,
  Lock,
  type Permit,
  Semaphore,
  sleep,
  type Task,
  TaskGroup,
} from "../mod.ts";
import { outcome, settle } from "./_settle.ts";

/** Resolves true if `p` is already settled (after pending microtasks ran). */
async function isSettled(p: Promise<unknown>): Promise<boolean> {
  let settled = false;
  p.then(() => settled = true, () => settled = true);
  await settle();
  return settled;
}

// ---------------------------------------------------------------- Lock

Deno.test("Lock: acquire, locked, release; releasing an unlocked lock throws", async () => {
  const lock = new Lock();
  assertFalse(lock.locked());
  await lock.acquire();
  assert(lock.locked());
  lock.release();
  assertFalse(lock.locked());
  assertThrows(() => lock.release(), InvalidStateError, "Cannot release lock: it is not acquired");
});

Deno.test("Lock: waiters acquire in FIFO order", async () => {
  const lock = new Lock();
  const order: number[] = [];
  const first = await lock.acquire();
  const tasks = [0, 1, 2, 3, 4].map((i) =>
    createTask(async () => {
      using _ = await lock.acquire();
      order.push(i);
      await sleep(1);
    })
  );
  await settle();
  first.release();
  await Promise.all(tasks);
  assertEquals(order, [0, 1, 2, 3, 4]);
  assertFalse(lock.locked());
});

Deno.test("Lock: a newcomer cannot barge past a woken waiter", async () => {
  const lock = new Lock();
  const order: string[] = [];
  const held = await lock.acquire();
  const waiter = createTask(async () => {
    using _ = await lock.acquire();
    order.push("waiter");
  });
  await settle();
  held.release();
  assert(lock.locked(), "the lock is handed over, not unlocked");
  const newcomer = lock.acquire().then((p) => {
    order.push("newcomer");
    p.release();
  });
  await Promise.all([waiter, newcomer]);
  assertEquals(order, ["waiter", "newcomer"]);
});

Deno.test("Lock: cancelling the task parked in acquire() rejects it; nothing is held", async () => {
  const lock = new Lock();
  const held = await lock.acquire();
  const waiter = createTask(() => lock.acquire());
  await settle();
  waiter.cancel();
  assertEquals(await outcome(waiter), { error: "CancelledError" });
  held.release();
  assertFalse(lock.locked(), "the cancelled waiter left the line");
});

Deno.test("Lock: an explicit signal cancels the wait with its reason", async () => {
  const lock = new Lock();
  await lock.acquire();
  const controller = new AbortController();
  const wait = lock.acquire({ signal: controller.signal });
  controller.abort(new Error("gave up"));
  await assertRejects(() => wait, Error, "gave up");
  lock.release();
  assertFalse(lock.locked());
  // An already aborted signal does not take a free lock.
  await assertRejects(() => lock.acquire({ signal: controller.signal }), Error, "gave up");
  assertFalse(lock.locked());
});

Deno.test("Lock: a waiter cancelled after being handed the lock passes it on", async () => {
  const lock = new Lock();
  const held = await lock.acquire();
  const a = createTask(() => lock.acquire());
  const b = createTask(async () => {
    using _ = await lock.acquire();
    return "b";
  });
  await settle();
  held.release(); // hands the lock to a...
  a.cancel(); // ...which is cancelled before it resumes
  assertEquals(await outcome(a), { error: "CancelledError" });
  assertEquals(await b, "b");
  assertFalse(lock.locked());
});

Deno.test("Lock: a woken-then-cancelled last waiter unlocks the lock", async () => {
  const lock = new Lock();
  const held = await lock.acquire();
  const a = createTask(() => lock.acquire());
  await settle();
  held.release();
  a.cancel();
  assertEquals(await outcome(a), { error: "CancelledError" });
  assertFalse(lock.locked());
});

Deno.test("Lock: a using block releases once, even when it throws", async () => {
  const lock = new Lock();
  let permit: Permit | undefined;
  await assertRejects(
    async () => {
      using p = await lock.acquire();
      permit = p;
      throw new Error("inside");
    },
    Error,
    "inside",
  );
  assertFalse(lock.locked());
  await lock.acquire();
  permit!.release(); // already released: must not release the new hold
  permit![Symbol.dispose]();
  assert(lock.locked());
  lock.release();
});

Deno.test("Lock: 10,000 waiters are served in order", async () => {
  const lock = new Lock();
  const n = 10_000;
  const order: number[] = [];
  const held = await lock.acquire();
  const waits: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    waits.push(
      lock.acquire().then((p) => {
        order.push(i);
        p.release();
      }),
    );
  }
  held.release();
  await Promise.all(waits);
  assertEquals(order.length, n);
  assert(order.every((v, i) => v === i));
  assertFalse(lock.locked());
});

Deno.test("every wait is a checkpoint: an already cancelled task takes nothing, even uncontended", async () => {
  const lock = new Lock();
  const sem = new Semaphore(1);
  const event = new Event();
  event.set();
  const barrier = new Barrier(1);
  const cond = new Condition();
  const task = createTask(async () => {
    try {
      await sleep(60_000);
    } catch {
      // cancelled; the task stays cancelled
    }
    const results = await Promise.allSettled([
      lock.acquire(),
      sem.acquire(),
      event.wait(),
      barrier.wait(),
      cond.acquire(),
    ]);
    return results.map((r) => r.status === "rejected" && r.reason.name);
  });
  await settle();
  task.cancel();
  assertEquals(await task, Array(5).fill("CancelledError"));
  assertFalse(lock.locked());
  assertFalse(sem.locked());
  assertFalse(cond.locked());
  assertEquals(barrier.nWaiting, 0);
  assertEquals(await barrier.wait(), 0);
});

// ---------------------------------------------------------------- Event

Deno.test("Event: wait blocks until set; set wakes all; clear re-arms", async () => {
  const event = new Event();
  const woke: number[] = [];
  const waiters = [1, 2, 3].map((i) => event.wait().then(() => woke.push(i)));
  assertFalse(await isSettled(waiters[0]));
  event.set();
  await Promise.all(waiters);
  assertEquals(woke, [1, 2, 3]);
  assert(event.isSet());
  await event.wait(); // returns at once
  event.clear();
  assertFalse(event.isSet());
  const controller = new AbortController();
  const again = event.wait({ signal: controller.signal });
  assertFalse(await isSettled(again));
  controller.abort();
  await assertRejects(() => again);
});

Deno.test("Event: a cancelled waiter rejects; the others still wake", async () => {
  const event = new Event();
  const a = createTask(() => event.wait());
  const b = createTask(() => event.wait());
  const controller = new AbortController();
  const c = event.wait({ signal: controller.signal });
  await settle();
  a.cancel();
  controller.abort(new CancelledError("by signal"));
  assertEquals(await outcome(a), { error: "CancelledError" });
  await assertRejects(() => c, CancelledError, "by signal");
  event.set();
  assertEquals(await outcome(b), { value: undefined });
});

// ---------------------------------------------------------------- Condition

Deno.test("Condition: wait and notify need the lock", async () => {
  const cond = new Condition();
  await assertRejects(() => cond.wait(), InvalidStateError, "its lock is not acquired");
  assertThrows(() => cond.notify(), InvalidStateError, "its lock is not acquired");
  assertThrows(() => cond.notifyAll(), InvalidStateError);
});

Deno.test("Condition: bad arguments are typed errors naming the value", async () => {
  assertThrows(
    () => new Condition({} as Lock),
    TypeError,
    "'lock' must be a Lock: current value is an instance of Object",
  );
  const cond = new Condition();
  using _ = await cond.acquire();
  assertThrows(() => cond.notify(-1), RangeError, "current value is -1");
  await assertRejects(
    () => cond.waitFor("ready" as unknown as () => boolean),
    TypeError,
    `'predicate' must be a function: current value is "ready"`,
  );
});

Deno.test("Condition: notify(n) wakes n waiters in FIFO order; notifyAll the rest", async () => {
  const cond = new Condition();
  const woke: number[] = [];
  const tasks = [0, 1, 2, 3, 4].map((i) =>
    createTask(async () => {
      using _ = await cond.acquire();
      await cond.wait();
      assert(cond.locked());
      woke.push(i);
    })
  );
  await settle();
  {
    using _ = await cond.acquire();
    cond.notify(2);
  }
  await Promise.all(tasks.slice(0, 2));
  await settle();
  assertEquals(woke, [0, 1]);
  {
    using _ = await cond.acquire();
    cond.notifyAll();
  }
  await Promise.all(tasks);
  assertEquals(woke, [0, 1, 2, 3, 4]);
  assertFalse(cond.locked());
});

Deno.test("Condition: a cancelled wait re-acquires the lock before rejecting", async () => {
  const cond = new Condition();
  let heldWhenRejected = false;
  const waiter = createTask(async () => {
    using _ = await cond.acquire();
    try {
      await cond.wait();
    } catch (e) {
      heldWhenRejected = cond.locked();
      throw e;
    }
  });
  await settle();
  // Hold the lock so the cancelled waiter must wait to get it back.
  const mine = await cond.acquire();
  waiter.cancel();
  await settle();
  assertFalse(waiter.done(), "it cannot return before it has the lock");
  mine.release();
  assertEquals(await outcome(waiter), { error: "CancelledError" });
  assert(heldWhenRejected);
  assertFalse(cond.locked());
});

Deno.test("Condition: a waiter cancelled after being notified passes the notification on", async () => {
  const cond = new Condition();
  const woke: string[] = [];
  const waiter = (name: string) =>
    createTask(async () => {
      using _ = await cond.acquire();
      await cond.wait();
      woke.push(name);
    });
  const a = waiter("a");
  const b = waiter("b");
  await settle();
  {
    using _ = await cond.acquire();
    cond.notify(1); // for a...
    a.cancel(); // ...cancelled before it resumes
  }
  assertEquals(await outcome(a), { error: "CancelledError" });
  await b;
  assertEquals(woke, ["b"]);
});

Deno.test("Condition: waitFor re-checks the predicate after each wake-up", async () => {
  const cond = new Condition();
  let count = 0;
  const waiter = createTask(async () => {
    using _ = await cond.acquire();
    return await cond.waitFor(() => count >= 3 && count);
  });
  for (let i = 0; i < 3; i++) {
    await settle();
    using _ = await cond.acquire();
    count++;
    cond.notifyAll();
  }
  assertEquals(await waiter, 3);
});

Deno.test("Condition: two conditions can share one lock", async () => {
  const lock = new Lock();
  const a = new Condition(lock);
  const b = new Condition(lock);
  using _ = await a.acquire();
  assert(b.locked());
});

// ---------------------------------------------------------------- Semaphore

Deno.test("Semaphore: bad values are typed errors naming the value", () => {
  assertThrows(
    () => new Semaphore(-1),
    RangeError,
    "Cannot create Semaphore: 'value' must be a non-negative integer: current value is -1",
  );
  assertThrows(
    () => new Semaphore(1.5),
    RangeError,
    "must be a non-negative integer: current value is 1.5",
  );
  assertThrows(
    () => new Semaphore("3" as unknown as number),
    TypeError,
    `must be a number: current value is "3"`,
  );
  assertThrows(() => new Semaphore(NaN), TypeError, "current value is NaN");
  assertThrows(() => new BoundedSemaphore(-2), RangeError, "BoundedSemaphore");
});

Deno.test("Semaphore: limits concurrency to its value", async () => {
  const sem = new Semaphore(3);
  let running = 0;
  let peak = 0;
  await TaskGroup.run((tg) => {
    for (let i = 0; i < 20; i++) {
      tg.createTask(async () => {
        using _ = await sem.acquire();
        peak = Math.max(peak, ++running);
        await sleep(1);
        running--;
      });
    }
  });
  assertEquals(peak, 3);
  assertFalse(sem.locked());
});

Deno.test("Semaphore: FIFO; a newcomer cannot take a released permit from a waiter", async () => {
  const sem = new Semaphore(1);
  const order: string[] = [];
  const held = await sem.acquire();
  const waiters = ["a", "b", "c"].map((name) =>
    createTask(async () => {
      using _ = await sem.acquire();
      order.push(name);
    })
  );
  await settle();
  held.release();
  assert(sem.locked(), "the permit went to the first waiter");
  const newcomer = sem.acquire().then((p) => {
    order.push("newcomer");
    p.release();
  });
  await Promise.all([...waiters, newcomer]);
  assertEquals(order, ["a", "b", "c", "newcomer"]);
});

/** How many permits can be taken at once without waiting. */
async function freePermits(sem: Semaphore): Promise<number> {
  const taken: Permit[] = [];
  while (!sem.locked()) taken.push(await sem.acquire());
  for (const p of taken) p.release();
  return taken.length;
}

Deno.test("Semaphore: a cancelled acquire consumes no permit (task and signal)", async () => {
  const sem = new Semaphore(2);
  const a = await sem.acquire();
  const b = await sem.acquire();
  const waiter = createTask(() => sem.acquire());
  const controller = new AbortController();
  const bySignal = sem.acquire({ signal: controller.signal });
  await settle();
  waiter.cancel();
  controller.abort();
  assertEquals(await outcome(waiter), { error: "CancelledError" });
  await assertRejects(() => bySignal);
  a.release();
  b.release();
  assertEquals(await freePermits(sem), 2);
});

Deno.test("Semaphore: an acquirer cancelled after it was woken passes the permit on", async () => {
  const sem = new Semaphore(1);
  const held = await sem.acquire();
  const a = createTask(() => sem.acquire());
  const b = createTask(async () => {
    using _ = await sem.acquire();
    return "b";
  });
  await settle();
  held.release(); // the permit goes to a...
  a.cancel(); // ...which is cancelled before it resumes
  assertEquals(await outcome(a), { error: "CancelledError" });
  assertEquals(await b, "b");
  assertEquals(await freePermits(sem), 1);
});

Deno.test("Semaphore: a woken-then-cancelled last waiter returns the permit to the pool", async () => {
  const sem = new BoundedSemaphore(1);
  const held = await sem.acquire();
  const a = createTask(() => sem.acquire());
  await settle();
  held.release();
  a.cancel();
  assertEquals(await outcome(a), { error: "CancelledError" });
  assertEquals(await freePermits(sem), 1);
  assertThrows(() => sem.release(), InvalidStateError, "released more times than acquired");
});

Deno.test("BoundedSemaphore: over-release throws and changes nothing", async () => {
  const sem = new BoundedSemaphore(2);
  assertThrows(
    () => sem.release(),
    InvalidStateError,
    "Cannot release BoundedSemaphore: released more times than acquired (all 2 permits are already free)",
  );
  const p = await sem.acquire();
  p.release();
  p.release(); // a permit releases once: no over-release
  assertEquals(await freePermits(sem), 2);
  // A plain Semaphore may be released above its initial value, as in asyncio.
  const plain = new Semaphore(1);
  plain.release();
  assertEquals(await freePermits(plain), 2);
});

Deno.test("Semaphore: 10,000 waiters, FIFO, with cancelled ones in between", async () => {
  const sem = new Semaphore(0);
  const n = 10_000;
  const order: number[] = [];
  const controllers: AbortController[] = [];
  const waits: Promise<unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const controller = new AbortController();
    controllers.push(controller);
    waits.push(
      sem.acquire({ signal: controller.signal }).then((p) => {
        order.push(i);
        p.release();
      }, () => "cancelled"),
    );
  }
  for (let i = 1; i < n; i += 2) controllers[i].abort(); // every odd waiter gives up
  sem.release();
  await Promise.all(waits);
  assertEquals(order.length, n / 2);
  assert(order.every((v, i) => v === 2 * i));
  assertEquals(await freePermits(sem), 1);
});

Deno.test("Semaphore: acquire waits through simulated time (FakeTime)", async () => {
  using time = new FakeTime();
  const sem = new Semaphore(1);
  const log: string[] = [];
  const worker = (name: string) =>
    createTask(async () => {
      using _ = await sem.acquire();
      log.push(`${name} at ${Date.now() - start}`);
      await sleep(60_000);
    });
  const start = Date.now();
  const tasks = [worker("a"), worker("b"), worker("c")];
  await time.tickAsync(0);
  await time.tickAsync(60_000);
  await time.tickAsync(60_000);
  await time.tickAsync(60_000);
  await Promise.all(tasks);
  assertEquals(log, ["a at 0", "b at 60000", "c at 120000"]);
});

// ---------------------------------------------------------------- Barrier

Deno.test("Barrier: bad parties are typed errors naming the value", () => {
  assertThrows(
    () => new Barrier(0),
    RangeError,
    "Cannot create barrier: 'parties' must be an integer >= 1: current value is 0",
  );
  assertThrows(() => new Barrier(2.5), RangeError, "current value is 2.5");
  assertThrows(() => new Barrier(undefined as unknown as number), TypeError, "undefined");
});

Deno.test("Barrier: releases a full set together, gives distinct indexes, and is reusable", async () => {
  const barrier = new Barrier(3);
  assertEquals(barrier.parties, 3);
  for (let round = 0; round < 2; round++) {
    const a = createTask(() => barrier.wait());
    const b = createTask(() => barrier.wait());
    await settle();
    assertEquals(barrier.nWaiting, 2);
    assertFalse(a.done());
    const c = await barrier.wait();
    const all = [await a, await b, c].sort();
    assertEquals(all, [0, 1, 2]);
    assertEquals(barrier.nWaiting, 0);
  }
  assertFalse(barrier.broken);
});

Deno.test("Barrier: a new arrival waits while a set drains, then joins the next set", async () => {
  const barrier = new Barrier(2);
  const first = createTask(() => barrier.wait());
  await settle();
  const second = barrier.wait(); // trips the barrier
  const third = barrier.wait(); // arrives while the set drains
  await Promise.all([first, second]);
  await settle();
  assertEquals(barrier.nWaiting, 1);
  const fourth = barrier.wait();
  assertEquals([await third, await fourth].sort(), [0, 1]);
});

Deno.test("Barrier: abort breaks current and later waits; reset repairs it", async () => {
  const barrier = new Barrier(3);
  const a = createTask(() => barrier.wait());
  await settle();
  barrier.abort();
  assert(barrier.broken);
  assertEquals(await outcome(a), { error: "BrokenBarrierError" });
  await assertRejects(() => barrier.wait(), BrokenBarrierError, "aborted");
  barrier.reset();
  assertFalse(barrier.broken);
  const tasks = [0, 1, 2].map(() => createTask(() => barrier.wait()));
  assertEquals((await Promise.all(tasks)).sort(), [0, 1, 2]);
});

Deno.test("Barrier: reset while tasks wait rejects them; the barrier is usable after", async () => {
  const barrier = new Barrier(3);
  const waiting = [createTask(() => barrier.wait()), createTask(() => barrier.wait())];
  await settle();
  barrier.reset();
  for (const t of waiting) {
    const error = await Promise.resolve(t).catch((e) => e);
    assertInstanceOf(error, BrokenBarrierError);
  }
  assertFalse(barrier.broken);
  assertEquals(barrier.nWaiting, 0);
  const again = [0, 1, 2].map(() => createTask(() => barrier.wait()));
  assertEquals((await Promise.all(again)).sort(), [0, 1, 2]);
});

Deno.test("Barrier: a cancelled waiter leaves without breaking the barrier", async () => {
  const barrier = new Barrier(2);
  const b = createTask(() => barrier.wait());
  await settle();
  assertEquals(barrier.nWaiting, 1);
  b.cancel();
  assertEquals(await outcome(b), { error: "CancelledError" });
  assertEquals(barrier.nWaiting, 0);
  const controller = new AbortController();
  const c = barrier.wait({ signal: controller.signal });
  await settle();
  assertEquals(barrier.nWaiting, 1);
  controller.abort();
  assertEquals(await outcome(c), { error: "AbortError" });
  assertEquals(barrier.nWaiting, 0);
  assertFalse(barrier.broken);
  const pair: Task<number>[] = [createTask(() => barrier.wait()), createTask(() => barrier.wait())];
  assertEquals((await Promise.all(pair)).sort(), [0, 1]);
});

Deno.test("Barrier: a waiter cancelled as the barrier trips rejects; the others pass", async () => {
  const barrier = new Barrier(3);
  const a = createTask(() => barrier.wait());
  const b = createTask(() => barrier.wait());
  await settle();
  const last = barrier.wait(); // trips: a and b are woken...
  a.cancel(); // ...and a is cancelled before it resumes
  assertEquals(await outcome(a), { error: "CancelledError" });
  assertEquals([await b, await last].sort(), [1, 2]);
  assertFalse(barrier.broken);
  assertEquals(barrier.nWaiting, 0);
});

Deno.test("a Semaphore bounds a fan-out as std's pooledMap does: same results, same peak", async () => {
  const LIMIT = 3;
  const inputs = Array.from({ length: 20 }, (_, i) => i);
  /** A job that records how many jobs run at once. */
  function counting() {
    let running = 0;
    const state = { peak: 0 };
    const job = async (i: number): Promise<number> => {
      state.peak = Math.max(state.peak, ++running);
      await sleep(i % 3);
      running--;
      return i * i;
    };
    return { state, job };
  }
  const std = counting();
  const viaStd: number[] = [];
  for await (const r of pooledMap(LIMIT, inputs, std.job)) viaStd.push(r);

  const aio = counting();
  const sem = new Semaphore(LIMIT);
  const viaAio = await Promise.all(inputs.map(async (i) => {
    using _permit = await sem.acquire();
    return await aio.job(i);
  }));

  assertEquals(viaStd.toSorted((a, b) => a - b), viaAio);
  assertEquals([std.state.peak, aio.state.peak], [LIMIT, LIMIT]);
});

Deno.test("release once: a permit of an ended Lock hold never frees the next hold", async () => {
  const lock = new Lock();
  const first = await lock.acquire();
  lock.release(); // asyncio style: the hold ends without its permit
  const second = await lock.acquire();
  first.release();
  assert(lock.locked(), "the stale permit freed another task's hold");
  second.release();
  assertFalse(lock.locked());
  second.release(); // a permit releases once: no error, no effect
  assertFalse(lock.locked());
  assertThrows(() => lock.release(), InvalidStateError, "not acquired");
});

Deno.test("release once: a using block ends its own hold only", async () => {
  const lock = new Lock();
  let other: Permit | undefined;
  {
    using _permit = await lock.acquire();
    lock.release();
    other = await lock.acquire();
  } // disposing the ended hold's permit leaves the other hold alone
  assert(lock.locked());
  other.release();
  assertFalse(lock.locked());
  const sem = new Semaphore(1);
  {
    using _permit = await sem.acquire();
    sem.release();
    other = await sem.acquire();
  }
  assert(sem.locked());
  other.release();
  assertFalse(sem.locked());
});

Deno.test("release once: a Semaphore permit never releases a hold that already ended", async () => {
  const sem = new Semaphore(2);
  const a = await sem.acquire();
  const b = await sem.acquire();
  sem.release(); // ends the oldest hold: a's
  a.release(); // a's hold has ended: nothing happens
  const c = await sem.acquire();
  assert(sem.locked(), "a stale permit gave back a permit it did not hold");
  b.release();
  b.release();
  assertFalse(sem.locked());
  c.release();
  // Both permits are back, and no more.
  const again = [await sem.acquire(), await sem.acquire()];
  assert(sem.locked());
  for (const p of again) p.release();
});

Deno.test("release once: a BoundedSemaphore permit after release() is a no-op, not an over-release", async () => {
  const sem = new BoundedSemaphore(1);
  const permit = await sem.acquire();
  sem.release();
  permit.release(); // the hold already ended: no error, no effect
  assertFalse(sem.locked());
  assertThrows(() => sem.release(), InvalidStateError, "released more times than acquired");
  const next = await sem.acquire();
  permit.release();
  assert(sem.locked(), "the stale permit freed the new hold");
  next.release();
  next.release();
  assertFalse(sem.locked());
});

Deno.test("release once: a Condition's permit outlives wait(), which keeps the hold its own", async () => {
  const cond = new Condition();
  const waiter = createTask(async () => {
    using _permit = await cond.acquire();
    await cond.wait();
    assert(cond.locked());
  });
  await sleep(0);
  {
    using _permit = await cond.acquire();
    cond.notify();
  }
  await waiter;
  // The waiter's permit, taken before wait(), released the lock at the end of its block.
  assertFalse(cond.locked());
});
