/**
 * A tour of aio in one self-contained program: tasks, cancellation,
 * timeouts and shielding, with no network access needed.
 *
 *     deno task demo
 *
 * @module
 */
import {
  CancelledError,
  createTask,
  currentTask,
  shield,
  sleep,
  timeout,
  TimeoutError,
  waitFor,
} from "../mod.ts";

const t0 = performance.now();
const stamp = () => `[${String(Math.round(performance.now() - t0)).padStart(4)} ms]`;
const say = (...parts: unknown[]) => console.log(stamp(), ...parts);

async function fetchPage(id: number, ms: number): Promise<string> {
  say(`${currentTask()?.name ?? "main"}: fetching page ${id} (${ms} ms)`);
  await sleep(ms);
  return `page ${id}`;
}

// 1. Tasks run concurrently: three "downloads" take as long as the slowest.
say("1. three tasks at once");
const tasks = [300, 100, 200].map((ms, i) =>
  createTask(() => fetchPage(i + 1, ms), { name: `fetch-${i + 1}` })
);
say("results:", await Promise.all(tasks));

// 2. Cancelling a task rejects the await it is parked on.
say("2. cancellation");
const sleeper = createTask(async () => {
  try {
    await sleep(10_000);
  } catch (e) {
    say(`sleeper saw ${(e as Error).name}: ${(e as Error).message}`);
    throw e;
  }
}, { name: "sleeper" });
await sleep(50);
sleeper.cancel("the user pressed stop");
await sleeper.then(() => {}, () => {});
say(`sleeper.cancelled() = ${sleeper.cancelled()}`);

// 3. A deadline cancels the block from inside and reports TimeoutError.
say("3. timeout");
try {
  await timeout(150, () => fetchPage(4, 1_000));
} catch (e) {
  if (!(e instanceof TimeoutError)) throw e;
  say(`timeout: ${e.message}`);
}

// 4. waitFor cancels the task it waits for; shield protects one from that.
say("4. waitFor and shield");
const slow = createTask(() => fetchPage(5, 400), { name: "slow" });
await waitFor(slow, 100).catch((e) => say(`waitFor: ${e.name}`));
say(`slow.cancelled() = ${slow.cancelled()}`);
const precious = createTask(() => fetchPage(6, 200), { name: "precious" });
await waitFor(shield(precious), 50).catch((e) => say(`shielded waitFor: ${e.name}`));
say(`precious still finishes: ${await precious}`);

// 5. A task may catch the cancellation, clean up, and report it.
say("5. cleanup on cancel");
const worker = createTask(async () => {
  try {
    await sleep(10_000);
  } catch (e) {
    if (e instanceof CancelledError) say("worker: closing files before leaving");
    throw e;
  }
}, { name: "worker" });
await sleep(20);
worker.cancel();
await worker.then(() => {}, () => {});
say("done");
