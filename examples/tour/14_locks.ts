/**
 * Lesson 14 — synchronisation: asyncio's `Lock`, `Event`, `Condition`,
 * `Semaphore` and `Barrier`. Python's `async with lock:` is
 * `using _ = await lock.acquire()` here: the permit is released at the end
 * of the block, even if it throws.
 *
 *     deno run examples/tour/14_locks.ts
 */
import { Barrier, Condition, Event, Lock, Semaphore, sleep, TaskGroup } from "../../mod.ts";

// 1. Lock: a read-modify-write with an await in the middle loses updates
//    unless the tasks take turns.
let counter = 0;
async function increment(lock?: Lock): Promise<void> {
  using _permit = lock ? await lock.acquire() : undefined;
  const seen = counter;
  await sleep(5); // e.g. a database round trip
  counter = seen + 1;
}
await TaskGroup.run((tg) => {
  for (let i = 0; i < 3; i++) tg.createTask(() => increment());
});
console.log(`without a lock: counter = ${counter} after 3 increments`);
counter = 0;
const lock = new Lock();
await TaskGroup.run((tg) => {
  for (let i = 0; i < 3; i++) tg.createTask(() => increment(lock));
});
console.log(`with a lock: counter = ${counter} after 3 increments`);

// 2. Event: one task waits until another says "go".
const go = new Event();
await TaskGroup.run((tg) => {
  tg.createTask(async () => {
    console.log("waiter: waiting for the event");
    await go.wait();
    console.log("waiter: the event is set, off we go");
  });
  tg.createTask(async () => {
    await sleep(10);
    console.log("setter: setting the event");
    go.set();
  });
});

// 3. Condition: a consumer waits, lock held, until there is something to
//    take; the producer notifies it after each item.
const cond = new Condition();
const shelf: number[] = [];
const taken: number[] = [];
await TaskGroup.run((tg) => {
  tg.createTask(async () => {
    while (taken.length < 3) {
      using _permit = await cond.acquire();
      await cond.waitFor(() => shelf.length > 0);
      taken.push(shelf.shift()!);
    }
  });
  tg.createTask(async () => {
    for (let item = 1; item <= 3; item++) {
      await sleep(5);
      using _permit = await cond.acquire();
      shelf.push(item);
      cond.notify();
    }
  });
});
console.log(`consumer took ${taken.join(", ")} as the producer made them`);

// 4. Semaphore: six downloads, at most two at a time.
const slots = new Semaphore(2);
let running = 0;
let peak = 0;
await TaskGroup.run((tg) => {
  for (let i = 1; i <= 6; i++) {
    tg.createTask(async () => {
      using _permit = await slots.acquire();
      peak = Math.max(peak, ++running);
      await sleep(10); // the download
      running--;
    });
  }
});
console.log(`6 downloads ran, at most ${peak} at once`);

// 5. Barrier: nobody starts the next phase until all three are ready.
const barrier = new Barrier(3);
const ready: string[] = [];
let wentOn = 0;
await TaskGroup.run((tg) => {
  for (const [name, ms] of [["a", 5], ["b", 15], ["c", 10]] as const) {
    tg.createTask(async () => {
      await sleep(ms);
      ready.push(name);
      await barrier.wait();
      if (ready.length === 3) wentOn++; // nobody passes before all are ready
    });
  }
});
console.log(`barrier: ${ready.join(", ")} got ready; then all ${wentOn} went on together`);
