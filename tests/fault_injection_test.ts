/**
 * Streams, connections, servers and the downloader example under network faults: a loopback proxy
 * (tests/_fault_proxy.ts) fragments, delays, stalls, half-closes or resets
 * the bytes between a client and a server at chosen offsets.
 *
 * What Deno reports, as observed on Linux and pinned here: a TCP RST makes
 * a pending `read` reject with `Deno.errors.ConnectionReset`, so the
 * `StreamReader` fails with that error (it becomes `reader.exception()`);
 * writes to a reset socket reject with `BrokenPipe` or `ConnectionReset`,
 * which `drain()` reports. A plain close (FIN) is the end of the stream:
 * `readExactly` rejects with `IncompleteReadError` holding every byte that
 * arrived before it.
 *
 * @module
 */

import { assert, assertEquals, assertGreater, assertInstanceOf, assertRejects } from "@std/assert";
import {
  IncompleteReadError,
  openConnection,
  type Server,
  type ServerErrorContext,
  startServer,
  StreamReader,
  type StreamWriter,
  timeout,
  TimeoutError,
} from "../mod.ts";
import { bytes, concat, pattern, str } from "./_bytes.ts";
import { type ConnectionPlan, startFaultProxy } from "./_fault_proxy.ts";
import { noHang, until } from "./_settle.ts";
import { mulberry32 } from "./_random.ts";
import { list } from "./_fs.ts";
import { Downloader } from "../examples/downloader/mod.ts";
import { HttpClient } from "../examples/http/mod.ts";
import { serve } from "./fixtures/http_servers.ts";
import { cert, key } from "./fixtures/tls.ts";

/** Whether `e` is how Deno reports a connection the peer reset or closed under us. */
function isResetError(e: unknown): boolean {
  return e instanceof Deno.errors.ConnectionReset || e instanceof Deno.errors.BrokenPipe ||
    e instanceof Deno.errors.ConnectionAborted;
}

function errorLog() {
  const errors: unknown[] = [];
  return {
    errors,
    onError: (e: unknown, _c: ServerErrorContext) => void errors.push(e),
  };
}

// A response mixing everything a reader cuts on: CRLF lines, multi-byte
// characters, a header block, a length-prefixed frame and a tail.
const FRAME = Uint8Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff);
const RESPONSE = (() => {
  const head = bytes(
    "HTTP/1.1 200 OK\r\nX-Name: caf\u00e9 \u65e5\u672c \ud83c\udf89\r\n" +
      "X-Empty:\r\n\r\n" + "line one\nline two\r\n",
  );
  const size = new Uint8Array(4);
  new DataView(size.buffer).setUint32(0, FRAME.length);
  const tail = bytes("--boundary--\u00e9tail without newline");
  return concat([head, size, FRAME, tail]);
})();

/** The reads a client makes on RESPONSE, as plain values. */
async function readScript(reader: StreamReader): Promise<unknown[]> {
  const out: unknown[] = [];
  out.push(str(await reader.readLine()));
  out.push(str(await reader.readUntil("\r\n\r\n")));
  for await (const line of reader.lines()) {
    out.push(line);
    if (line === "line two") break;
  }
  const size = new DataView((await reader.readExactly(4)).slice().buffer).getUint32(0);
  out.push([...await reader.readExactly(size)]);
  out.push(str(await reader.readUntil(["--", "\n"])));
  out.push(str(await reader.readUntil("--")));
  out.push(await reader.text());
  return out;
}

/** The same reads on the whole response, buffered at once: the reference. */
async function expectedScript(): Promise<unknown[]> {
  const reader = new StreamReader();
  reader.feedData(RESPONSE);
  reader.feedEof();
  return await readScript(reader);
}

async function serveResponse(_reader: StreamReader, writer: StreamWriter): Promise<void> {
  writer.write(RESPONSE);
  await writer.drain();
}

