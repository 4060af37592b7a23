/**
 * Lesson 3 — creating tasks and awaiting them: two 50 ms jobs as tasks take
 * about 50 ms in all, not 100.
 *
 *     deno run examples/tour/03_tasks.ts
 */
import { createTask, sleep } from "../../mod.ts";

async function job(name: string): Promise<string> {
  console.log(`${name}: start`);
  await sleep(50);
  console.log(`${name}: end`);
  return `${name} done`;
}

const t0 = performance.now();
const t1 = createTask(() => job("job 1"));
const t2 = createTask(() => job("job 2"));
console.log("both tasks created; awaiting them");
console.log(await t1, "|", await t2);
const elapsed = performance.now() - t0;
console.log(`ran concurrently: ${elapsed < 95 ? "yes" : "no"} (${Math.round(elapsed)} ms)`);
