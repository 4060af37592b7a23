/**
 * Lesson 1 — coroutine functions and coroutine objects.
 *
 * In Python, calling `async def f()` makes a coroutine object that does
 * nothing until the event loop runs it. In JavaScript, calling an async
 * function starts it at once and returns a promise; a *function* is the
 * equivalent of a coroutine that has not started yet, which is why
 * `createTask` takes a function.
 *
 *     deno run examples/tour/01_coroutines.ts
 */
import { createTask, sleep } from "../../mod.ts";

async function func(): Promise<string> {
  console.log("func: running");
  await sleep(1); // a coroutine suspends at its awaits
  return "abc";
}

console.log("calling func() starts it right away:");
const promise = func(); // like asyncio.run(func()) already running
console.log("result:", await promise);

console.log("a function is a coroutine that has not started:");
const notStarted = () => func();
console.log("nothing printed yet; now run it as a task:");
console.log("result:", await createTask(notStarted));
