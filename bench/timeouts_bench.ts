/**
 * The cost of one deadline around one step: an aio `timeoutAt` block (and
 * one that moves its deadline with `reschedule()`) side by side with the
 * hand-built `setTimeout`/`clearTimeout` pair it replaces, in the same run.
 * Each step awaits one resolved promise, so the rows differ only by what the
 * deadline costs.
 *
 *     deno task bench bench/timeouts_bench.ts
 */
import { createTask, time, timeoutAt } from "../mod.ts";
import { checkSum } from "./_check.ts";

const N = 10_000;

async function step(i: number): Promise<number> {
  await null;
  return i;
}

/** A step under a hand-built timer that would abort a controller. */
async function handBuilt(i: number): Promise<number> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 60_000);
  try {
    return await step(i);
  } finally {
    clearTimeout(timer);
  }
}

function run(one: (i: number) => Promise<number>): () => Promise<void> {
  return async () => {
    const values = new Array<number>(N);
    for (let i = 0; i < N; i++) values[i] = await one(i);
    checkSum(N, (i) => values[i]);
  };
}

const group = `${N / 1000}k steps, each under a deadline`;

Deno.bench("hand-built setTimeout + AbortController + clearTimeout", {
  group,
  baseline: true,
}, run(handBuilt));

Deno.bench("aio timeoutAt block", { group }, run((i) => timeoutAt(time() + 60_000, () => step(i))));

Deno.bench(
  "aio timeoutAt block, reschedule() before and after the step",
  { group },
  run((i) =>
    timeoutAt(time() + 60_000, async (_signal, deadline) => {
      deadline.reschedule(time() + 30_000);
      const value = await step(i);
      deadline.reschedule(time() + 60_000);
      return value;
    })
  ),
);

Deno.bench("aio timeoutAt block inside a task", { group }, async () => {
  await createTask(run((i) => timeoutAt(time() + 60_000, () => step(i))));
});
