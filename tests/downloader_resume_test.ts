/**
 * The downloader example's hardening and resume: links at NAME.part and
 * NAME, which failures are retried and what the summary says of the rest,
 * the progress line's rate and ETA, the summary's name column, and
 * `--continue` against `Deno.serve` and Python's `http.server`.
 */
import {
  assert,
  assertEquals,
  assertFalse,
  assertMatch,
  assertRejects,
  assertStringIncludes,
} from "@std/assert";
import { CancelledError, ConnectionError } from "../mod.ts";
import { until } from "./_settle.ts";
import {
  Downloader,
  type DownloadResult,
  fitWidth,
  isRetryable,
  ProgressReporter,
  summaryTable,
  whyNotRetried,
} from "../examples/downloader/mod.ts";
import { HttpClient } from "../examples/http/mod.ts";
import { unicodeWidth } from "@std/cli/unicode-width";
import { list } from "./_fs.ts";
import { inTempDir, recordingSleep } from "./_downloader.ts";
import { runDeno } from "./_run.ts";
import { caAsLeaf } from "./fixtures/tls.ts";
import {
  pattern,
  pause,
  requirePython,
  serve,
  startPythonServer,
  whenDone,
} from "./fixtures/http_servers.ts";

async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

// ------------------------------------------------------------ links

Deno.test("links at NAME.part and NAME are never followed", async (t) => {
  await using server = serve(() => new Response("downloaded"));
  const url = `http://127.0.0.1:${server.addr.port}/report.txt`;

  await t.step("a link at NAME.part: replaced by a new file, its target untouched", async () => {
    await inTempDir(async (root) => {
      const out = `${root}/out`;
      await Deno.mkdir(out);
      await Deno.writeTextFile(`${root}/victim.txt`, "secret");
      await Deno.symlink("../victim.txt", `${out}/report.txt.part`);
      const [result] = await new Downloader([url], { dir: out }).run();
      assertEquals(result.state, "ok", result.error ?? "");
      assertEquals(await Deno.readTextFile(`${root}/victim.txt`), "secret");
      assert((await Deno.lstat(`${out}/report.txt`)).isFile, "report.txt is a regular file");
      assertEquals(await Deno.readTextFile(`${out}/report.txt`), "downloaded");
      assertEquals(await list(out), ["report.txt"]);
    });
  });

  await t.step("links at both names: neither target is written, NAME is not replaced", async () => {
    for (const resume of [false, true]) {
      await inTempDir(async (root) => {
        const out = `${root}/out`;
        await Deno.mkdir(out);
        await Deno.writeTextFile(`${root}/victim-part.txt`, "secret 1");
        await Deno.writeTextFile(`${root}/victim-final.txt`, "secret 2");
        await Deno.symlink("../victim-part.txt", `${out}/report.txt.part`);
        await Deno.symlink("../victim-final.txt", `${out}/report.txt`);
        // A meta file that would make the .part look resumable.
        await Deno.writeTextFile(`${out}/report.txt.part.meta`, `{"validator":"\\"v1\\""}`);
        const [result] = await new Downloader([url], { dir: out, resume }).run();
        assertEquals(result.state, "failed");
        assertStringIncludes(
          result.error!,
          "it exists and is not a regular file (a symbolic link)",
        );
        assertEquals(await Deno.readTextFile(`${root}/victim-part.txt`), "secret 1");
        assertEquals(await Deno.readTextFile(`${root}/victim-final.txt`), "secret 2");
        assert((await Deno.lstat(`${out}/report.txt`)).isSymlink, "the link at NAME is left");
        assertFalse(
          (await list(out)).some((n) => n.endsWith(".part") && !n.startsWith("report.txt.part")),
        );
        if (!resume) assertEquals(await list(out), ["report.txt"]);
      });
    }
  });
});

// ------------------------------------------------------------- retrying