Deno.test("fragmented and delayed, the server's bytes read the same", async () => {
  const expected = await expectedScript();
  await using server = await startServer(serveResponse, { host: "127.0.0.1", port: 0 });
  const plans: [string, ConnectionPlan][] = [
    ["1-byte pieces", { downstream: { fragment: 1 } }],
    ["2-byte pieces", { downstream: { fragment: 2 } }],
    ["3-byte pieces", { downstream: { fragment: 3 } }],
    ["7-byte pieces, 1 ms apart", { downstream: { fragment: 7, delay: 1 } }],
    ["64-byte pieces", { downstream: { fragment: 64 } }],
    ["50-byte pieces, 2 ms apart", { downstream: { fragment: 50, delay: 2 } }],
  ];
  for (const [what, plan] of plans) {
    await using proxy = await startFaultProxy({ target: server.addr, ...plan });
    await using conn = await openConnection("127.0.0.1", proxy.port);
    const got = await noHang(readScript(conn.reader), 20_000, what);
    assertEquals(got, expected, what);
  }
});

/** Reads a request (a line, a frame and lines until "end"), answers with what it saw. */
async function serveRequest(reader: StreamReader, writer: StreamWriter): Promise<void> {
  const first = str(await reader.readLine());
  const size = Number(str(await reader.readUntil(":")).slice(0, -1));
  const frame = await reader.readExactly(size);
  const lines: string[] = [];
  for await (const line of reader.lines()) {
    if (line === "end") break;
    lines.push(line);
  }
  writer.write(JSON.stringify({ first, frame: [...frame], lines }) + "\n");
  await writer.drain();
}

Deno.test("fragmented in both directions, a server reads requests the same", async () => {
  await using server = await startServer(serveRequest, { host: "127.0.0.1", port: 0 });
  const frame = Uint8Array.from({ length: 200 }, (_, i) => 255 - i);
  const request = concat([
    bytes("GET /caf\u00e9 HTTP/1.1\r\n200:"),
    frame,
    bytes("a\r\n\u00fcber\n\r\n\ud83c\udf89 party\nend\nignored"),
  ]);
  const expected = {
    first: "GET /caf\u00e9 HTTP/1.1\r\n",
    frame: [...frame],
    lines: ["a", "\u00fcber", "", "\ud83c\udf89 party"],
  };
  for (const fragment of [1, 2, 5, 13]) {
    await using proxy = await startFaultProxy({
      target: server.addr,
      upstream: { fragment },
      downstream: { fragment },
    });
    await using conn = await openConnection("127.0.0.1", proxy.port);
    conn.writer.write(request);
    await conn.writer.drain();
    const answer = await noHang(conn.reader.readLine(), 20_000, `fragment ${fragment}`);
    assertEquals(JSON.parse(str(answer)), expected, `fragment ${fragment}`);
  }
});

Deno.test("a stall and a timeout give TimeoutError, and the bytes that came stay", async () => {
  await using server = await startServer(async (_reader, writer) => {
    writer.write("HEADER\r\npartial line, then the rest\nframe:0123456789abcdefghij");
    await writer.drain();
  }, { host: "127.0.0.1", port: 0 });
  // Stall after "HEADER\r\npartial" (15 bytes): the line is cut in two.
  await using proxy = await startFaultProxy({
    target: server.addr,
    downstream: { stallAt: 15 },
  });
  await using conn = await openConnection("127.0.0.1", proxy.port);
  const { reader } = conn;
  assertEquals(str(await reader.readLine()), "HEADER\r\n");
  const link = await proxy.connection(0);
  await link.reached("downstream", 15);
  assert(link.state.downstream.stalled);
  await assertRejects(() => timeout(50, () => reader.readLine()), TimeoutError);
  await assertRejects(() => timeout(20, () => reader.readExactly(100)), TimeoutError);
  await assertRejects(() => timeout(20, () => reader.readUntil("\n")), TimeoutError);
  link.resume();
  // The 7 bytes read before the stall were kept by every timed-out read.
  assertEquals(str(await reader.readLine()), "partial line, then the rest\n");
  assertEquals(str(await reader.readUntil(":")), "frame:");
  assertEquals(str(await reader.readExactly(20)), "0123456789abcdefghij");
  assertEquals(str(await reader.read()), "");
});

