/**
 * Lesson 8 — done-callbacks run once, in order, after the result is set.
 *
 *     deno run examples/tour/08_done_callbacks.ts
 */
import { createTask, type Future, sleep } from "../../mod.ts";

const task = createTask(() => sleep(10, { value: 42 }), { name: "answer" });
task.addDoneCallback((t: Future<number>) => console.log("callback 1: result", t.result()));
task.addDoneCallback(() => console.log("callback 2: runs after callback 1"));
await task;
await sleep(1);
console.log("task finished");
