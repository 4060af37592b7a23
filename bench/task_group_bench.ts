/**
 * A TaskGroup with 100,000 children vs raw async functions + `Promise.all`,
 * in the same run.
 *
 *     deno task bench bench/task_group_bench.ts
 */
import { TaskGroup } from "../mod.ts";

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
  await Promise.all(all);
});

Deno.bench("aio TaskGroup.run with 100k createTask", { group: "100k children" }, async () => {
  await TaskGroup.run((tg) => {
    for (let i = 0; i < N; i++) tg.createTask(() => work(i));
  });
});
