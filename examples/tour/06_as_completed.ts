/**
 * Lesson 6 — results in the order they complete, with `asCompleted`.
 *
 *     deno run examples/tour/06_as_completed.ts
 */
import { asCompleted, createTask, sleep } from "../../mod.ts";

const jobs = [30, 10, 20].map((ms) =>
  createTask(() => sleep(ms, { value: `${ms} ms` }), { name: `job-${ms}` })
);

console.log("classic form (promises in completion order):");
for (const next of asCompleted(jobs)) console.log("  got", await next);

console.log("3.13 form (the tasks themselves, as they finish):");
const more = [25, 5].map((ms) => createTask(() => sleep(ms), { name: `job-${ms}` }));
for await (const { awaitable: task, index } of asCompleted(more)) {
  console.log("  finished", task.name, "(input", index + ")");
}
