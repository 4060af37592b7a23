/**
 * Lesson 9 — cancellation: a cancelled task gets CancelledError at the await
 * it is parked on, can clean up, and ends cancelled. Ctrl-C cancels every
 * running task. (`--simulate-ctrl-c` sends the signal to itself, for tests.)
 *
 *     deno run examples/tour/09_cancellation.ts
 */
import { allTasks, CancelledError, createTask, sleep, TaskGroup } from "../../mod.ts";

const worker = createTask(async () => {
  try {
    await sleep(10_000);
  } catch (e) {
    if (e instanceof CancelledError) console.log("worker: cancelled, cleaning up");
    throw e;
  }
}, { name: "worker" });
await sleep(10);
worker.cancel("no longer needed");
await worker.then(() => {}, () => {});
console.log("worker.cancelled():", worker.cancelled());

// Ctrl-C: cancel every task, let them clean up, then exit.
const simulate = Deno.args.includes("--simulate-ctrl-c") && Deno.build.os !== "windows";
const onSigint = () => {
  console.log(`Ctrl-C: cancelling ${allTasks().size} tasks`);
  for (const task of allTasks()) task.cancel("Ctrl-C");
};
Deno.addSignalListener("SIGINT", onSigint);
try {
  await createTask(() =>
    TaskGroup.run((tg) => {
      for (let i = 1; i <= 3; i++) {
        tg.createTask(async () => {
          try {
            await sleep(simulate ? 10_000 : 300);
          } catch (e) {
            console.log(`download ${i}: stopped`);
            throw e;
          }
        });
      }
      if (simulate) setTimeout(() => Deno.kill(Deno.pid, "SIGINT"), 20);
      else console.log("press Ctrl-C within 0.3 s to cancel the downloads");
    })
  );
  console.log("downloads finished");
} catch (e) {
  console.log("main: group ended with", (e as Error).name);
} finally {
  Deno.removeSignalListener("SIGINT", onSigint);
}