Deno.test("a stalled peer makes drain() time out; after it resumes every byte arrives once", async () => {
  const SIZE = 24 * 1024 * 1024;
  let received = 0;
  let sum = 0;
  await using server = await startServer(async (reader, writer) => {
    for (;;) {
      const chunk = await reader.read(65536);
      if (chunk.length === 0) break;
      received += chunk.length;
      for (const b of chunk) sum = (sum + b) % 65521;
    }
    writer.write(`${received}\n`);
  }, { host: "127.0.0.1", port: 0 });
  await using proxy = await startFaultProxy({
    target: server.addr,
    upstream: { stallAt: 1000 },
  });
  await using conn = await openConnection("127.0.0.1", proxy.port);
  const { reader, writer } = conn;
  const data = Uint8Array.from({ length: SIZE }, (_, i) => (i * 31 + (i >> 8)) & 0xff);
  let expectedSum = 0;
  for (const b of data) expectedSum = (expectedSum + b) % 65521;
  writer.write(data);
  // The kernel buffers fill up behind the stall: the writer's buffer stays over its limit.
  await assertRejects(() => timeout(300, () => writer.drain()), TimeoutError);
  assertGreater(writer.getWriteBufferSize(), writer.getWriteBufferLimits().high);
  const link = await proxy.connection(0);
  assertEquals(link.state.upstream.forwarded, 1000);
  link.resume();
  await noHang(writer.drain(), 30_000, "drain after the stall");
  writer.writeEof();
  assertEquals(str(await noHang(reader.readLine(), 30_000, "the answer")), `${SIZE}\n`);
  assertEquals(received, SIZE);
  assertEquals(sum, expectedSum);
});

Deno.test("a reset mid-response fails the client's read with ConnectionReset; the server lives on", async () => {
  const log = errorLog();
  const BIG = 400_000;
  let handlersDone = 0;
  await using server = await startServer(async (_reader, writer) => {
    try {
      for (let sent = 0; sent < BIG; sent += 4000) {
        writer.write(new Uint8Array(4000).fill(0x61));
        await writer.drain();
      }
    } finally {
      handlersDone++;
    }
  }, { host: "127.0.0.1", port: 0, onError: log.onError });
  {
    await using proxy = await startFaultProxy({
      target: server.addr,
      downstream: { resetAt: 50_000, reset: "rst" },
    });
    await using conn = await openConnection("127.0.0.1", proxy.port);
    const { reader, writer } = conn;
    const error = await noHang(
      reader.readExactly(BIG).then(() => undefined, (e) => e),
      20_000,
      "readExactly over a reset",
    );
    // Deno reports the RST as ConnectionReset; the reader keeps it.
    assertInstanceOf(error, Deno.errors.ConnectionReset);
    assertEquals(reader.exception(), error);
    await assertRejects(() => reader.readLine(), Deno.errors.ConnectionReset);
    // drain() reports the reader's failure (asyncio's rule); the write
    // itself then fails on the reset socket, which waitClosed() reports.
    writer.write("anything\n");
    const drained = await writer.drain().then(() => undefined, (e) => e);
    assertEquals(drained, error);
    writer.close();
    const closed = await noHang(
      writer.waitClosed().then(() => undefined, (e) => e),
      20_000,
      "close",
    );
    assert(closed === undefined || isResetError(closed), `waitClosed: ${closed}`);
    const link = await proxy.connection(0);
    assertEquals(link.state.downstream.forwarded, 50_000);
    assertEquals(link.events.at(-1), "rst at downstream 50000");
  }
  // The handler's side was reset too: it ended, its failure was reported,
  // and the server still serves.
  await until(() => handlersDone >= 1, "the handler ends");
  assertEquals(handlersDone, 1);
  assert(log.errors.every(isResetError), `reported: ${log.errors}`);
  await using conn = await openConnection("127.0.0.1", server.addr.port);
  assertEquals((await conn.reader.readExactly(4000)).length, 4000);
});

Deno.test("a close without reading mid-response is the end of the stream: IncompleteReadError", async () => {
  await using server = await startServer(async (_reader, writer) => {
    writer.write(new Uint8Array(100_000).fill(0x62));
    await writer.drain();
  }, { host: "127.0.0.1", port: 0, onError: () => {} });
  await using proxy = await startFaultProxy({
    target: server.addr,
    downstream: { resetAt: 30_000, reset: "close" },
  });
  await using conn = await openConnection("127.0.0.1", proxy.port);
  const e = await assertRejects(() => conn.reader.readExactly(100_000), IncompleteReadError);
  assertEquals(e.partial.length, 30_000);
  assertEquals(e.expected, 100_000);
  assert(conn.reader.atEof());
});

