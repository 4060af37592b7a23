/**
 * The examples' HTTP/1.1 client (examples/http/) against servers it did not
 * write — `Deno.serve` (plain and TLS) and Python's `http.server` — and
 * against a raw TCP server for the responses real servers do not send.
 */
import { until } from "./_settle.ts";
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import {
  CancelledError,
  ConnectionError,
  createTask,
  InvalidStateError,
  sleep,
  TimeoutError,
} from "../mod.ts";
import {
  HeadTooLargeError,
  HttpClient,
  HttpProtocolError,
  IncompleteBodyError,
  RemoteDisconnectedError,
  TooManyRedirectsError,
} from "../examples/http/mod.ts";
import {
  Overlap,
  pattern,
  RawServer,
  requirePython,
  serve,
  slowBody,
  startPythonServer,
  tls,
  whenDone,
} from "./fixtures/http_servers.ts";

const decoder = new TextDecoder();

// ------------------------------------------------------------ Deno.serve

Deno.test("Deno.serve: a fixed-length body, header fields, one kept-alive connection", async () => {
  const body = pattern(100_000);
  const ports: number[] = [];
  await using server = serve((_req, info) => {
    ports.push(info.remoteAddr.port);
    return new Response(body, { headers: { "x-answer": "42", "content-type": "x/y" } });
  });
  await using client = new HttpClient();
  for (let i = 0; i < 3; i++) {
    await using res = await client.get(`http://127.0.0.1:${server.addr.port}/file`);
    assertEquals(res.status, 200);
    assertEquals(res.statusText, "OK");
    assertEquals(res.version, "1.1");
    assertEquals(res.header("X-Answer"), "42");
    assertEquals(res.headers.get("content-type"), "x/y");
    assertEquals(res.contentLength, 100_000);
    assertEquals(await res.bytes(), body);
    assertEquals(client.idleConnections, 1);
  }
  assertEquals(ports.length, 3);
  assertEquals(new Set(ports).size, 1, "the three requests share one connection");
});

Deno.test("Deno.serve: a chunked body from a ReadableStream, read part by part", async () => {
  await using server = serve((_req, info) => new Response(slowBody(5, 3000, 5, whenDone(info))));
  await using client = new HttpClient();
  await using res = await client.get(`http://127.0.0.1:${server.addr.port}/`);
  assertEquals(res.header("transfer-encoding"), "chunked");
  assertEquals(res.contentLength, null);
  const parts: Uint8Array[] = [];
  for await (const part of res) parts.push(part);
  assert(parts.length >= 2, `expected several parts, got ${parts.length}`);
  assertEquals(
    new Uint8Array(await new Blob(parts as Uint8Array<ArrayBuffer>[]).arrayBuffer()),
    pattern(15_000),
  );
  assert(res.complete);
  assertEquals(client.idleConnections, 1);
});

