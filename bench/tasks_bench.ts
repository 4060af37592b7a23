/**
 * Creating and awaiting 100,000 tasks, side by side with plain async
 * functions and `Promise.all` in the same run.
 *
 *     deno task bench bench/tasks_bench.ts
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { createFuture, createTask } from "../mod.ts";
import { checkSum } from "./_check.ts";

const N = 100_000;

async function work(i: number): Promise<number> {
  await null;
  return i;
}

Deno.bench("raw async functions + Promise.all", {
  group: "100k tasks",
  baseline: true,
}, async () => {
  const all = new Array<Promise<number>>(N);
  for (let i = 0; i < N; i++) all[i] = work(i);
  const values = await Promise.all(all);
  checkSum(N, (i) => values[i]);
});

// The floor under any ambient context: the same raw functions, each run in
// its own AsyncLocalStorage frame (what every aio task needs for
// `currentTask()` and ambient cancellation).
const als = new AsyncLocalStorage<object>();
Deno.bench("raw async functions in AsyncLocalStorage.run + Promise.all", {
  group: "100k tasks",
}, async () => {
  const all = new Array<Promise<number>>(N);
  for (let i = 0; i < N; i++) all[i] = als.run({}, work, i);
  const values = await Promise.all(all);
  checkSum(N, (i) => values[i]);
});

Deno.bench("aio createTask + Promise.all", { group: "100k tasks" }, async () => {
  const all = new Array<PromiseLike<number>>(N);
  for (let i = 0; i < N; i++) all[i] = createTask(() => work(i));
  const values = await Promise.all(all);
  checkSum(N, (i) => values[i]);
});

Deno.bench("aio createTask awaited inside a task", { group: "100k tasks" }, async () => {
  const values = await createTask(async () => {
    const all = new Array<PromiseLike<number>>(N);
    for (let i = 0; i < N; i++) all[i] = createTask(() => work(i));
    return await Promise.all(all);
  });
  checkSum(N, (i) => values[i]);
});

Deno.bench("aio createFuture + setResult + Promise.all", { group: "100k futures" }, async () => {
  const all = new Array<PromiseLike<number>>(N);
  for (let i = 0; i < N; i++) {
    const f = createFuture<number>();
    all[i] = f;
    queueMicrotask(() => f.setResult(i));
  }
  const values = await Promise.all(all);
  checkSum(N, (i) => values[i]);
});