Deno.test("a reset of the client's bytes fails both sides without a hang", async () => {
  const log = errorLog();
  let serverSaw: unknown;
  await using server = await startServer(async (reader, writer) => {
    writer.write("ready\n");
    try {
      for (;;) if ((await reader.read()).length === 0) break;
    } catch (e) {
      serverSaw = e;
      throw e;
    }
  }, { host: "127.0.0.1", port: 0, onError: log.onError });
  await using proxy = await startFaultProxy({
    target: server.addr,
    upstream: { resetAt: 10_000, reset: "rst" },
  });
  await using conn = await openConnection("127.0.0.1", proxy.port);
  const { reader, writer } = conn;
  // The server has accepted the connection and reads.
  assertEquals(str(await reader.readLine()), "ready\n");
  const pendingRead = reader.read().then(() => undefined, (e) => e);
  writer.write(new Uint8Array(20_000).fill(0x63));
  await writer.drain();
  const link = await proxy.connection(0);
  await noHang(link.closed, 20_000, "the reset");
  assertEquals(link.events.at(-1), "rst at upstream 10000");
  assertInstanceOf(await noHang(pendingRead, 20_000, "read"), Deno.errors.ConnectionReset);
  // The next write fails, and drain() says so (the reader's error first, as asyncio does).
  let failure: unknown;
  for (let i = 0; i < 100 && failure === undefined; i++) {
    writer.write(new Uint8Array(1000).fill(0x63));
    failure = await noHang(writer.drain().then(() => undefined, (e) => e), 20_000, "drain");
  }
  assert(isResetError(failure), `the writer saw ${failure}`);
  writer.close();
  const closed = await writer.waitClosed().then(() => undefined, (e) => e);
  assert(closed === undefined || isResetError(closed), `waitClosed: ${closed}`);
  server.close();
  await noHang(server.waitClosed(), 20_000, "server.waitClosed()");
  assertInstanceOf(serverSaw, Deno.errors.ConnectionReset);
  assertEquals(log.errors.length, 1);
});

Deno.test("after the client half-closes, the server still answers", async () => {
  await using server = await startServer(async (reader, writer) => {
    const all = await reader.bytes();
    writer.write(`got ${all.length} bytes: ${str(all)}\n`);
  }, { host: "127.0.0.1", port: 0 });
  for (const fragment of [undefined, 1, 4]) {
    await using proxy = await startFaultProxy({
      target: server.addr,
      upstream: { fragment },
      downstream: { fragment },
    });
    await using conn = await openConnection("127.0.0.1", proxy.port);
    conn.writer.write("hello, half-closed world");
    assert(conn.writer.canWriteEof());
    conn.writer.writeEof();
    assertEquals(
      str(await noHang(conn.reader.readLine(), 20_000, "the answer")),
      "got 24 bytes: hello, half-closed world\n",
    );
    assertEquals(str(await conn.reader.read()), "");
  }
});

Deno.test("a half-close by the network mid-request: the server sees EOF and still answers", async () => {
  await using server = await startServer(async (reader, writer) => {
    const all = await reader.bytes();
    writer.write(`got ${str(all)}\n`);
    await writer.drain();
  }, { host: "127.0.0.1", port: 0 });
  await using proxy = await startFaultProxy({
    target: server.addr,
    upstream: { halfCloseAt: 11 },
  });
  await using conn = await openConnection("127.0.0.1", proxy.port);
  conn.writer.write("hello world, and bytes the server never sees");
  await conn.writer.drain();
  assertEquals(str(await noHang(conn.reader.readLine(), 20_000, "answer")), "got hello world\n");
});