Deno.test("what is retried: refused, reset, 5xx, 408, 429; not a missing host, TLS, 4xx", async () => {
  const connect = (reason: string, cause: Error) =>
    new ConnectionError(`Cannot connect to h.test:443: ${reason}`, { cause });
  const missing = connect(
    "cannot resolve the host name (failed to lookup address information: Name or service not known)",
    new Error("failed to lookup address information: Name or service not known"),
  );
  assertFalse(isRetryable(missing));
  assertEquals(whyNotRetried(missing), "the host name does not exist");
  const temporary = connect(
    "cannot resolve the host name (failed to lookup address information: Temporary failure in name resolution)",
    new Error("Temporary failure in name resolution"),
  );
  assert(isRetryable(temporary), "a resolver that failed for now may answer later");
  assert(isRetryable(connect("connection refused", new Deno.errors.ConnectionRefused("no"))));
  assert(isRetryable(connect("connection reset by peer", new Deno.errors.ConnectionReset("r"))));
  const tls = connect(
    "TLS handshake failed (invalid peer certificate: UnknownIssuer)",
    new Deno.errors.InvalidData("invalid peer certificate: UnknownIssuer"),
  );
  assertFalse(isRetryable(tls));

  await inTempDir(async (dir) => {
    // https: to a plain HTTP server (which answers the TLS hello with a
    // 400, as nginx does), and to one whose certificate is a CA.
    await using plain = plainServer();
    await using caServer = serve(() => new Response("never"), caAsLeaf);
    const refusedPort = (() => {
      const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = l.addr.port;
      l.close();
      return port;
    })();
    await using client = new HttpClient({ caCerts: [caAsLeaf.cert] });
    const { delays, sleep } = recordingSleep();
    const downloader = new Downloader([
      `https://127.0.0.1:${plain.port}/a`,
      `https://localhost:${caServer.addr.port}/b`,
      `http://127.0.0.1:${refusedPort}/c`,
    ], { dir, retries: 2, sleep, client, concurrency: 1 });
    const [noTls, badCert, refused] = await downloader.run();
    assertEquals([noTls.state, noTls.attempts], ["failed", 1]);
    assertStringIncludes(noTls.error!, "the server probably does not speak TLS on this port");
    assertStringIncludes(noTls.error!, "not retried: a TLS failure does not go away by retrying");
    assertEquals([badCert.state, badCert.attempts], ["failed", 1]);
    assertStringIncludes(badCert.error!, "CaUsedAsEndEntity");
    assertStringIncludes(badCert.error!, "is marked as a CA (basicConstraints CA:TRUE");
    assertEquals([refused.state, refused.attempts], ["failed", 3]);
    assertEquals(refused.error, `Cannot connect to 127.0.0.1:${refusedPort}: connection refused`);
    assertEquals(delays.length, 2, "only the refused connection waited before retrying");
    const table = summaryTable([noTls, badCert, refused], 100, 400);
    assertStringIncludes(table, "not retried: a TLS failure");
  });
});

/** A TCP server that answers anything with a 400 at once and closes. */
function plainServer(): { port: number } & AsyncDisposable {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const loop = (async () => {
    for await (const conn of listener) {
      try {
        await conn.write(new TextEncoder().encode("HTTP/1.1 400 Bad Request\r\n\r\n"));
      } catch {
        // The client left first.
      }
      conn.close();
    }
  })();
  return {
    port: listener.addr.port,
    async [Symbol.asyncDispose]() {
      listener.close();
      await loop.catch(() => {});
    },
  };
}

// -------------------------------------------------------------- progress

/** A result as the reporter sees it. */
function live(over: Partial<DownloadResult>): DownloadResult {
  return {
    index: 0,
    url: "http://h.test/x",
    name: "x",
    path: "/tmp/x",
    state: "active",
    bytes: 0,
    received: 0,
    resumedFrom: 0,
    kept: 0,
    total: null,
    attempts: 1,
    status: 200,
    ms: 0,
    problems: [],
    error: null,
    ...over,
  };
}

