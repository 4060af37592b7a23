/**
 * Lesson 15 — queues: asyncio's `Queue` for producers and consumers, with
 * `taskDone()`/`join()`, `shutdown()` and `for await`, plus `PriorityQueue`
 * and `LifoQueue`.
 *
 *     deno run examples/tour/15_queues.ts
 */
import { LifoQueue, PriorityQueue, Queue, sleep, TaskGroup } from "../../mod.ts";

// 1. Workers take jobs from a queue; join() returns once every job put was
//    marked done. Then the workers, looping forever, are cancelled.
const jobs = new Queue<number>();
for (const ms of [30, 10, 20, 10, 10, 20]) jobs.putNowait(ms);
const done = new Map<string, number>();
await TaskGroup.run(async (tg) => {
  const workers = ["worker-1", "worker-2", "worker-3"].map((name) =>
    tg.createTask(async () => {
      for (;;) {
        const ms = await jobs.get();
        await sleep(ms);
        done.set(name, (done.get(name) ?? 0) + 1);
        jobs.taskDone();
      }
    })
  );
  await jobs.join();
  console.log(`join() returned: all ${[...done.values()].reduce((a, b) => a + b)} jobs done`);
  for (const worker of workers) worker.cancel();
});

// 2. A bounded queue slows the producer down to the consumer's pace;
//    shutdown() ends the consumer's for-await loop once it is drained.
const words = new Queue<string>(1);
const seen: string[] = [];
await TaskGroup.run((tg) => {
  tg.createTask(async () => {
    for (const word of ["tasks", "locks", "queues"]) {
      await words.put(word); // waits while the queue is full
      console.log(`producer: put ${word}`);
    }
    words.shutdown();
  });
  tg.createTask(async () => {
    for await (const word of words) {
      await sleep(5);
      seen.push(word);
    }
    console.log(`consumer: got ${seen.join(", ")}; the loop ended at shutdown`);
  });
});

// 3. PriorityQueue: smallest first; [priority, data] entries like Python's
//    tuples. LifoQueue: last in, first out.
const todo = new PriorityQueue<[number, string]>();
todo.putNowait([3, "tidy up"]);
todo.putNowait([1, "fix the outage"]);
todo.putNowait([2, "answer mail"]);
const order: string[] = [];
while (!todo.empty()) order.push(todo.getNowait()[1]);
console.log(`priority order: ${order.join(" > ")}`);

const stack = new LifoQueue<number>();
[1, 2, 3].forEach((n) => stack.putNowait(n));
console.log(`lifo order: ${[stack.getNowait(), stack.getNowait(), stack.getNowait()].join(" ")}`);