Deno.test("a server under resets at random offsets in both directions keeps serving", async () => {
  const log = errorLog();
  let active = 0;
  async function echo(reader: StreamReader, writer: StreamWriter): Promise<void> {
    active++;
    try {
      for await (const line of reader) {
        writer.write(line);
        await writer.drain();
      }
    } finally {
      active--;
    }
  }
  const server: Server<Deno.NetAddr> = await startServer(echo, {
    host: "127.0.0.1",
    port: 0,
    onError: log.onError,
  });
  const rand = mulberry32(7);
  const CLIENTS = 40;
  const plans = Array.from({ length: CLIENTS }, (_, i): ConnectionPlan => {
    const at = 1 + Math.floor(rand() * 3000);
    const reset = rand() < 0.5 ? "rst" : "close";
    const fragment = 1 + Math.floor(rand() * 50);
    return i % 2 === 0
      ? { upstream: { resetAt: at, reset, fragment } }
      : { downstream: { resetAt: at, reset, fragment } };
  });
  await using proxy = await startFaultProxy({ target: server.addr, plan: (i) => plans[i] });
  const outcomes = await noHang(
    Promise.all(plans.map(async (_, i) => {
      // All clients connect at once. The proxy numbers connections in the
      // order it accepts them, so client i gets the plan for its place in
      // that order, which need not be plans[i]: every plan cuts, either way.
      await using conn = await openConnection("127.0.0.1", proxy.port);
      const { reader, writer } = conn;
      let echoed = 0;
      try {
        for (let n = 0; n < 100; n++) {
          const line = `client ${i} line ${n} ${"x".repeat(n)}\n`;
          writer.write(line);
          await writer.drain();
          const got = str(await reader.readLine());
          if (got !== line) {
            // Cut off by a close: what came is a prefix of the line, never other bytes.
            assert(line.startsWith(got), `client ${i} read ${JSON.stringify(got)}`);
            return { echoed, error: "end of stream" };
          }
          echoed++;
        }
        return { echoed, error: undefined };
      } catch (e) {
        return { echoed, error: e };
      }
    })),
    60_000,
    "clients under resets",
  );
  // Every client was cut off: by a reset error or by the end of the stream.
  for (const { error } of outcomes) {
    assert(error !== undefined, "a client was not cut off");
    assert(
      isResetError(error) || error === "end of stream",
      `unexpected client error: ${error}`,
    );
  }
  // The server reported only connection failures, and no handler hangs.
  assert(log.errors.every(isResetError), `server reported: ${log.errors}`);
  await until(() => active <= 0, "the handlers end");
  assertEquals(active, 0, "handlers still running");
  // It still serves.
  {
    await using conn = await openConnection("127.0.0.1", server.addr.port);
    conn.writer.write("still here\n");
    assertEquals(str(await conn.reader.readLine()), "still here\n");
  }
  server.close();
  await noHang(server.waitClosed(), 10_000, "server.waitClosed()");
});

Deno.test("a TLS handshake stalled by the network ends at openConnection's timeout, leaking nothing", async () => {
  await using server = await startServer(async (_reader, writer) => {
    writer.write("secure hello\n");
    await writer.drain();
  }, { host: "127.0.0.1", port: 0, tls: { cert, key }, onError: () => {} });
  const tls = { caCerts: [cert], hostname: "localhost" };
  {
    // The server's first handshake bytes are held back.
    await using proxy = await startFaultProxy({ target: server.addr, downstream: { stallAt: 0 } });
    const error = await assertRejects(
      () => openConnection("127.0.0.1", proxy.port, { tls, timeout: 200 }),
      TimeoutError,
    );
    assert(error.message.includes("timed out after 200 ms"), error.message);
  }
  // Fragmented to single bytes, the handshake and the data still go through.
  await using proxy = await startFaultProxy({
    target: server.addr,
    upstream: { fragment: 1 },
    downstream: { fragment: 1 },
  });
  await using conn = await openConnection("127.0.0.1", proxy.port, { tls, timeout: 20_000 });
  assertEquals(str(await conn.reader.readLine()), "secure hello\n");
});

