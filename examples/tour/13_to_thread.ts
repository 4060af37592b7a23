/**
 * Lesson 13 — blocking work off the event loop: asyncio's `to_thread` and
 * `run_in_executor` are aio's `toThread` and `runInExecutor`, which run a
 * function in a Web Worker.
 *
 * A synchronous, CPU-bound call freezes the event loop: while it runs, no
 * timer fires, no socket is read and no other task moves. A ticker task
 * shows it: it stops ticking while `countPrimes` runs on the loop, and keeps
 * ticking while the same call runs in a worker through `toThread`.
 *
 *     deno run --allow-read examples/tour/13_to_thread.ts
 *
 * `--allow-read`: each worker loads modules from disk, aio's worker module
 * and this file (the job is this file's own export, found through
 * `import.meta.url`). This file is therefore also evaluated inside the
 * worker: its program sits behind `if (import.meta.main)`.
 *
 * @module
 */
import {
  checkCancelled,
  createTask,
  shutdownDefaultExecutor,
  sleep,
  timeout,
  TimeoutError,
  toThread,
} from "../../mod.ts";

/**
 * Counts the primes below `limit` by trial division: pure CPU work. It is
 * exported so that a worker can find it by name, it uses nothing but its
 * arguments (no closure reaches a worker), and it calls `checkCancelled()`
 * now and then, so that a cancelled job stops: a loop that never yields
 * cannot be interrupted otherwise.
 */
export function countPrimes(limit: number): number {
  let count = 0;
  for (let n = 2; n < limit; n++) {
    if (n % 4096 === 0) checkCancelled();
    let prime = true;
    for (let d = 2; d * d <= n; d++) {
      if (n % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) count++;
  }
  return count;
}

if (import.meta.main) {
  const LIMIT = 2_000_000;
  let ticks = 0;
  const ticker = createTask(async () => {
    for (;;) {
      await sleep(20);
      ticks++;
    }
  }, { name: "ticker" });
  await sleep(100);
  console.log(`a ticker task ticks every 20 ms: ${ticks} ticks so far`);

  // 1. On the event loop: nothing else runs until the call returns.
  let before = ticks;
  let start = performance.now();
  const direct = countPrimes(LIMIT);
  console.log(`countPrimes(${LIMIT}) on the event loop: ${direct} primes, ${since(start)}`);
  console.log(`ticks while the loop was blocked: ${ticks - before}`);

  // 2. Through toThread: the call runs in a worker and the loop stays free.
  before = ticks;
  start = performance.now();
  const threaded = await toThread(import.meta.url, countPrimes, LIMIT);
  console.log(`countPrimes(${LIMIT}) through toThread: ${threaded} primes, ${since(start)}`);
  console.log(`ticks while the worker computed: ${ticks - before}`);
  console.log(`the ticker kept ticking: ${ticks > before}`);
  console.log(`same result both ways: ${direct === threaded}`);

  // 3. Unlike a Python thread, a cancelled job stops: here a timeout
  // cancels it, its loop throws at the next checkCancelled() and its
  // worker is terminated.
  start = performance.now();
  try {
    await timeout(200, () => toThread(import.meta.url, countPrimes, 1e12));
  } catch (e) {
    if (!(e instanceof TimeoutError)) throw e;
    console.log(`a job cut short by a 200 ms timeout: ${e.name} after ${since(start)}`);
  }

  ticker.cancel();
  // Stop the default pool's workers, so that the program exits now.
  await shutdownDefaultExecutor();
  console.log("done");
}

function since(start: number): string {
  return `${Math.round(performance.now() - start)} ms`;
}