Deno.test("the progress line: rate over the last seconds, ETA from what is left at it", () => {
  const MiB = 1024 * 1024;
  const fast = live({ index: 0, name: "fast.iso", total: 54 * MiB });
  const slow1 = live({ index: 1, name: "slow-1.bin", total: 50 * MiB });
  const slow2 = live({ index: 2, name: "slow-2.bin", total: 50 * MiB });
  const results = [fast, slow1, slow2];
  let now = 0;
  const reporter = new ProgressReporter(results, { tty: false, now: () => now });
  // Samples every half second: the fast file arrives in the first one; the
  // slow ones at 1 MiB/s each.
  for (let step = 1; step <= 20; step++) {
    now += 500;
    if (step === 1) {
      fast.bytes = fast.received = fast.total!;
      fast.state = "ok";
    }
    for (const r of [slow1, slow2]) r.bytes = r.received = r.bytes + MiB / 2;
    reporter.sample();
  }
  // 10 s in: 64 MiB in all has arrived (an average since the start would be
  // 7.4 MiB/s), but over the last 5 s only the slow files' 2 MiB/s did.
  assertEquals(Math.round(reporter.rate() / 1024), 2048);
  // 2 × 40 MiB left at 2 MiB/s: 40 s.
  assertEquals(
    reporter.statusLine(),
    "[1/3] 74 MiB  2 MiB/s  ETA 40s  slow-1.bin 20%, slow-2.bin 20%",
  );
  // A download of unknown size: its bytes instead of a share, and no ETA.
  results.push(live({ index: 3, name: "stream", bytes: 3 * MiB, received: 3 * MiB }));
  assertEquals(
    reporter.statusLine(),
    "[1/4] 77 MiB  2 MiB/s  ETA ?  slow-1.bin 20%, slow-2.bin 20%, stream 3 MiB",
  );
});

Deno.test("the summary's name column fits the line, shortened in the middle", () => {
  const long = `${"long-name-".repeat(19)}end.tar.gz`; // 203 bytes
  const results = [
    live({ index: 0, name: long, state: "ok", bytes: 2048, ms: 1500 }),
    live({ index: 1, name: "short.txt", state: "ok", bytes: 10, ms: 20 }),
  ];
  const table = summaryTable(results, 2000, 80).split("\n");
  for (const line of table.slice(0, 3)) assert(unicodeWidth(line) <= 80, line);
  assertEquals(
    table[1],
    "1  ok      long-name-long-name…ng-name-end.tar.gz  2 kiB  1s 500ms      1",
  );
  assertStringIncludes(table[2], "short.txt");
  // Wide characters count two columns.
  assertEquals(fitWidth("日本語のファイル名.txt", 12, "middle"), "日本語….txt");
  assertEquals(fitWidth("short", 12, "middle"), "short");
  assertEquals(fitWidth("abcdefghij", 6, "end"), "abcde…");
});

// ------------------------------------------------------------ resuming

/**
 * `Deno.serve` with one file that honours `Range` when `If-Range` matches
 * its ETag; `cutNext` makes the next response end after that many bytes
 * (the connection drops), `stallNext` makes it stop sending there until the
 * client leaves; `change` swaps the file and its ETag.
 */
function rangeServer(first: Uint8Array<ArrayBuffer>) {
  let body = first;
  let etag = '"v1"';
  let cut: number | null = null;
  let stall = false;
  const requests: { range: string | null; ifRange: string | null; status: number }[] = [];
  const server = serve((req, info) => {
    const range = req.headers.get("range");
    const ifRange = req.headers.get("if-range");
    const match = /^bytes=(\d+)-$/.exec(range ?? "");
    const from = match && ifRange === etag ? Number(match[1]) : 0;
    const status = from > 0 ? 206 : 200;
    requests.push({ range, ifRange, status });
    const headers: Record<string, string> = {
      etag,
      "accept-ranges": "bytes",
      "content-length": String(body.length - from),
    };
    if (status === 206) {
      headers["content-range"] = `bytes ${from}-${body.length - 1}/${body.length}`;
    }
    const rest = body.subarray(from);
    const limit = cut;
    const stalls = stall;
    cut = null;
    stall = false;
    let at = 0;
    return new Response(
      new ReadableStream({
        async pull(controller) {
          const end = Math.min(rest.length, limit ?? Infinity, at + 16_384);
          if (at >= end && stalls && at < rest.length) {
            await pause(3_600_000, whenDone(info)); // until the client leaves
          }
          if (at >= end) return controller.close();
          controller.enqueue(rest.slice(at, end));
          at = end;
        },
      }),
      { status, headers },
    );
  });
  return {
    server,
    requests,
    url: `http://127.0.0.1:${server.addr.port}/file.bin`,
    cutNext(bytes: number) {
      cut = bytes;
    },
    stallNext(bytes: number) {
      cut = bytes;
      stall = true;
    },
    change(next: Uint8Array<ArrayBuffer>) {
      body = next;
      etag = '"v2"';
    },
  };
}

