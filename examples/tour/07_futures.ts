/**
 * Lesson 7 — a future set by another task.
 *
 *     deno run examples/tour/07_futures.ts
 */
import { createFuture, createTask, type Future, sleep } from "../../mod.ts";

async function setAfter(fut: Future<string>): Promise<void> {
  await sleep(20);
  fut.setResult("666");
}

const fut = createFuture<string>();
createTask(() => setAfter(fut));
console.log("waiting for the future...");
console.log("future result:", await fut, "| done:", fut.done());
