import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { ignoreOn } from "./_ignore.ts";
import { startRedisServer } from "./_redis_server.ts";
import { runDeno } from "./_run.ts";

/** What each tour lesson must print (in this order), and how to run it. */
const LESSONS: Record<
  string,
  {
    expect: string[];
    args?: string[];
    perms?: string[];
    ignore?: boolean;
    /** Run against a redis-server the test starts (with a password); its port and password are passed. */
    redis?: boolean;
    /** Another test file runs it (the lesson needs a server that file starts). */
    runBy?: string;
  }
> = {
  "01_coroutines.ts": {
    expect: ["calling func() starts it right away:", "func: running", "result: abc"],
  },
  "02_await.ts": {
    expect: [
      "awaited coroutine: return value",
      "awaited task others-task: return value",
      "awaited future: set by a timer",
    ],
  },
  "03_tasks.ts": { expect: ["job 1: start", "job 2: start", "job 1 done | job 2 done"] },
  "04_wait_timeout.ts": {
    expect: ["done: job-10, job-30", "pending: job-500", "pending cancelled: true"],
  },
  "05_gather.ts": {
    expect: [
      `groups: [["a","b"],["c"]]`,
      `with returnExceptions: [ "fine", "broken" ]`,
      "cancelling the gather: CancelledError",
      "children cancelled: true, true",
    ],
  },
  "06_as_completed.ts": {
    expect: ["got 100 ms", "got 200 ms", "got 300 ms", "finished job-50", "finished job-250"],
  },
  "07_futures.ts": { expect: ["future result: 666 | done: true"] },
  "08_done_callbacks.ts": {
    expect: ["callback 1: result 42", "callback 2: runs after callback 1", "task finished"],
  },
  "09_cancellation.ts": {
    ignore: ignoreOn("windows", "the lesson simulates Ctrl-C by sending SIGINT to itself"),
    args: ["--simulate-ctrl-c"],
    expect: [
      "worker: cancelled, cleaning up",
      "worker.cancelled(): true",
      "Ctrl-C: cancelling",
      "main: group ended with CancelledError",
    ],
  },
  "10_call_soon_later_at.ts": {
    expect: ["callSoon at", "callAt(+20 ms) at", "callLater(40) at", "cancelled handle: true"],
  },
  "11_async_iterator.ts": { expect: ["line 1", "line 4"] },
  "12_async_disposable.ts": {
    expect: ["connected", "result of select 1", "connection closed", "after the block"],
  },
  "13_to_thread.ts": {
    perms: ["--allow-read"],
    expect: [
      "ticks while the loop was blocked: 0",
      "the ticker kept ticking: true",
      "same result both ways: true",
      "a job cut short by a 200 ms timeout: TimeoutError",
      "done",
    ],
  },
  "14_locks.ts": {
    expect: [
      "without a lock: counter = 1 after 3 increments",
      "with a lock: counter = 3 after 3 increments",
      "waiter: waiting for the event",
      "setter: setting the event",
      "waiter: the event is set",
      "consumer took 1, 2, 3",
      "6 downloads ran, at most 2 at once",
      "barrier: a, c, b got ready; then all 3 went on together",
    ],
  },
  "15_queues.ts": {
    expect: [
      "join() returned: all 6 jobs done",
      "consumer: got tasks, locks, queues; the loop ended at shutdown",
      "priority order: fix the outage > answer mail > tidy up",
      "lifo order: 3 2 1",
    ],
  },
  "16_http_get.ts": {
    perms: ["--allow-net=127.0.0.1"],
    expect: [
      "all at once (wait, then each task's result in order):",
      "HTTP/1.1 200 OK | <h1>page 0</h1>",
      "HTTP/1.1 200 OK | <h1>page 9</h1>",
      "as each completes (asCompleted):",
      "HTTP/1.1 200 OK | <h1>page 9</h1>",
      "HTTP/1.1 200 OK | <h1>page 0</h1>",
    ],
  },
  "17_downloader.ts": {
    perms: ["--allow-net=127.0.0.1", "--allow-write"],
    expect: [
      "6 images downloaded, at most 3 at once",
      "gave up after 100 ms: TimeoutError; downloads still running: 0",
    ],
  },
  "18_redis.ts": {
    redis: true,
    ignore: ignoreOn("windows", "Redis has no Windows build: the lesson needs a real redis-server"),
    perms: ["--allow-net=127.0.0.1"],
    expect: [
      "job 1: start",
      `job 1: car = {"key1":"1","key2":"2","key3":"3"}`,
      "job 1: end",
      "job 2: start",
      "job 3: start",
      "wait(): 2 jobs done",
      `GET /red HTTP/1.1 -> {"key1":"1","key2":"2","key3":"3"}`,
      "5 requests served, at most 2 Redis connections busy at once",
    ],
  },
  "19_mysql.ts": {
    // It needs a MariaDB server: the MySQL tests run it against theirs.
    runBy: "tests/mysql_test.ts",
    expect: [],
  },
};

/**
 * Every lesson ends within this bound (it is killed past it, and its test
 * fails): the longest one sleeps well under a second, and a lesson whose
 * cancelled work kept running (a gather of plain 10 s sleeps) would not.
 */
const LESSON_TIME_LIMIT_MS = 8_000;

const run = (file: string, args: string[], perms: string[]) =>
  runDeno([...perms, `examples/tour/${file}`, ...args], LESSON_TIME_LIMIT_MS);

Deno.test("every tour lesson has expectations here", async () => {
  const files: string[] = [];
  for await (const e of Deno.readDir("examples/tour")) {
    if (e.name.endsWith(".ts")) files.push(e.name);
  }
  for (const file of files) assert(file in LESSONS, `no expectations for examples/tour/${file}`);
});

for (const [file, lesson] of Object.entries(LESSONS)) {
  if (lesson.runBy !== undefined) continue;
  const ignore = lesson.ignore ?? false;
  Deno.test({
    name: `tour: ${file}`,
    ignore,
    fn: async () => {
      const args = [...(lesson.args ?? [])];
      await using redis = lesson.redis
        ? await startRedisServer(["--requirepass", "tour"])
        : undefined;
      if (redis !== undefined) args.push("--port", String(redis.port), "--password", "tour");
      const { code, stdout, stderr } = await run(file, args, lesson.perms ?? []);
      assertEquals(code, 0, `${file} exited with ${code}:\n${stderr}`);
      let from = 0;
      for (const line of lesson.expect) {
        assertStringIncludes(stdout.slice(from), line, `${file}: missing (in order) ${line}`);
        from = stdout.indexOf(line, from) + line.length;
      }
    },
  });
}