Deno.test("--continue against Deno.serve: interrupted at several offsets, resumed, same sha256", async () => {
  const data = pattern(300_000, 7);
  const expected = await sha256(data);
  for (const offset of [1, 16_384, 100_000, 299_999]) {
    const range = rangeServer(data);
    await using _server = range.server;
    await inTempDir(async (dir) => {
      // The first run is cut after `offset` bytes and makes no retry: it
      // leaves NAME.part and NAME.part.meta.
      range.cutNext(offset);
      const [first] = await new Downloader([range.url], { dir, retries: 0, resume: true }).run();
      assertEquals(first.state, "failed");
      assertEquals(await list(dir), ["file.bin.part", "file.bin.part.meta"]);
      const kept = (await Deno.stat(`${dir}/file.bin.part`)).size;
      assertEquals(kept, offset);
      // The second run asks for the rest.
      const [second] = await new Downloader([range.url], { dir, resume: true }).run();
      assertEquals(second.state, "ok", second.error ?? "");
      assertEquals([second.resumedFrom, second.received], [offset, data.length - offset]);
      assertEquals(range.requests.at(-1), {
        range: `bytes=${offset}-`,
        ifRange: '"v1"',
        status: 206,
      });
      assertEquals(await list(dir), ["file.bin"]);
      assertEquals(await sha256(await Deno.readFile(`${dir}/file.bin`)), expected, `at ${offset}`);
    });
  }
});

Deno.test("--continue: a cancelled run keeps NAME.part for the next one", async () => {
  const data = pattern(200_000, 9);
  const range = rangeServer(data);
  await using _server = range.server;
  await inTempDir(async (dir) => {
    range.stallNext(30_000);
    const stop = new AbortController();
    const downloader = new Downloader([range.url], { dir, resume: true });
    const run = downloader.run({ signal: stop.signal });
    await until(() => downloader.results[0].bytes === 30_000, "30 000 bytes arrived");
    stop.abort(new CancelledError("interrupted"));
    await assertRejects(() => run, CancelledError);
    assertEquals(await list(dir), ["file.bin.part", "file.bin.part.meta"]);
    assertEquals([downloader.results[0].state, downloader.results[0].kept], ["cancelled", 30_000]);
    assertStringIncludes(
      summaryTable(downloader.results, 100),
      "29.3 kiB kept in .part for --continue",
    );
    const [result] = await new Downloader([range.url], { dir, resume: true }).run();
    assertEquals([result.state, result.resumedFrom, result.kept], ["ok", 30_000, 0]);
    assertEquals(await Deno.readFile(`${dir}/file.bin`), data);
  });
});

Deno.test("a retry within a run resumes too; without --continue a failure leaves nothing", async () => {
  const data = pattern(200_000, 3);
  const range = rangeServer(data);
  await using _server = range.server;
  await inTempDir(async (dir) => {
    range.cutNext(50_000);
    const { delays, sleep } = recordingSleep();
    const [result] = await new Downloader([range.url], { dir, sleep }).run();
    assertEquals([result.state, result.attempts, delays.length], ["ok", 2, 1]);
    assertEquals(range.requests.map((r) => r.range), [null, "bytes=50000-"]);
    assertEquals([result.resumedFrom, result.received], [50_000, 200_000]);
    assertEquals(await Deno.readFile(`${dir}/file.bin`), data);
    // A failure without --continue removes what it wrote.
    range.cutNext(70_000);
    const [failed] = await new Downloader([range.url.replace("file.bin", "again.bin")], {
      dir,
      retries: 0,
    }).run();
    assertEquals(failed.state, "failed");
    assertEquals(await list(dir), ["file.bin"]);
  });
});

