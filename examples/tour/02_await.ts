/**
 * Lesson 2 — `await` on coroutines, tasks and futures.
 *
 *     deno run examples/tour/02_await.ts
 */
import { createFuture, createTask, sleep } from "../../mod.ts";

async function others(): Promise<string> {
  console.log("others: start");
  await sleep(20);
  console.log("others: end");
  return "return value";
}

// await a coroutine (an async function call)
console.log("awaited coroutine:", await others());

// await a task
const task = createTask(others, { name: "others-task" });
console.log(`awaited task ${task.name}:`, await task);

// await a future that someone else resolves
const future = createFuture<string>();
setTimeout(() => future.setResult("set by a timer"), 10);
console.log("awaited future:", await future);
