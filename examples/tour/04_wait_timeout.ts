/**
 * Lesson 4 — `wait` with a timeout: what finished is in `done`, the rest in
 * `pending`, and nothing is cancelled for you.
 *
 *     deno run examples/tour/04_wait_timeout.ts
 */
import { createTask, sleep, wait } from "../../mod.ts";

const tasks = [10, 30, 500].map((ms) =>
  createTask(() => sleep(ms, { value: `${ms} ms job` }), { name: `job-${ms}` })
);
const { done, pending } = await wait(tasks, { timeout: 100 });
console.log("done:", [...done].map((t) => t.name).join(", "));
console.log("pending:", [...pending].map((t) => t.name).join(", "));
for (const t of done) console.log("result:", await t);
for (const t of pending) t.cancel();
await wait(pending);
console.log("pending cancelled:", [...pending].every((t) => t.cancelled()));
