/**
 * Lesson 6 — results in the order they complete, with `asCompleted`.
 *
 *     deno run examples/tour/06_as_completed.ts
 */
import { asCompleted, createTask, sleep } from "../../mod.ts";

// The delays are 100 ms apart, so that a busy machine pausing this program
// between two of them cannot change which finishes first.
const jobs = [300, 100, 200].map((ms) =>
  createTask(() => sleep(ms, { value: `${ms} ms` }), { name: `job-${ms}` })
);

console.log("classic form (promises in completion order):");
for (const next of asCompleted(jobs)) console.log("  got", await next);

console.log("3.13 form (the tasks themselves, as they finish):");
const more = [250, 50].map((ms) => createTask(() => sleep(ms), { name: `job-${ms}` }));
for await (const { awaitable: task, index } of asCompleted(more)) {
  console.log("  finished", task.name, "(input", index + ")");
}
