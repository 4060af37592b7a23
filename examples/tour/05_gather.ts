/**
 * Lesson 5 — `gather`, including gathering groups of work; results come back
 * in input order, and failures can be returned instead of thrown. Cancelling
 * a gather cancels its children: tasks (and futures) stop; a plain promise
 * could not be stopped, so work to cancel goes in tasks.
 *
 *     deno run examples/tour/05_gather.ts
 */
import { CancelledError, createTask, gather, sleep } from "../../mod.ts";

const group1 = gather([sleep(30, { value: "a" }), sleep(10, { value: "b" })]);
const group2 = gather([sleep(20, { value: "c" })]);
console.log("groups:", JSON.stringify(await gather([group1, group2])));

const settled = await gather([
  sleep(5, { value: "fine" }),
  Promise.reject(new Error("broken")),
], { returnExceptions: true });
console.log("with returnExceptions:", settled.map((r) => r instanceof Error ? r.message : r));

// Two long jobs as tasks: the cancel reaches each one's sleep.
const children = [1, 2].map((n) => createTask(() => sleep(10_000), { name: `sleeper-${n}` }));
const all = gather(children);
setTimeout(() => all.cancel(), 10);
try {
  await all;
} catch (e) {
  if (!(e instanceof CancelledError)) throw e;
  console.log("cancelling the gather:", e.name);
}
console.log("children cancelled:", children.map((t) => t.cancelled()).join(", "));