Deno.test("a handler stuck on a stalled peer: closeClients() leaves its flush, abortClients() ends it", async () => {
  let stuck = false;
  const server = await startServer(async (_reader, writer) => {
    const block = new Uint8Array(64 * 1024);
    stuck = true;
    for (let i = 0; i < 1000; i++) {
      writer.write(block);
      await writer.drain();
    }
  }, { host: "127.0.0.1", port: 0, onError: () => {} });
  await using proxy = await startFaultProxy({
    target: server.addr,
    downstream: { stallAt: 1000 },
  });
  await using conn = await openConnection("127.0.0.1", proxy.port);
  const link = await proxy.connection(0);
  await link.reached("downstream", 1000);
  await until(() => stuck, "the handler is writing");
  server.close();
  server.closeClients();
  // As in asyncio, closing a client flushes its buffer first: with a peer
  // that reads nothing, that waits.
  await assertRejects(() => timeout(300, () => server.waitClosed()), TimeoutError);
  server.abortClients();
  await noHang(server.waitClosed(), 5_000, "waitClosed() after abortClients()");
  // The client sees its connection end: by a reset or by the end of the stream.
  link.resume();
  const end = await noHang(conn.reader.read(-1).then(() => "eof", (e) => e), 20_000, "read");
  assert(end === "eof" || isResetError(end), `the client saw ${end}`);
});

// ------------------------------------------------------------ the downloader

Deno.test("the downloader through a reset, a stall, a FIN and fragments: every file whole, no .part left", async () => {
  const SIZE = 300_000;
  await using server = serve((req) => {
    const n = Number(new URL(req.url).pathname.slice(1, 2));
    return new Response(pattern(SIZE, n));
  });
  // One connection per attempt (no keep-alive), so each attempt meets its own fault:
  // three faults, three retries, six connections.
  const plans: ConnectionPlan[] = [
    { downstream: { resetAt: 100_000 } }, // a: a TCP RST mid-body
    { downstream: { fragment: 1_460, delay: 0 } }, // a again: in 206 pieces
    { downstream: { stallAt: 50_000 } }, // b: no more data, until the read timeout
    { downstream: { resetAt: 150_000, reset: "close" } }, // b again: a FIN mid-body
  ];
  await using proxy = await startFaultProxy({
    target: server.addr,
    plan: (i) => plans[i] ?? {},
  });
  await using client = new HttpClient({ maxIdlePerOrigin: 0 });
  const dir = await Deno.makeTempDir({ prefix: "aio-fault-downloader-" });
  try {
    const delays: number[] = [];
    const downloader = new Downloader(
      ["1.bin", "2.bin", "3.bin"].map((name) => `http://127.0.0.1:${proxy.port}/${name}`),
      {
        dir,
        concurrency: 1,
        readTimeout: 1_000,
        client,
        sleep: (ms) => (delays.push(ms), Promise.resolve()),
      },
    );
    const results = await noHang(downloader.run(), 20_000, "downloader.run()");
    // A retry waits for a free slot behind the downloads already queued, so
    // which file met which fault depends on the order: count them all.
    assertEquals(results.map((r) => r.state), ["ok", "ok", "ok"]);
    assertEquals(results.reduce((sum, r) => sum + r.attempts, 0), 6);
    assertEquals(delays.length, 3);
    const problems = results.flatMap((r) => r.problems).sort();
    assertEquals(problems.length, 3);
    assert(/^ConnectionReset: /.test(problems[0]), problems[0]);
    assertEquals(problems[1], "connection closed after 149920 of 300000 bytes");
    assertEquals(problems[2], "no data received for 1000 ms");
    assertEquals(await list(dir), ["1.bin", "2.bin", "3.bin"]);
    for (const n of [1, 2, 3]) {
      assertEquals(await Deno.readFile(`${dir}/${n}.bin`), pattern(SIZE, n));
    }
    assertEquals(proxy.connections.length, 6);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the downloader against resets on every attempt: failed, nothing under the final name or as .part", async () => {
  await using server = serve(() => new Response(pattern(300_000)));
  await using proxy = await startFaultProxy({
    target: server.addr,
    downstream: { resetAt: 120_000 },
  });
  await using client = new HttpClient({ maxIdlePerOrigin: 0 });
  const dir = await Deno.makeTempDir({ prefix: "aio-fault-downloader-" });
  try {
    const downloader = new Downloader([`http://127.0.0.1:${proxy.port}/big.bin`], {
      dir,
      retries: 2,
      client,
      sleep: () => Promise.resolve(),
    });
    const [result] = await noHang(downloader.run(), 20_000, "downloader.run()");
    assertEquals([result.state, result.attempts], ["failed", 3]);
    assertEquals(await list(dir), []);
    assertEquals(proxy.connections.length, 3);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