Deno.test("--continue: a validator changed mid-way restarts the file from zero", async () => {
  const before = pattern(120_000, 1);
  const after = pattern(90_000, 99);
  const range = rangeServer(before);
  await using _server = range.server;
  await inTempDir(async (dir) => {
    range.cutNext(40_000);
    await new Downloader([range.url], { dir, retries: 0, resume: true }).run();
    assertEquals((await Deno.stat(`${dir}/file.bin.part`)).size, 40_000);
    range.change(after);
    const [result] = await new Downloader([range.url], { dir, resume: true }).run();
    assertEquals(result.state, "ok", result.error ?? "");
    assertEquals(range.requests.at(-1), { range: "bytes=40000-", ifRange: '"v1"', status: 200 });
    assertEquals(result.resumedFrom, 0);
    assertEquals(await sha256(await Deno.readFile(`${dir}/file.bin`)), await sha256(after));
    assertEquals(await list(dir), ["file.bin"]);
  });
});

Deno.test("--continue against Python's http.server, which ignores ranges: restarts, same sha256", async () => {
  requirePython("no http.server to test against");
  await inTempDir(async (dir) => {
    const served = `${dir}/served`;
    const out = `${dir}/out`;
    await Deno.mkdir(served);
    await Deno.mkdir(out);
    const data = pattern(250_000, 5);
    await Deno.writeFile(`${served}/big.bin`, data);
    await using python = await startPythonServer(served);
    const url = `${python.origin}/big.bin`;
    // Its validator, as an interrupted run would have kept it.
    let lastModified: string | null;
    {
      await using client = new HttpClient();
      await using res = await client.get(url);
      lastModified = res.header("last-modified");
      await res.discard(1 << 20);
    }
    assert(lastModified !== null, "http.server sends Last-Modified");
    for (const offset of [1, 100_000, 249_999]) {
      // What an interrupted run leaves: the first bytes, and the validator.
      await Deno.writeFile(`${out}/big.bin.part`, data.subarray(0, offset));
      await Deno.writeTextFile(
        `${out}/big.bin.part.meta`,
        JSON.stringify({ validator: lastModified, total: data.length }),
      );
      const [result] = await new Downloader([url], { dir: out, resume: true }).run();
      assertEquals(result.state, "ok", result.error ?? "");
      // http.server answers a Range request with the whole file (200).
      assertEquals([result.status, result.resumedFrom, result.received], [200, 0, data.length]);
      assertEquals(await list(out), ["big.bin"]);
      assertEquals(await sha256(await Deno.readFile(`${out}/big.bin`)), await sha256(data));
      await Deno.remove(`${out}/big.bin`);
    }
  });
});

// --------------------------------------------------------- the program

const DOWNLOADER = new URL("../examples/downloader.ts", import.meta.url).pathname;

Deno.test("the program: --continue resumes what an earlier run left", async () => {
  const data = pattern(150_000, 11);
  const range = rangeServer(data);
  await using _server = range.server;
  await inTempDir(async (dir) => {
    const args = ["--allow-net=127.0.0.1", "--allow-read", "--allow-write", DOWNLOADER];
    range.cutNext(60_000);
    const first = await runDeno([...args, "--continue", "--retries", "0", "-o", dir, range.url]);
    assertEquals(first.code, 1, first.stderr);
    assertEquals(await list(dir), ["file.bin.part", "file.bin.part.meta"]);
    const second = await runDeno([...args, "--continue", "-o", dir, range.url]);
    assertEquals(second.code, 0, second.stderr);
    assertMatch(second.stdout, /^1 +ok +file\.bin +146\.5 kiB +\S+ +1 +resumed from 58\.6 kiB$/m);
    assertEquals(await Deno.readFile(`${dir}/file.bin`), data);
  });
});
