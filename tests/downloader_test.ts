/**
 * The downloader example (examples/downloader/): its file naming, retry
 * policy and reporting, then whole runs against `Deno.serve`, Python's
 * `http.server` and misbehaving raw servers, and the program itself
 * (exit codes, Ctrl-C).
 */
import {
  assert,
  assertEquals,
  assertFalse,
  assertGreaterOrEqual,
  assertMatch,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { CancelledError, createTask, InvalidStateError } from "../mod.ts";
import {
  Downloader,
  type DownloadEvent,
  HttpStatusError,
  isRetryable,
  NameRegistry,
  parseRetryAfter,
  ProgressReporter,
  safeFileName,
  summaryTable,
} from "../examples/downloader/mod.ts";
import { IncompleteBodyError } from "../examples/http/mod.ts";
import { ignoreOn } from "./_ignore.ts";
import { runDeno, spawnDeno, watchOutput } from "./_run.ts";
import { until } from "./_settle.ts";
import { list } from "./_fs.ts";
import { inTempDir, recordingSleep } from "./_downloader.ts";
import {
  Overlap,
  pattern,
  RawServer,
  requirePython,
  serve,
  slowBody,
  startPythonServer,
  whenDone,
} from "./fixtures/http_servers.ts";

// ------------------------------------------------------------ file names

Deno.test("safeFileName: URL paths never escape the directory", () => {
  const name = (path: string) => safeFileName(new URL(path, "http://h.test"));
  const cases: [string, string][] = [
    ["/files/photo.jpg", "photo.jpg"],
    ["/../../x", "x"], // the URL parser already drops dot segments
    ["/a/%2e%2e/%2e%2e/b.txt", "b.txt"],
    ["/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "passwd"],
    ["/..%5c..%5cwindows%5cwin.ini", "win.ini"],
    ["/%2e%2e", "index.html"],
    ["/dir/", "index.html"],
    ["/", "index.html"],
    ["/...", "download"],
    ["/%2e%2e%2f", "download"],
    ["/.hidden", "hidden"],
    ["/a%00b%0a%3Cc%3E%7C.txt", "a_b__c__.txt"],
    ["/CON", "_CON"],
    ["/nul.txt", "_nul.txt"],
    ["/report%20final.pdf", "report final.pdf"],
    ["/%E2%82%AC.txt", "€.txt"],
    ["/bad%zzname", "bad%zzname"],
    ["/name.txt?x=1#frag", "name.txt"],
  ];
  for (const [path, expected] of cases) assertEquals(name(path), expected, path);
  const long = name(`/${"é".repeat(300)}.tar.gz`);
  assert(new TextEncoder().encode(long).length <= 200, "at most 200 bytes");
  assert(long.endsWith(".gz"), long);
});

Deno.test("NameRegistry: duplicates and .part names get distinct names", () => {
  const names = new NameRegistry();
  assertEquals(
    ["a.bin", "a.bin", "A.BIN", "a.bin.part", "notes", "notes"].map((n) => names.reserve(n)),
    ["a.bin", "a-1.bin", "A-2.BIN", "a.bin-1.part", "notes", "notes-1"],
  );
});

// ------------------------------------------------------------- retrying

Deno.test("parseRetryAfter and isRetryable", () => {
  const now = Date.parse("Tue, 01 Jan 2030 00:00:00 GMT");
  assertEquals(parseRetryAfter("3", now), 3000);
  assertEquals(parseRetryAfter("Tue, 01 Jan 2030 00:00:05 GMT", now), 5000);
  assertEquals(parseRetryAfter("Mon, 31 Dec 2029 00:00:00 GMT", now), 0);
  assertEquals(parseRetryAfter("soon", now), null);
  assertEquals(parseRetryAfter(null, now), null);
  for (const status of [500, 502, 503, 429, 408]) {
    assert(isRetryable(new HttpStatusError(status, "", null)), String(status));
  }
  for (const status of [400, 403, 404, 410]) {
    assertFalse(isRetryable(new HttpStatusError(status, "", null)), String(status));
  }
  assert(isRetryable(new IncompleteBodyError("http://h.test/", 1, 2)));
  assert(isRetryable(new Deno.errors.ConnectionReset("reset")));
  assertFalse(isRetryable(new Deno.errors.PermissionDenied("no")));
  assertFalse(isRetryable(new TypeError("bug")));
});

Deno.test("Downloader: bad options are typed errors; a downloader runs once", async () => {
  assertThrows(
    () => new Downloader([], { dir: ".", concurrency: 0 }),
    RangeError,
    "'concurrency' must be an integer >= 1: current value is 0",
  );
  assertThrows(
    () => new Downloader([], { dir: ".", retries: 1.5 }),
    RangeError,
    "'retries' must be an integer >= 0: current value is 1.5",
  );
  assertThrows(
    () => new Downloader([], { dir: ".", readTimeout: -1 }),
    RangeError,
    "'readTimeout' must be a number >= 1: current value is -1",
  );
  const downloader = new Downloader(["not a url"], { dir: "." });
  const [result] = await downloader.run();
  assertEquals([result.state, result.attempts, result.error], [
    "failed",
    0,
    'invalid URL "not a url"',
  ]);
  await assertRejects(() => downloader.run(), InvalidStateError, "Cannot run a Downloader twice");
});

// ------------------------------------------------------- whole runs

Deno.test("Deno.serve: every file arrives, at most -c at once, no .part left", async () => {
  const overlap = new Overlap(2, 10);
  await using server = serve((req) =>
    overlap.run(() => {
      const n = Number(new URL(req.url).pathname.slice(3));
      return new Response(pattern(1000 * n, n));
    })
  );
  await inTempDir(async (dir) => {
    const urls = [1, 2, 3, 4, 5, 6].map((n) => `http://127.0.0.1:${server.addr.port}/f/${n}`);
    const events: string[] = [];
    const downloader = new Downloader(urls, { dir, concurrency: 2 });
    const results = await downloader.run({
      onEvent: (e: DownloadEvent) => events.push(`${e.type} ${e.result.name}`),
    });
    assertEquals(results.map((r) => r.state), Array(6).fill("ok"));
    assertEquals(overlap.peak, 2);
    assertEquals(await list(dir), ["1", "2", "3", "4", "5", "6"]);
    for (const n of [1, 2, 3, 4, 5, 6]) {
      assertEquals(await Deno.readFile(`${dir}/${n}`), pattern(1000 * n, n));
    }
    assertEquals(events.filter((e) => e.startsWith("done")).length, 6);
    assertEquals(results[2].bytes, 3000);
    assertEquals(results[2].total, 3000);
  });
});

Deno.test("a connection dropped mid-body is retried; the partial file is removed first", async () => {
  await inTempDir(async (dir) => {
    let requests = 0;
    let seenBeforeRetry: string[] = [];
    const body = pattern(200_000);
    await using server = serve(async () => {
      if (++requests === 2) seenBeforeRetry = await list(dir);
      let at = 0;
      const cut = requests === 1 ? 80_000 : Infinity;
      return new Response(
        new ReadableStream({
          pull(controller) {
            if (at >= body.length || at >= cut) return controller.close();
            controller.enqueue(body.subarray(at, at + 16_384));
            at += 16_384;
          },
        }),
        { headers: { "content-length": String(body.length) } },
      );
    });
    const { delays, sleep } = recordingSleep();
    const downloader = new Downloader([`http://127.0.0.1:${server.addr.port}/big.bin`], {
      dir,
      sleep,
    });
    const [result] = await downloader.run();
    assertEquals([result.state, result.attempts, delays.length], ["ok", 2, 1]);
    assertMatch(result.problems[0], /^connection closed after \d+ of 200000 bytes$/);
    assertEquals(seenBeforeRetry, [], "neither big.bin nor big.bin.part before the retry");
    assertEquals(await Deno.readFile(`${dir}/big.bin`), body);
    assertEquals(await list(dir), ["big.bin"]);
  });
});

Deno.test("a server that always drops: failed after the retries, no file left", async () => {
  await inTempDir(async (dir) => {
    await using server = new RawServer(async (req) => {
      await req.write("HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n" + "x".repeat(500));
      return "close"; // a wrong Content-Length: 500 of 1000 bytes
    });
    const { delays, sleep } = recordingSleep();
    const downloader = new Downloader([`${server.origin}/short.txt`], { dir, retries: 2, sleep });
    const [result] = await downloader.run();
    assertEquals([result.state, result.attempts, delays.length], ["failed", 3, 2]);
    assertEquals(result.error, "connection closed after 500 of 1000 bytes");
    assertEquals(await list(dir), []);
  });
});

Deno.test("a Content-Length shorter than the body: the declared bytes, and the next file is intact", async () => {
  await inTempDir(async (dir) => {
    await using server = new RawServer(async (req) => {
      await req.write(
        req.head.startsWith("GET /first")
          ? "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhelloGARBAGE"
          : "HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nsecond",
      );
      return "keep";
    });
    const downloader = new Downloader([`${server.origin}/first`, `${server.origin}/second`], {
      dir,
      concurrency: 1,
    });
    const results = await downloader.run();
    assertEquals(results.map((r) => r.state), ["ok", "ok"]);
    assertEquals(await Deno.readTextFile(`${dir}/first`), "hello");
    assertEquals(await Deno.readTextFile(`${dir}/second`), "second");
  });
});

Deno.test("503 and 429 with Retry-After are retried after the time asked; 404 is not", async () => {
  await inTempDir(async (dir) => {
    const hits = new Map<string, number>();
    await using server = serve((req) => {
      const path = new URL(req.url).pathname;
      const n = (hits.get(path) ?? 0) + 1;
      hits.set(path, n);
      if (path === "/busy" && n === 1) {
        return new Response("busy", { status: 503, headers: { "retry-after": "2" } });
      }
      if (path === "/limited" && n === 1) {
        const when = new Date(Date.now() + 4_000).toUTCString();
        return new Response("slow down", { status: 429, headers: { "retry-after": when } });
      }
      if (path === "/missing") return new Response("no", { status: 404 });
      return new Response(`contents of ${path}`);
    });
    const base = `http://127.0.0.1:${server.addr.port}`;
    const { delays, sleep } = recordingSleep();
    const downloader = new Downloader([`${base}/busy`, `${base}/limited`, `${base}/missing`], {
      dir,
      concurrency: 1,
      backoffBase: 10,
      sleep,
    });
    const [busy, limited, missing] = await downloader.run();
    assertEquals([busy.state, busy.attempts, busy.problems], ["ok", 2, [
      "503 Service Unavailable",
    ]]);
    assertEquals([limited.state, limited.attempts], ["ok", 2]);
    assertEquals([missing.state, missing.attempts, missing.error], ["failed", 1, "404 Not Found"]);
    assertEquals(delays.length, 2);
    assertGreaterOrEqual(delays[0], 2000);
    assertGreaterOrEqual(delays[1], 2000); // about 4 s, less the time since the date was made
    assertEquals(await Deno.readTextFile(`${dir}/busy`), "contents of /busy");
    assertEquals(await list(dir), ["busy", "limited"]);
  });
});

Deno.test("backoff doubles from backoffBase with jitter, up to backoffMax", async () => {
  await inTempDir(async (dir) => {
    await using server = serve(() => new Response("down", { status: 500 }));
    const url = `http://127.0.0.1:${server.addr.port}/x`;
    for (
      const [random, max, expected] of [
        [0, 10_000, [50, 100, 200, 400]],
        [0.999999, 10_000, [100, 200, 400, 800]],
        [0.5, 250, [75, 150, 188, 188]], // capped at 250, then jittered
      ] as const
    ) {
      const { delays, sleep } = recordingSleep();
      const downloader = new Downloader([url], {
        dir,
        retries: 4,
        backoffBase: 100,
        backoffMax: max,
        sleep,
        random: () => random,
      });
      const [result] = await downloader.run();
      assertEquals([result.state, result.attempts], ["failed", 5]);
      assertEquals(delays.map(Math.round), [...expected]);
    }
  });
});

Deno.test("path-traversal and duplicate names stay inside the directory, distinct", async () => {
  await inTempDir(async (root) => {
    await using server = serve((req) => new Response(`from ${new URL(req.url).pathname}`));
    const base = `http://127.0.0.1:${server.addr.port}`;
    const dir = `${root}/out`;
    await Deno.mkdir(dir);
    const downloader = new Downloader([
      `${base}/../../escape.txt`,
      `${base}/files/..%2f..%2fescape.txt`,
      `${base}/%2e%2e%2f%2e%2e%2fetc%2fpasswd`,
      `${base}/a/report.txt`,
      `${base}/b/report.txt`,
    ], { dir });
    const results = await downloader.run();
    assertEquals(results.map((r) => r.state), Array(5).fill("ok"));
    assertEquals(await list(root), ["out"]);
    assertEquals(await list(dir), [
      "escape-1.txt",
      "escape.txt",
      "passwd",
      "report-1.txt",
      "report.txt",
    ]);
    assertEquals(await Deno.readTextFile(`${dir}/report.txt`), "from /a/report.txt");
    assertEquals(await Deno.readTextFile(`${dir}/report-1.txt`), "from /b/report.txt");
  });
});

Deno.test("cancellation mid-run stops every download and removes the .part files", async (t) => {
  await using server = serve((req, info) =>
    new URL(req.url).pathname === "/quick"
      ? new Response("quick one")
      : new Response(slowBody(1000, 1000, 20, whenDone(info)), {
        headers: { "content-length": "1000000" },
      })
  );
  const base = `http://127.0.0.1:${server.addr.port}`;
  const urls = [`${base}/quick`, `${base}/slow-a`, `${base}/slow-b`];

  /** Waits until "quick" is saved and both slow files have data in their .part files. */
  const midRun = async (dir: string, downloader: Downloader) => {
    await until(
      () => downloader.results[0].state === "ok" && downloader.results.every((r) => r.bytes > 0),
      "quick is saved and every download has data",
    );
    assertEquals(await list(dir), ["quick", "slow-a.part", "slow-b.part"]);
  };

  await t.step("by the run's signal", async () => {
    await inTempDir(async (dir) => {
      const stop = new AbortController();
      const downloader = new Downloader(urls, { dir });
      const run = downloader.run({ signal: stop.signal });
      await midRun(dir, downloader);
      stop.abort(new CancelledError("stop now"));
      await assertRejects(() => run, CancelledError, "stop now");
      assertEquals(downloader.results.map((r) => r.state), ["ok", "cancelled", "cancelled"]);
      assertEquals(await list(dir), ["quick"]);
    });
  });

  await t.step("by cancelling the task that runs it", async () => {
    await inTempDir(async (dir) => {
      const downloader = new Downloader(urls, { dir });
      const task = createTask(() => downloader.run());
      await midRun(dir, downloader);
      task.cancel();
      await assertRejects(() => Promise.resolve(task), CancelledError);
      assertEquals(await list(dir), ["quick"]);
    });
  });
});

Deno.test("Python http.server (needs python3): a whole run", async () => {
  requirePython("no http.server to test against");
  await inTempDir(async (dir) => {
    const served = `${dir}/served`;
    const out = `${dir}/out`;
    await Deno.mkdir(served);
    await Deno.mkdir(out);
    const files = { "one.bin": pattern(70_000, 1), "two.bin": pattern(3, 2), "empty": pattern(0) };
    for (const [name, bytes] of Object.entries(files)) {
      await Deno.writeFile(`${served}/${name}`, bytes);
    }
    await using python = await startPythonServer(served);
    const names = [...Object.keys(files), "missing.bin"];
    const downloader = new Downloader(names.map((n) => `${python.origin}/${n}`), { dir: out });
    const results = await downloader.run();
    assertEquals(results.map((r) => r.state), ["ok", "ok", "ok", "failed"]);
    assertEquals(results[3].error, "404 File not found");
    for (const [name, bytes] of Object.entries(files)) {
      assertEquals(await Deno.readFile(`${out}/${name}`), bytes);
    }
  });
});

// --------------------------------------------------------- reporting

Deno.test("the summary table and the progress line", () => {
  const result = (over: object) => ({
    index: 0,
    url: "http://h.test/a.bin",
    name: "a.bin",
    path: "/tmp/a.bin",
    state: "ok" as const,
    bytes: 2048,
    received: 2048,
    resumedFrom: 0,
    kept: 0,
    total: 2048,
    attempts: 1,
    status: 200,
    ms: 1500,
    problems: [] as string[],
    error: null,
    ...over,
  });
  const results = [
    result({}),
    result({ index: 1, name: "b.bin", attempts: 2, problems: ["503 Service Unavailable"] }),
    result({ index: 2, name: "c.bin", state: "failed", error: "404 Not Found", status: 404 }),
    result({ index: 3, name: "d.bin", state: "active", bytes: 512, received: 512, total: 1024 }),
  ];
  const table = summaryTable(results, 2000).split("\n");
  assertEquals(table[0], "#  result  file    size      time  tries  notes");
  assertEquals(table[1], "1  ok      a.bin  2 kiB  1s 500ms      1");
  assertEquals(
    table[2],
    "2  ok      b.bin  2 kiB  1s 500ms      2  retried (503 Service Unavailable)",
  );
  assertEquals(table[3], "3  FAILED  c.bin      -  1s 500ms      1  404 Not Found");
  assertEquals(table[4], "4  ACTIVE  d.bin      -  1s 500ms      1");
  assertEquals(
    table[5],
    "2 of 4 files downloaded, 1 failed, 1 cancelled: 4 kiB in 2s (2 kiB/s)",
  );

  const lines: string[] = [];
  const reporter = new ProgressReporter(results, { tty: false, out: (l) => lines.push(l) });
  reporter.onEvent({
    type: "retry",
    result: results[1],
    delay: 1500,
    reason: "503 Service Unavailable",
  });
  reporter.onEvent({ type: "done", result: results[2] });
  reporter.onEvent({ type: "done", result: results[0] });
  assertEquals(lines, [
    "retry  b.bin: 503 Service Unavailable; attempt 3 in 1s 500ms",
    "FAILED c.bin: 404 Not Found",
    "done   a.bin  2 kiB  1s 500ms",
  ]);
  assertEquals(reporter.statusLine(), "[3/4] 6.5 kiB  0 B/s  ETA ?  d.bin 50%");
});

// -------------------------------------------------------- the program

const DOWNLOADER = new URL("../examples/downloader.ts", import.meta.url).pathname;

/** The flags the program needs, then the program. */
const DOWNLOADER_ARGS = ["--allow-net=127.0.0.1", "--allow-read", "--allow-write", DOWNLOADER];

const spawnDownloader = (args: string[]) => spawnDeno([...DOWNLOADER_ARGS, ...args]);
const runDownloader = (args: string[]) => runDeno([...DOWNLOADER_ARGS, ...args]);

Deno.test("the program: help, bad options, exit 0 and 1 with a summary", async () => {
  await using server = serve((req) =>
    new URL(req.url).pathname === "/missing"
      ? new Response("no", { status: 404 })
      : new Response("data")
  );
  const base = `http://127.0.0.1:${server.addr.port}`;
  const help = await runDownloader(["--help"]);
  assertEquals(help.code, 0);
  assertStringIncludes(
    help.stdout,
    "Usage: downloader.ts [-c N] [-o DIR] [--continue] [--retries N]",
  );
  const bad = await runDownloader(["-c", "0", `${base}/a`]);
  assertEquals(bad.code, 2);
  assertStringIncludes(
    bad.stderr,
    "downloader: option '-c, --concurrency' must be an integer >= 1: got '0'",
  );
  const none = await runDownloader([]);
  assertEquals([none.code, none.stderr.split("\n")[0]], [2, "downloader: no URLs given"]);
  await inTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/list.txt`, `# two files\n${base}/b.txt\n\n${base}/c.txt\n`);
    const ok = await runDownloader(["-o", `${dir}/out`, "-i", `${dir}/list.txt`, `${base}/a.txt`]);
    assertEquals(ok.code, 0, ok.stderr);
    assertEquals(await list(`${dir}/out`), ["a.txt", "b.txt", "c.txt"]);
    assertStringIncludes(ok.stdout, "3 of 3 files downloaded");
    assertMatch(ok.stderr, /^done {3}a\.txt {2}4 B/m);
    const failed = await runDownloader(["-o", `${dir}/out`, "--retries", "0", `${base}/missing`]);
    assertEquals(failed.code, 1);
    assertMatch(failed.stdout, /^1 +FAILED +missing +- +\S+ +1 +404 Not Found$/m);
    assertStringIncludes(failed.stdout, "0 of 1 files downloaded, 1 failed");
  });
});

