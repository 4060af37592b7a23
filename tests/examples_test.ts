/**
 * The example programs run as a person runs them: the demo, http_get and the
 * echo pair (the downloader's program tests are in downloader_test.ts).
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { ignoreOn } from "./_ignore.ts";
import { runDeno, spawnDeno, watchOutput } from "./_run.ts";
import { pause, serve, slowBody, tls, whenDone } from "./fixtures/http_servers.ts";

const NET = "--allow-net=127.0.0.1";

Deno.test("examples/demo.ts serves 50 files, downloads them with a retry, verifies each SHA-256", async () => {
  const { code, stdout, stderr } = await runDeno([
    NET,
    "--allow-read",
    "--allow-write",
    "examples/demo.ts",
  ]);
  assertEquals(code, 0, stderr);
  assertMatch(stdout, /^serving 50 files \(3\.8 MiB\) at http:\/\/127\.0\.0\.1:\d+\/files\/$/m);
  assertMatch(stdout, /^downloading them, 8 at a time, into .*aio-demo-/m);
  // The flaky file is cut off once, retried, and then complete.
  assertMatch(
    stderr,
    /^retry {2}flaky-13\.bin: connection closed after \d+ of 98304 bytes; attempt 2 in /m,
  );
  assertMatch(
    stdout,
    /^13 +ok +flaky-13\.bin +96 kiB +\S+(?: \S+)? +2 +retried \(connection closed/m,
  );
  assertMatch(stdout, /^31 +ok +chunked-31\.bin /m);
  assertMatch(stdout, /^ 5 +ok +slow-5\.bin +128 kiB /m);
  assertStringIncludes(stdout, "50 of 50 files downloaded: 3.8 MiB in ");
  assertStringIncludes(stdout, "verified 50 of 50 files: SHA-256 matches");
  assertEquals(stderr.match(/^done /gm)?.length, 50);
});

// ------------------------------------------------------------- http_get

Deno.test("examples/http_get.ts: one GET, --include, --count, errors and exit codes", async (t) => {
  await using server = serve(async (req, info) => {
    const path = new URL(req.url).pathname;
    if (path === "/missing") return new Response("nothing here\n", { status: 404 });
    if (path === "/stall") return new Response(slowBody(1, 10, 60_000, whenDone(info)));
    if (path === "/wait") await pause(Math.random() * 50);
    return new Response("hello, world\n", { headers: { "x-served-by": "Deno.serve" } });
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  const get = (...args: string[]) => runDeno([NET, "examples/http_get.ts", ...args]);

  await t.step("the body on stdout, the status on stderr", async () => {
    const { code, stdout, stderr } = await get(`${base}/`);
    assertEquals([code, stdout, stderr], [0, "hello, world\n", "HTTP/1.1 200 OK\n"]);
  });

  await t.step("--include prints the head first, like curl -i", async () => {
    const { code, stdout } = await get("--include", `${base}/`);
    assertEquals(code, 0);
    assertMatch(
      stdout,
      /^HTTP\/1\.1 200 OK\n(.+\n)*x-served-by: Deno\.serve\n(.+\n)*\nhello, world\n$/,
    );
  });

  await t.step(
    "--count 10: each result as it completes, with its index, hash and time",
    async () => {
      const { code, stdout } = await get("--count", "10", `${base}/wait`);
      assertEquals(code, 0);
      const lines = stdout.trimEnd().split("\n");
      assertEquals(lines.length, 11);
      const indexes = lines.slice(0, 10).map((line) => {
        const match = /^#(\d) {2}HTTP\/1\.1 200 OK {2}13 B {2}sha256 853ff93762a06ddb {2}after \S+$/
          .exec(line);
        assert(match, line);
        return Number(match[1]);
      });
      assertEquals(indexes.toSorted(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      assertMatch(lines[10], /^10 requests in \S+: 10 ok, 0 failed or got a status >= 400$/);
    },
  );

  await t.step("a 404 exits 1; --count reports failures per request", async () => {
    const missing = await get(`${base}/missing`);
    assertEquals([missing.code, missing.stderr], [1, "HTTP/1.1 404 Not Found\n"]);
    const refused = await get("--count", "2", "http://127.0.0.1:1/");
    assertEquals(refused.code, 1);
    assertMatch(
      refused.stdout,
      /^#0 {2}failed after \S+: ConnectionError: Cannot connect to 127\.0\.0\.1:1: connection refused$/m,
    );
  });

  await t.step("--timeout gives up on a stalled response", async () => {
    const { code, stderr } = await get("--timeout", "0.2", `${base}/stall`);
    assertEquals(code, 1);
    assertStringIncludes(
      stderr,
      `http_get: TimeoutError: GET ${base}/stall: timed out after 200 ms`,
    );
  });

  await t.step("--help, and bad command lines exit 2", async () => {
    const help = await get("--help");
    assertEquals(help.code, 0);
    assertStringIncludes(
      help.stdout,
      "Usage: http_get.ts URL [--count N] [--include] [--timeout S]",
    );
    for (
      const [args, message] of [
        [[], "http_get: missing URL"],
        [
          ["--count", "0", base],
          "http_get: option '-n, --count' must be an integer >= 1: got '0'",
        ],
        [["--bogus", base], "http_get: unknown option '--bogus'"],
        [["ftp://h.test/"], "http_get: ftp://h.test/: only http: and https: URLs are supported"],
        [["not a url"], 'http_get: invalid URL "not a url"'],
      ] as const
    ) {
      const { code, stderr } = await get(...args);
      assertEquals(code, 2, stderr);
      assertStringIncludes(stderr, message);
    }
  });
});

Deno.test("examples/http_get.ts over https with --cacert", async () => {
  await using server = serve(() => new Response("secure\n"), tls);
  const { code, stdout, stderr } = await runDeno([
    NET,
    "--allow-read",
    "examples/http_get.ts",
    "--cacert",
    "tests/fixtures/tls/localhost.crt",
    `https://127.0.0.1:${server.addr.port}/`,
  ]);
  assertEquals([code, stdout], [0, "secure\n"], stderr);
});

// --------------------------------------------------------- echo pair

Deno.test({
  name: "examples/echo_server.ts and echo_client.ts: lines come back; Ctrl-C stops the server",
  ignore: ignoreOn("windows", "the test stops the server with SIGINT, which Windows cannot send"),
  fn: async () => {
    const server = spawnDeno([NET, "examples/echo_server.ts", "--port", "0"]);
    const output = watchOutput(server);
    const out = await output.stdout.waitFor((s) => s.includes("\n"));
    const port = /^echo server listening on 127\.0\.0\.1:(\d+) \(Ctrl-C to stop\)$/m.exec(out)?.[1];
    assert(port, out);

    const client = await runDeno([
      NET,
      "examples/echo_client.ts",
      "--port",
      port,
      "hello",
      "world",
    ]);
    assertEquals([client.code, client.stdout], [0, "reply: hello\nreply: world\n"], client.stderr);

    const piped = spawnDeno([NET, "examples/echo_client.ts", "--port", port], { stdin: "piped" });
    const stdin = piped.stdin.getWriter();
    await stdin.write(new TextEncoder().encode("from stdin\nsecond line"));
    await stdin.close();
    const result = await piped.output();
    assertEquals(
      new TextDecoder().decode(result.stdout),
      "reply: from stdin\nreply: second line\n",
    );

    server.kill("SIGINT");
    const status = await server.status;
    await Promise.all([output.stdout.ended, output.stderr.ended]);
    assertEquals(status.code, 0, output.stderr.text);
    const all = output.stdout.text;
    assertMatch(all, /^127\.0\.0\.1:\d+ connected$/m);
    assertMatch(all, /^127\.0\.0\.1:\d+ disconnected$/m);
    assert(all.endsWith("echo server stopped\n"), all);

    const refused = await runDeno([NET, "examples/echo_client.ts", "--port", port, "x"]);
    assertEquals(refused.code, 1);
    assertStringIncludes(
      refused.stderr,
      `echo_client: Cannot connect to 127.0.0.1:${port}: connection refused`,
    );
  },
});

Deno.test("examples/echo_*.ts: --help and bad options", async () => {
  for (const file of ["echo_server.ts", "echo_client.ts"]) {
    const help = await runDeno([NET, `examples/${file}`, "--help"]);
    assertEquals(help.code, 0);
    assertStringIncludes(help.stdout, `Usage: ${file}`);
    const bad = await runDeno([NET, `examples/${file}`, "--port", "70000"]);
    assertEquals(bad.code, 2);
    assertStringIncludes(bad.stderr, "option '-p, --port' must be at most 65535: got '70000'");
  }
});
