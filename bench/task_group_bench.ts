/**
 * A TaskGroup with 100,000 children vs raw async functions + `Promise.all`,
 * and a Semaphore-limited fan-out (10,000 jobs, at most 100 at a time) vs
 * `pooledMap` from `@std/async`, each pair in the same run.
 *
 *     deno task bench bench/task_group_bench.ts
 */
import { pooledMap } from "@std/async/pool";
import { Semaphore, type Task, TaskGroup } from "../mod.ts";
import { checkSum } from "./_check.ts";

const N = 100_000;

async function work(i: number): Promise<number> {
  await null;
  return i;
}

Deno.bench("raw async functions + Promise.all", {
  group: "100k children",
  baseline: true,
}, async () => {
  const all = new Array<Promise<number>>(N);
  for (let i = 0; i < N; i++) all[i] = work(i);
  const values = await Promise.all(all);
  checkSum(N, (i) => values[i]);
});

Deno.bench("aio TaskGroup.run with 100k createTask", { group: "100k children" }, async () => {
  const tasks = await TaskGroup.run((tg) => {
    const tasks = new Array<Task<number>>(N);
    for (let i = 0; i < N; i++) tasks[i] = tg.createTask(() => work(i));
    return tasks;
  });
  checkSum(N, (i) => tasks[i].result());
});

const JOBS = 10_000;
const LIMIT = 100;
const inputs = Array.from({ length: JOBS }, (_, i) => i);

/** A job: one tiny async step. */
async function step(i: number): Promise<number> {
  await null;
  return i * 2;
}

Deno.bench("std pooledMap(100, 10k jobs)", {
  group: "10k jobs, limit 100",
  baseline: true,
}, async () => {
  let sum = 0;
  for await (const r of pooledMap(LIMIT, inputs, (i: number) => step(i))) sum += r;
  if (sum !== JOBS * (JOBS - 1)) throw new Error(`wrong sum ${sum}`);
});

Deno.bench("aio Semaphore(100) + async functions + Promise.all", {
  group: "10k jobs, limit 100",
}, async () => {
  const sem = new Semaphore(LIMIT);
  let sum = 0;
  await Promise.all(inputs.map(async (i) => {
    using _permit = await sem.acquire();
    const r = await step(i);
    sum += r;
  }));
  if (sum !== JOBS * (JOBS - 1)) throw new Error(`wrong sum ${sum}`);
});

// Bounded spawning: the group's body takes a permit before creating each
// task, and the task's end gives it back, so at most 100 tasks are alive.
Deno.bench("aio Semaphore(100) + TaskGroup, body acquires per createTask", {
  group: "10k jobs, limit 100",
}, async () => {
  const sem = new Semaphore(LIMIT);
  let sum = 0;
  await TaskGroup.run(async (tg) => {
    for (const i of inputs) {
      const permit = await sem.acquire();
      tg.createTask(async () => {
        const r = await step(i);
        sum += r;
      }).addDoneCallback(() => permit.release());
    }
  });
  if (sum !== JOBS * (JOBS - 1)) throw new Error(`wrong sum ${sum}`);
});

// 10,000 tasks at once, 9,900 of them parked in acquire(): each parked task
// is cancellable, which costs a cancel-hook subscription per task.
Deno.bench("aio Semaphore(100) + TaskGroup, 10k tasks each acquiring", {
  group: "10k jobs, limit 100",
}, async () => {
  const sem = new Semaphore(LIMIT);
  let sum = 0;
  await TaskGroup.run((tg) => {
    for (const i of inputs) {
      tg.createTask(async () => {
        using _permit = await sem.acquire();
        const r = await step(i);
        sum += r;
      });
    }
  });
  if (sum !== JOBS * (JOBS - 1)) throw new Error(`wrong sum ${sum}`);
});

// For reference: the same 10,000 tasks with no limit at all.
Deno.bench("(reference) TaskGroup, 10k tasks, no semaphore", {
  group: "10k jobs, limit 100",
}, async () => {
  let sum = 0;
  await TaskGroup.run((tg) => {
    for (const i of inputs) {
      tg.createTask(async () => {
        const r = await step(i);
        sum += r;
      });
    }
  });
  if (sum !== JOBS * (JOBS - 1)) throw new Error(`wrong sum ${sum}`);
});