Deno.test("Deno.serve: redirects, relative and absolute, every status, up to the limit", async (t) => {
  const methods: string[] = [];
  await using server = serve(async (req) => {
    const url = new URL(req.url);
    methods.push(`${req.method} ${url.pathname} ${await req.text()}`);
    const hop = /^\/hop\/(\d+)\/(\d+)$/.exec(url.pathname);
    if (hop) {
      const [left, status] = [Number(hop[1]), Number(hop[2])];
      const next = left === 0 ? "/end" : `/hop/${left - 1}/${status}`;
      // Relative on odd hops, absolute on even ones.
      const location = left % 2 ? next : new URL(next, url).href;
      return new Response(null, { status, headers: { location } });
    }
    return new Response(`end of ${req.method}`);
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  await using client = new HttpClient();

  await t.step("each redirect status is followed", async () => {
    for (const status of [301, 302, 303, 307, 308]) {
      await using res = await client.get(`${base}/hop/1/${status}`);
      assertEquals(res.status, 200);
      assertEquals(res.url, `${base}/end`);
      assertEquals(res.redirects, [`${base}/hop/0/${status}`, `${base}/end`]);
      assertEquals(await res.text(), "end of GET");
    }
  });

  await t.step("303 turns POST into GET; 307 keeps the method and body", async () => {
    methods.length = 0;
    const see = await client.request(`${base}/hop/0/303`, { method: "POST", body: "data" });
    assertEquals(await see.text(), "end of GET");
    const keep = await client.request(`${base}/hop/0/307`, { method: "POST", body: "data" });
    assertEquals(await keep.text(), "end of POST");
    assertEquals(methods, [
      "POST /hop/0/303 data",
      "GET /end ",
      "POST /hop/0/307 data",
      "POST /end data",
    ]);
  });

  await t.step("five redirects are followed, the sixth is an error", async () => {
    await using five = await client.get(`${base}/hop/4/302`);
    assertEquals(five.redirects.length, 5);
    await five.bytes();
    const error = await assertRejects(
      () => client.get(`${base}/hop/5/302`),
      TooManyRedirectsError,
      `Too many redirects: ${base}/hop/5/302 was redirected more than 5 times`,
    );
    assertEquals(error.redirects.length, 6);
    assertEquals(error.redirects.at(-1), `${base}/end`);
  });

  await t.step("maxRedirects: 0 and redirect: manual", async () => {
    await assertRejects(
      () => client.get(`${base}/hop/0/301`, { maxRedirects: 0 }),
      TooManyRedirectsError,
    );
    await using res = await client.get(`${base}/hop/0/301`, { redirect: "manual" });
    assertEquals(res.status, 301);
    assertEquals(res.header("location"), `${base}/end`);
  });
});

Deno.test("Deno.serve: 404 and 500 are responses, with their bodies", async () => {
  await using server = serve((req) =>
    new URL(req.url).pathname === "/missing"
      ? new Response("no such file", { status: 404 })
      : new Response("it broke", { status: 500, statusText: "Internal Server Error" })
  );
  await using client = new HttpClient();
  const base = `http://127.0.0.1:${server.addr.port}`;
  await using missing = await client.get(`${base}/missing`);
  assertEquals([missing.status, missing.ok, await missing.text()], [404, false, "no such file"]);
  await using broken = await client.get(`${base}/broken`);
  assertEquals([broken.status, broken.statusText], [500, "Internal Server Error"]);
  assertEquals(await broken.text(), "it broke");
});

Deno.test("Deno.serve: slow bodies, readTimeout and timeout", async (t) => {
  await using server = serve((req, info) => {
    const url = new URL(req.url);
    const parts = Number(url.searchParams.get("parts"));
    const ms = Number(url.searchParams.get("ms"));
    return new Response(slowBody(parts, 1000, ms, whenDone(info)), {
      headers: { "content-length": String(parts * 1000) },
    });
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  await using client = new HttpClient();

  await t.step("a body slower in total than readTimeout, but steady, is fine", async () => {
    // Parts 300 ms apart under a 1 s readTimeout: 700 ms to spare for a loaded machine.
    await using res = await client.get(`${base}/?parts=5&ms=300`, { readTimeout: 1_000 });
    assertEquals(await res.bytes(), pattern(5000));
  });

  await t.step("readTimeout counts only waits for data, not a slow reader", async () => {
    // The parts come at once and wait in the buffer: 300 ms allow for a loaded machine.
    await using res = await client.get(`${base}/?parts=3&ms=0`, { readTimeout: 300 });
    const parts: Uint8Array[] = [];
    for await (const part of res) {
      parts.push(part);
      await sleep(400); // the caller is busy, e.g. writing to a slow disk
    }
    assertEquals(parts.reduce((n, p) => n + p.length, 0), 3000);
  });

  await t.step("a body that stalls fails with readTimeout", async () => {
    await using res = await client.get(`${base}/?parts=2&ms=5000`, { readTimeout: 100 });
    const error = await assertRejects(() => res.bytes(), TimeoutError);
    assertStringIncludes(error.message, "no data received for 100 ms");
  });

  await t.step("timeout bounds the whole exchange, body included", async () => {
    // The body would take 2 s; the timeout is 150 ms.
    await using res = await client.get(`${base}/?parts=40&ms=50`, { timeout: 150 });
    const error = await assertRejects(() => res.bytes(), TimeoutError);
    assertStringIncludes(error.message, "timed out after 150 ms");
  });

  await t.step("a timeout that passed while nobody read fails the next read", async () => {
    await using res = await client.get(`${base}/?parts=2&ms=5000`, { timeout: 100 });
    await sleep(200); // past the deadline whatever the load: the clock is monotonic
    const error = await assertRejects(() => res.read(), TimeoutError);
    assertStringIncludes(error.message, "timed out after 100 ms");
  });
});

Deno.test("Deno.serve over TLS: https with the test certificate", async () => {
  await using server = serve(() => new Response("secure hello"), tls);
  const url = `https://127.0.0.1:${server.addr.port}/`;
  {
    await using client = new HttpClient({ caCerts: [tls.cert] });
    await using res = await client.get(url);
    assertEquals(await res.text(), "secure hello");
    await using again = await client.get(url);
    assertEquals(await again.text(), "secure hello");
    assertEquals(client.idleConnections, 1);
  }
  await using untrusting = new HttpClient();
  const error = await assertRejects(() => untrusting.get(url), ConnectionError);
  assertStringIncludes(error.message, "TLS handshake failed");
});

Deno.test("Deno.serve: at most maxConnectionsPerOrigin at once; the rest wait their turn", async () => {
  const overlap = new Overlap(2, 20);
  const ports = new Set<number>();
  await using server = serve((_req, info) =>
    overlap.run(() => {
      ports.add(info.remoteAddr.port);
      return new Response("ok");
    })
  );
  await using client = new HttpClient({ maxConnectionsPerOrigin: 2 });
  const url = `http://127.0.0.1:${server.addr.port}/`;
  const texts = await Promise.all(
    Array.from({ length: 6 }, async () => (await client.get(url)).text()),
  );
  assertEquals(texts, Array(6).fill("ok"));
  assertEquals(overlap.peak, 2);
  assertEquals(ports.size, 2);
});

// ---------------------------------------------------------- python3

Deno.test("Python http.server (needs python3): files, HTTP/1.0, 404", async () => {
  requirePython("no http.server to test against");
  const dir = await Deno.makeTempDir();
  try {
    const body = pattern(200_000);
    await Deno.writeFile(`${dir}/data.bin`, body);
    await using python = await startPythonServer(dir);
    await using client = new HttpClient();
    await using res = await client.get(`${python.origin}/data.bin`);
    assertEquals(res.status, 200);
    assertEquals(res.version, "1.0");
    assertEquals(res.contentLength, 200_000);
    assertEquals(await res.bytes(), body);
    assertEquals(client.idleConnections, 0, "an HTTP/1.0 response without keep-alive is not kept");
    await using listing = await client.get(`${python.origin}/`);
    assertStringIncludes(await listing.text(), "data.bin");
    await using missing = await client.get(`${python.origin}/nope`);
    assertEquals(missing.status, 404);
    await missing.bytes();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// ------------------------------------------------------ raw responses

/** A raw server answering every request with `response`, then closing or keeping the connection. */
function answer(response: string, verdict: "keep" | "close" = "close"): RawServer {
  return new RawServer(async (req) => {
    await req.write(response);
    return verdict;
  });
}

Deno.test("malformed heads are HttpProtocolError naming the URL and the bad text", async (t) => {
  await using client = new HttpClient();
  const cases: [string, string, string][] = [
    ["a bad status line", "HTTP/1.1 2OO OK\r\n\r\n", 'malformed status line: "HTTP/1.1 2OO OK"'],
    ["HTTP/2", "HTTP/2 200\r\n\r\n", "unsupported HTTP version"],
    ["no status line", "hello\r\n\r\n", 'malformed status line: "hello"'],
    [
      "a field without colon",
      "HTTP/1.1 200 OK\r\nno-colon\r\n\r\n",
      'malformed header field: "no-colon"',
    ],
    [
      "a space before the colon",
      "HTTP/1.1 200 OK\r\nbad : x\r\n\r\n",
      'malformed header field: "bad : x"',
    ],
    ["a fold first", "HTTP/1.1 200 OK\r\n folded\r\n\r\n", "starts with whitespace"],
    ["a NUL in a value", "HTTP/1.1 200 OK\r\nx: a\0b\r\n\r\n", "control character"],
    [
      "two lengths",
      "HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\nab",
      "invalid Content-Length",
    ],
    [
      "a bad length",
      "HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n",
      'invalid Content-Length "-1"',
    ],
    ["an unasked 101", "HTTP/1.1 101 Switching Protocols\r\n\r\n", "101 Switching Protocols"],
  ];
  for (const [what, response, message] of cases) {
    await t.step(what, async () => {
      await using server = answer(response);
      const url = `${server.origin}/x`;
      const error = await assertRejects(() => client.get(url), HttpProtocolError);
      assertStringIncludes(error.message, message);
      assertStringIncludes(error.message, url);
      assertEquals(error.url, url);
    });
  }
});

Deno.test("oversized heads are HeadTooLargeError with the limit", async (t) => {
  await using client = new HttpClient({ maxHeadSize: 1024, maxHeaderFields: 10 });
  await t.step("more bytes than maxHeadSize", async () => {
    await using server = answer(`HTTP/1.1 200 OK\r\nx-big: ${"a".repeat(2000)}\r\n\r\n`);
    const error = await assertRejects(() => client.get(server.origin), HeadTooLargeError);
    assertEquals(error.limit, 1024);
    assertStringIncludes(error.message, "more than 1024 bytes");
  });
  await t.step("more fields than maxHeaderFields", async () => {
    const fields = Array.from({ length: 11 }, (_, i) => `x-${i}: ${i}\r\n`).join("");
    await using server = answer(`HTTP/1.1 200 OK\r\n${fields}content-length: 0\r\n\r\n`);
    const error = await assertRejects(() => client.get(server.origin), HeadTooLargeError);
    assertEquals(error.limit, 10);
    assertStringIncludes(error.message, "more than 10 fields");
  });
  await t.step("trailers count too", async () => {
    const trailer = `x-t: ${"b".repeat(1100)}\r\n`;
    await using server = answer(
      `HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1\r\na\r\n0\r\n${trailer}\r\n`,
    );
    await using res = await client.get(server.origin);
    await assertRejects(() => res.bytes(), HeadTooLargeError, "Response trailer");
  });
});

Deno.test("chunked bodies: extensions, trailers, and broken framing", async (t) => {
  await using client = new HttpClient();
  await t.step("extensions are ignored, trailers are kept", async () => {
    await using server = answer(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
        "5;name=value\r\nhello\r\n7\r\n, world\r\n0\r\nx-checksum: abc\r\nx-more: 1\r\n\r\n",
      "keep",
    );
    await using res = await client.get(server.origin);
    assertEquals(await res.text(), "hello, world");
    assertEquals(res.trailers.get("x-checksum"), "abc");
    assertEquals(res.trailers.get("x-more"), "1");
    assertEquals(client.idleConnections, 1);
  });
  for (
    const [what, body, error, message] of [
      [
        "a bad chunk size",
        "zz\r\nhello\r\n0\r\n\r\n",
        HttpProtocolError,
        'bad chunk size line "zz"',
      ],
      [
        "data longer than its size",
        "3\r\nhello\r\n0\r\n\r\n",
        HttpProtocolError,
        "longer than its size",
      ],
      [
        "a cut before the last chunk",
        "5\r\nhello\r\n",
        IncompleteBodyError,
        "before the last chunk",
      ],
      ["a cut inside a chunk", "a\r\nhel", IncompleteBodyError, "after 3 bytes"],
    ] as const
  ) {
    await t.step(what, async () => {
      await using server = answer(`HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n${body}`);
      await using res = await client.get(server.origin);
      await assertRejects(() => res.bytes(), error, message);
    });
  }
});

Deno.test("Content-Length bodies cut short are IncompleteBodyError, by bytes() and by read()", async () => {
  await using server = answer("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhello");
  await using client = new HttpClient();
  await using whole = await client.get(server.origin);
  const error = await assertRejects(() => whole.bytes(), IncompleteBodyError);
  assertEquals([error.received, error.expected], [5, 10]);
  assertStringIncludes(error.message, "after 5 of 10 bytes");
  await using parts = await client.get(server.origin);
  assertEquals(decoder.decode((await parts.read())!), "hello");
  await assertRejects(() => parts.read(), IncompleteBodyError, "after 5 of 10 bytes");
  assertEquals(client.idleConnections, 0);
});

Deno.test("a body without length is read until the connection closes", async () => {
  await using server = answer("HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nall of this");
  await using client = new HttpClient();
  await using res = await client.get(server.origin);
  assertEquals(res.contentLength, null);
  assertEquals(await res.text(), "all of this");
  assertEquals(client.idleConnections, 0);
});

Deno.test("bare LF line ends, interim 1xx responses, HEAD and 204 without bodies", async () => {
  await using server = new RawServer(async (req) => {
    if (req.head.startsWith("HEAD")) {
      await req.write("HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n");
    } else if (req.head.startsWith("GET /lf")) {
      await req.write("HTTP/1.1 200 OK\nx-lf: yes\ncontent-length: 2\n\nok");
    } else if (req.head.startsWith("GET /interim")) {
      await req.write(
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n",
      );
      await req.write("HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nfinal");
    } else {
      await req.write("HTTP/1.1 204 No Content\r\n\r\n");
    }
    return "keep";
  });
  await using client = new HttpClient();
  await using lf = await client.get(`${server.origin}/lf`);
  assertEquals([lf.header("x-lf"), await lf.text()], ["yes", "ok"]);
  await using interim = await client.get(`${server.origin}/interim`);
  assertEquals([interim.status, await interim.text()], [200, "final"]);
  await using head = await client.request(`${server.origin}/`, { method: "head" });
  assertEquals([head.status, head.contentLength, (await head.bytes()).length], [200, 1000, 0]);
  await using empty = await client.get(`${server.origin}/empty`);
  assertEquals([empty.status, (await empty.bytes()).length], [204, 0]);
  assertEquals(server.connections, 1, "every response left the connection reusable");
});

Deno.test("field values are ISO-8859-1, byte for byte; folded lines are joined", async () => {
  await using server = new RawServer(async (req) => {
    await req.write("HTTP/1.1 200 OK\r\nx-name: caf");
    await req.write(new Uint8Array([0xe9, 0x20, 0x80, 0x9f, 0xff]));
    await req.write("\r\nx-folded: one\r\n  two\r\n\tthree\r\ncontent-length: 0\r\n\r\n");
    return "keep";
  });
  await using client = new HttpClient();
  await using res = await client.get(server.origin);
  assertEquals(res.header("x-name"), "caf\u00e9 \u0080\u009f\u00ff");
  assertEquals(res.headers.get("x-name"), "caf\u00e9 \u0080\u009f\u00ff");
  assertEquals(res.header("x-folded"), "one two three");
});

Deno.test("a server that closes without answering is RemoteDisconnectedError", async () => {
  await using server = new RawServer(() => Promise.resolve("close"));
  await using client = new HttpClient();
  const error = await assertRejects(() => client.get(server.origin), RemoteDisconnectedError);
  assertEquals(error.received, 0);
  assertStringIncludes(error.message, "closed the connection without a response");
});

Deno.test("a kept-alive connection the server dropped is retried once on a new one (GET only)", async () => {
  await using server = new RawServer(async (req) => {
    // The first connection answers once, then drops the next request.
    if (req.connection === 0 && req.request > 0) return "close";
    await req.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
    return "keep";
  });
  await using client = new HttpClient();
  assertEquals(await (await client.get(server.origin)).text(), "ok");
  assertEquals(await (await client.get(server.origin)).text(), "ok");
  assertEquals([server.connections, server.requests], [2, 3]);

  await using second = new RawServer(async (req) => {
    if (req.connection === 0 && req.request > 0) return "close";
    await req.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
    return "keep";
  });
  assertEquals(await (await client.get(second.origin)).text(), "ok");
  await assertRejects(
    () => client.request(second.origin, { method: "POST", body: "once" }),
    RemoteDisconnectedError,
  );
  assertEquals(second.connections, 1, "a POST is not repeated");
});

Deno.test("bytes after the body (a wrong Content-Length) make the connection unusable", async () => {
  await using server = new RawServer(async (req) => {
    await req.write(
      req.connection === 0
        ? "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhelloEXTRA BYTES"
        : "HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nnext",
    );
    return "keep";
  });
  await using client = new HttpClient();
  await using first = await client.get(server.origin);
  assertEquals(await first.text(), "hello");
  assertEquals(client.idleConnections, 0);
  await using second = await client.get(server.origin);
  assertEquals(await second.text(), "next");
  assertEquals(server.connections, 2);
});

Deno.test("a request body is sent with its Content-Length", async () => {
  let received = "";
  await using server = new RawServer(async (req) => {
    received = req.head.split("\r\n").filter((l) =>
      /^(post|content-length|x-)/i.test(l)
    ).join("|") +
      `|${decoder.decode(req.body)}`;
    await req.write("HTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n");
    return "keep";
  });
  await using client = new HttpClient();
  await using res = await client.request(`${server.origin}/items?a=1`, {
    method: "POST",
    headers: { "x-kind": "test", host: "elsewhere.test", "content-length": "1" },
    body: "héllo",
  });
  assertEquals(res.status, 201);
  assertEquals(received, "POST /items?a=1 HTTP/1.1|x-kind: test|content-length: 6|héllo");
  assertEquals(server.heads[0].match(/^host: .*$/gim), [`host: ${new URL(server.origin).host}`]);
});

// ------------------------------------------------------- cancellation

Deno.test("cancellation: a signal or the task, while waiting for the head", async (t) => {
  let closedByClient = 0;
  await using server = new RawServer(async (req) => {
    await req.untilClosed();
    closedByClient++;
    return "close";
  });
  await using client = new HttpClient();
  await t.step("an explicit signal rejects with its reason and closes the connection", async () => {
    const stop = new AbortController();
    const pending = client.get(server.origin, { signal: stop.signal });
    await sleep(20);
    stop.abort(new Error("user gave up"));
    await assertRejects(() => pending, Error, "user gave up");
  });
  await t.step("cancelling the task rejects with CancelledError", async () => {
    const task = createTask(() => client.get(server.origin));
    await sleep(20);
    task.cancel("no longer needed");
    const error = await assertRejects(() => task, CancelledError);
    assertEquals(error.message, "no longer needed");
  });
  await t.step("timeout covers the wait for the head", async () => {
    await assertRejects(() => client.get(server.origin, { timeout: 30 }), TimeoutError);
  });
  await client.close();
  await until(() => closedByClient >= 3, "the client has closed its three connections");
  assertEquals(closedByClient, 3);
  assertEquals(client.idleConnections, 0);
});

Deno.test("cancellation: a body read mid-way, and a wait for a connection slot", async () => {
  await using server = serve((req, info) =>
    new URL(req.url).pathname === "/slow"
      ? new Response(slowBody(100, 100, 50, whenDone(info)))
      : new Response("quick")
  );
  const base = `http://127.0.0.1:${server.addr.port}`;
  await using client = new HttpClient({ maxConnectionsPerOrigin: 1 });

  const res = await client.get(`${base}/slow`);
  const reading = createTask(() => res.bytes());
  // The only connection is busy: this request waits for it, then gives up.
  const waiting = client.get(`${base}/quick`, { signal: AbortSignal.timeout(30) });
  await assertRejects(() => waiting, DOMException);
  reading.cancel();
  await assertRejects(() => reading, CancelledError);
  await assertRejects(() => res.read(), TypeError, "the response is closed");
  // The cancelled wait took no slot and the cancelled read freed its own.
  await using quick = await client.get(`${base}/quick`);
  assertEquals(await quick.text(), "quick");
});

// ------------------------------------------------------ bad arguments

Deno.test("bad arguments are typed errors naming the value", async () => {
  await using client = new HttpClient();
  await assertRejects(() => client.get("not a url"), TypeError, 'invalid URL "not a url"');
  await assertRejects(
    () => client.get("ftp://example.com/x"),
    TypeError,
    "only http: and https: URLs are supported, not ftp:",
  );
  await assertRejects(
    () => client.request("http://127.0.0.1:1/", { method: "GET /" }),
    TypeError,
    'invalid method "GET /"',
  );
  await assertRejects(
    () => client.get("http://127.0.0.1:1/", { timeout: -1 }),
    RangeError,
    "'timeout' must be a non-negative number of milliseconds: current value is -1",
  );
  assertThrows(
    () => new HttpClient({ maxConnectionsPerOrigin: 0 }),
    RangeError,
    "'maxConnectionsPerOrigin' must be an integer >= 1: current value is 0",
  );
  const error = await assertRejects(() => client.get("http://127.0.0.1:1/"), ConnectionError);
  assertInstanceOf(error.cause, Deno.errors.ConnectionRefused);
  await client.close();
  await assertRejects(
    () => client.get("http://127.0.0.1:1/"),
    InvalidStateError,
    "Cannot send a request: the HTTP client is closed",
  );
});