Deno.test({
  name: "the program: Ctrl-C stops the downloads, removes .part files, exits 130",
  ignore: ignoreOn("windows", "the test sends SIGINT, which Windows processes cannot receive"),
  fn: async () => {
    await using server = serve((req, info) =>
      new URL(req.url).pathname === "/quick"
        ? new Response("quick")
        : new Response(slowBody(10_000, 100, 20, whenDone(info)), {
          headers: { "content-length": "1000000" },
        })
    );
    const base = `http://127.0.0.1:${server.addr.port}`;
    await inTempDir(async (dir) => {
      const child = spawnDownloader(["-o", dir, `${base}/quick`, `${base}/slow.bin`]);
      const output = watchOutput(child);
      await output.stderr.waitFor((s) => s.includes("done   quick"));
      await until(async () => (await list(dir)).includes("slow.bin.part"), "slow.bin.part exists");
      assertEquals(await list(dir), ["quick", "slow.bin.part"]);
      child.kill("SIGINT");
      const { code } = await child.status;
      await Promise.all([output.stdout.ended, output.stderr.ended]);
      const [stdout, text] = [output.stdout.text, output.stderr.text];
      assertEquals(code, 130, text);
      assertStringIncludes(text, "downloader: interrupted; unfinished downloads were removed");
      assertStringIncludes(stdout, "1 of 2 files downloaded, 1 cancelled");
      assertEquals(await list(dir), ["quick"]);
    });
  },
});
