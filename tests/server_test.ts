import {
  assert,
  assertEquals,
  assertFalse,
  assertInstanceOf,
  assertMatch,
  assertRejects,
  assertStrictEquals,
} from "@std/assert";
import { stub } from "@std/testing/mock";
import {
  CancelledError,
  ConnectionError,
  createTask,
  InvalidStateError,
  isCancellation,
  LimitOverrunError,
  openConnection,
  openUnixConnection,
  type ServerErrorContext,
  sleep,
  startServer,
  startUnixServer,
  type StreamReader,
  type StreamWriter,
} from "../mod.ts";
import { ignoreOn } from "./_ignore.ts";
import { until } from "./_settle.ts";
import { str } from "./_bytes.ts";
import { cert, key } from "./fixtures/tls.ts";

/** Echoes lines until EOF. */
async function echo(reader: StreamReader, writer: StreamWriter): Promise<void> {
  for await (const line of reader) {
    writer.write(line);
    await writer.drain();
  }
}

/** Collects what a server reports. */
function errorLog(): {
  errors: [unknown, ServerErrorContext][];
  onError: (e: unknown, c: ServerErrorContext) => void;
} {
  const errors: [unknown, ServerErrorContext][] = [];
  return { errors, onError: (e, c) => void errors.push([e, c]) };
}

Deno.test("startServer echoes, reports its address and closes with await using", async () => {
  let closedServer: { isServing(): boolean } | undefined;
  {
    await using server = await startServer(echo, { host: "127.0.0.1", port: 0 });
    closedServer = server;
    assertEquals(server.addr.transport, "tcp");
    assertEquals(server.addr.hostname, "127.0.0.1");
    assert(server.addr.port > 0);
    assert(server.isServing());
    await using conn = await openConnection("127.0.0.1", server.addr.port);
    conn.writer.write("one\n");
    assertEquals(str(await conn.reader.readLine()), "one\n");
    conn.writer.write("two\n");
    assertEquals(str(await conn.reader.readLine()), "two\n");
  }
  assertFalse(closedServer.isServing());
});

Deno.test("the writer is closed when the handler returns", async () => {
  let handed: StreamWriter | undefined;
  await using server = await startServer((_reader, writer) => {
    handed = writer;
    writer.write("last words"); // no close: the server closes it
  }, { host: "127.0.0.1", port: 0 });
  await using conn = await openConnection("127.0.0.1", server.addr.port);
  assertEquals(await conn.reader.text(), "last words"); // then EOF
  assert(handed?.isClosing());
});

Deno.test("accepted connections get TCP_NODELAY unless noDelay is false", async () => {
  const original = Deno.listen;
  const calls: (boolean | undefined)[] = [];
  Deno.listen = ((options: Deno.TcpListenOptions) => {
    const listener = original(options);
    const accept = listener.accept.bind(listener);
    listener.accept = async () => {
      const conn = await accept();
      const setNoDelay = conn.setNoDelay.bind(conn);
      conn.setNoDelay = (noDelay?: boolean) => {
        calls.push(noDelay);
        setNoDelay(noDelay);
      };
      return conn;
    };
    return listener;
  }) as typeof Deno.listen;
  try {
    for (const noDelay of [undefined, false]) {
      await using server = await startServer(echo, { host: "127.0.0.1", port: 0, noDelay });
      await using conn = await openConnection("127.0.0.1", server.addr.port);
      conn.writer.write("x\n");
      assertEquals(str(await conn.reader.readLine()), "x\n");
    }
  } finally {
    Deno.listen = original;
  }
  assertEquals(calls, [true, false]);
});

Deno.test("startServer serves 1,000 concurrent clients", async () => {
  const CLIENTS = 1000;
  let peak = 0;
  let active = 0;
  await using server = await startServer(async (reader, writer) => {
    active++;
    peak = Math.max(peak, active);
    try {
      await echo(reader, writer);
    } finally {
      active--;
    }
  }, { host: "127.0.0.1", port: 0, backlog: 1024 });
  const conns = await Promise.all(
    Array.from({ length: CLIENTS }, () => openConnection("127.0.0.1", server.addr.port)),
  );
  try {
    // Every client is connected before any sends: all handlers run at once.
    for (const [i, [, writer]] of conns.entries()) writer.write(`client ${i}\n`);
    const answers = await Promise.all(conns.map(([reader]) => reader.readLine()));
    for (let i = 0; i < CLIENTS; i++) assertEquals(str(answers[i]), `client ${i}\n`);
    assertEquals(peak, CLIENTS);
  } finally {
    await Promise.all(conns.map((c) => c[Symbol.asyncDispose]()));
  }
  await until(() => active === 0, "the handlers end");
});

Deno.test("a throwing handler is reported and the server goes on", async () => {
  const log = errorLog();
  await using server = await startServer(async (reader, writer) => {
    const line = str(await reader.readLine());
    if (line === "boom\n") throw new RangeError("handler exploded");
    writer.write(line);
  }, { host: "127.0.0.1", port: 0, onError: log.onError });

  {
    await using conn = await openConnection("127.0.0.1", server.addr.port);
    conn.writer.write("boom\n");
    // The writer was closed when the handler ended.
    assertEquals(await conn.reader.read(), new Uint8Array());
    const local = conn.writer.getExtraInfo("sockname") as Deno.NetAddr;
    await until(() => log.errors.length === 1, "the failure is reported");
    const [error, context] = log.errors[0];
    assertInstanceOf(error, RangeError);
    assertEquals(context.message, "Client handler failed");
    assertEquals((context.peername as Deno.NetAddr).port, local.port);
  }
  await using conn = await openConnection("127.0.0.1", server.addr.port);
  conn.writer.write("fine\n");
  assertEquals(str(await conn.reader.readLine()), "fine\n");
  assertEquals(log.errors.length, 1);
});

Deno.test("a handler's failure goes to stderr by default", async () => {
  using consoleError = stub(console, "error", () => {});
  {
    await using server = await startServer(() => {
      throw new Error("sync failure");
    }, { host: "127.0.0.1", port: 0 });
    await using conn = await openConnection("127.0.0.1", server.addr.port);
    assertEquals(await conn.reader.read(), new Uint8Array());
    await until(() => consoleError.calls.length > 0, "stderr is written");
  }
  const args = consoleError.calls[0].args;
  assertMatch(String(args[0]), /^Client handler failed \(client 127\.0\.0\.1:\d+\):$/);
  assertEquals((args[1] as Error).message, "sync failure");
});

Deno.test("a throwing onError hook does not stop the server", async () => {
  using consoleError = stub(console, "error", () => {});
  await using server = await startServer((_reader, writer) => {
    writer.write("hi");
    throw new Error("handler");
  }, {
    host: "127.0.0.1",
    port: 0,
    onError: () => {
      throw new Error("hook");
    },
  });
  for (let i = 0; i < 2; i++) {
    await using conn = await openConnection("127.0.0.1", server.addr.port);
    assertEquals(await conn.reader.text(), "hi");
  }
  await until(() => consoleError.calls.length === 2, "both failures are reported");
  assertMatch(String(consoleError.calls[0].args[0]), /onError hook threw/);
});

Deno.test("closeClients cancels running handlers; their connections close", async () => {
  const outcomes: string[] = [];
  const server = await startServer(async (reader, writer) => {
    writer.write("ready\n");
    try {
      await reader.readLine(); // the client never sends a line
      outcomes.push("read a line");
    } catch (e) {
      outcomes.push(isCancellation(e) ? "cancelled" : `failed: ${e}`);
      throw e;
    }
  }, { host: "127.0.0.1", port: 0 });
  const conns = await Promise.all(
    [1, 2, 3].map(() => openConnection("127.0.0.1", server.addr.port)),
  );
  for (const [reader] of conns) assertEquals(str(await reader.readLine()), "ready\n");
  server.close();
  let closed = false;
  const waiting = server.waitClosed().then(() => closed = true);
  await sleep(10);
  assertFalse(closed); // handlers still run
  server.closeClients();
  await waiting;
  assertEquals(outcomes, ["cancelled", "cancelled", "cancelled"]);
  for (const [reader] of conns) assertEquals(await reader.read(), new Uint8Array());
  await Promise.all(conns.map((c) => c[Symbol.asyncDispose]()));
});

Deno.test("abortClients cancels a handler waiting in drain", async () => {
  let outcome = "";
  const server = await startServer(async (_reader, writer) => {
    try {
      for (;;) {
        writer.write(new Uint8Array(1 << 20));
        await writer.drain(); // the client never reads
      }
    } catch (e) {
      outcome = e instanceof CancelledError ? "cancelled" : String(e);
    }
  }, { host: "127.0.0.1", port: 0 });
  const conn = await openConnection("127.0.0.1", server.addr.port);
  await conn.reader.readExactly(1); // the handler runs
  server.close();
  // The handler's buffered data would never be read: abort rather than close.
  server.abortClients();
  await server.waitClosed();
  assertEquals(outcome, "cancelled");
  await conn[Symbol.asyncDispose]();
});

Deno.test("abortClients closes connections at once, dropping their buffers", async () => {
  let handlerEnded = false;
  const server = await startServer(async (_reader, writer) => {
    writer.write(new Uint8Array(64 << 20)); // far more than the socket takes
    try {
      await sleep(60_000);
    } finally {
      handlerEnded = true;
    }
  }, { host: "127.0.0.1", port: 0 });
  const conn = await openConnection("127.0.0.1", server.addr.port);
  await conn.reader.readExactly(1000); // the data started flowing
  server.abortClients();
  server.close();
  await server.waitClosed();
  assert(handlerEnded);
  // The client sees the connection end well before 64 MiB.
  let total = 1000;
  try {
    for (;;) {
      const chunk = await conn.reader.read(1 << 20);
      if (chunk.length === 0) break;
      total += chunk.length;
    }
  } catch (e) {
    assert(e instanceof Deno.errors.ConnectionReset, String(e));
  }
  assert(total < 64 << 20, `read ${total}`);
  await conn[Symbol.asyncDispose]();
});

Deno.test("close stops accepting; running handlers go on; waitClosed waits for them", async () => {
  const server = await startServer(echo, { host: "127.0.0.1", port: 0 });
  const port = server.addr.port;
  const conn = await openConnection("127.0.0.1", port);
  conn.writer.write("before\n");
  assertEquals(str(await conn.reader.readLine()), "before\n");
  server.close();
  server.close();
  assertFalse(server.isServing());
  // Refused, or reset if the connect raced the listener's close.
  const refused = await assertRejects(() => openConnection("127.0.0.1", port), ConnectionError);
  assertMatch(refused.message, /connection (refused|reset by peer)$/);
  // The running client is still served.
  conn.writer.write("after\n");
  assertEquals(str(await conn.reader.readLine()), "after\n");

  let closed = false;
  const waiting = server.waitClosed().then(() => closed = true);
  const controller = new AbortController();
  const cancelled = server.waitClosed({ signal: controller.signal });
  controller.abort(new Error("not waiting"));
  await assertRejects(() => cancelled, Error, "not waiting");
  await sleep(10);
  assertFalse(closed);
  await conn[Symbol.asyncDispose](); // the handler reads EOF and returns
  await waiting;
  await server.waitClosed();
  await server[Symbol.asyncDispose]();
});

Deno.test("serveForever runs until close, or until cancelled", async (t) => {
  await t.step("resolves when the server is closed", async () => {
    const server = await startServer(echo, { host: "127.0.0.1", port: 0 });
    const serving = server.serveForever();
    await assertRejects(() => server.serveForever(), InvalidStateError, "already running");
    await sleep(5);
    server.close();
    await serving;
    await assertRejects(() => server.serveForever(), InvalidStateError, "the server is closed");
  });
  await t.step("cancelling its task closes the server and its clients", async () => {
    let handlerCancelled = false;
    const server = await startServer(async (reader, writer) => {
      writer.write("ready\n");
      try {
        await reader.readLine();
      } catch (e) {
        handlerCancelled = e instanceof CancelledError;
      }
    }, { host: "127.0.0.1", port: 0 });
    const task = createTask(() => server.serveForever());
    await using conn = await openConnection("127.0.0.1", server.addr.port);
    assertEquals(str(await conn.reader.readLine()), "ready\n"); // the handler runs
    task.cancel();
    await assertRejects(() => Promise.resolve(task), CancelledError);
    assertFalse(server.isServing());
    assert(handlerCancelled);
    assertEquals(await conn.reader.read(), new Uint8Array());
  });
  await t.step("its signal stops it", async () => {
    const server = await startServer(echo, { host: "127.0.0.1", port: 0 });
    const controller = new AbortController();
    const serving = server.serveForever({ signal: controller.signal });
    controller.abort(new Error("shutdown"));
    await assertRejects(() => serving, Error, "shutdown");
    assertFalse(server.isServing());
  });
});

Deno.test("the server's signal closes it and cancels its handlers", async () => {
  const controller = new AbortController();
  let handlerCancelled = false;
  const server = await startServer(async (reader, writer) => {
    writer.write("hello\n");
    try {
      await reader.readLine();
    } catch (e) {
      handlerCancelled = e instanceof CancelledError;
    }
  }, { host: "127.0.0.1", port: 0, signal: controller.signal });
  await using conn = await openConnection("127.0.0.1", server.addr.port);
  await conn.reader.readLine();
  controller.abort();
  await server.waitClosed();
  assertFalse(server.isServing());
  assert(handlerCancelled);
  await assertRejects(
    () => startServer(echo, { port: 0, signal: AbortSignal.abort(new Error("too late")) }),
    Error,
    "too late",
  );
});

Deno.test("a server disposed in a cancelled task stops its clients without waiting", async () => {
  let handlerCancelled = false;
  let port = 0;
  const task = createTask(async () => {
    await using server = await startServer(async (reader, writer) => {
      writer.write("ready\n");
      try {
        await reader.readLine();
      } catch (e) {
        handlerCancelled = e instanceof CancelledError;
      }
    }, { host: "127.0.0.1", port: 0 });
    port = server.addr.port;
    await sleep(60_000);
  });
  await until(() => port !== 0, "the server listens");
  const conn = await openConnection("127.0.0.1", port);
  assertEquals(str(await conn.reader.readLine()), "ready\n"); // the handler runs
  task.cancel();
  await assertRejects(() => Promise.resolve(task), CancelledError);
  assertEquals(await conn.reader.read(), new Uint8Array());
  assert(handlerCancelled);
  await conn[Symbol.asyncDispose]();
});

Deno.test("the reader limit reaches the handlers", async () => {
  const log = errorLog();
  {
    await using server = await startServer(async (reader) => {
      await reader.readLine();
    }, { host: "127.0.0.1", port: 0, limit: 8, onError: log.onError });
    await using conn = await openConnection("127.0.0.1", server.addr.port);
    conn.writer.write("a line longer than eight bytes\n");
    assertEquals(await conn.reader.read(), new Uint8Array());
  }
  assertEquals(log.errors.length, 1);
  assertInstanceOf(log.errors[0][0], LimitOverrunError);
});

Deno.test("startServer over TLS", async () => {
  await using server = await startServer(echo, {
    host: "127.0.0.1",
    port: 0,
    tls: { cert, key },
  });
  await using conn = await openConnection("127.0.0.1", server.addr.port, {
    tls: { caCerts: [cert] },
  });
  conn.writer.write("encrypted echo\n");
  assertEquals(str(await conn.reader.readLine()), "encrypted echo\n");
  assertEquals(typeof (conn.writer.getExtraInfo("socket") as Deno.TlsConn).handshake, "function");
});

Deno.test("startServer rejects bad arguments with errors naming the value", async () => {
  const cases: [() => Promise<unknown>, ErrorConstructor, string][] = [
    [
      () => startServer(5 as unknown as () => void),
      TypeError,
      "Cannot start server: 'handler' must be a function: current value is 5",
    ],
    [
      () => startServer(echo, { port: -1 }),
      RangeError,
      "Cannot start server: 'port' must be an integer from 0 to 65535: current value is -1",
    ],
    [() => startServer(echo, { port: 80.5 }), RangeError, "current value is 80.5"],
    [() => startServer(echo, { host: "" }), TypeError, "'host' must be a non-empty string"],
    [
      () => startServer(echo, { limit: 0 }),
      RangeError,
      "'limit' must be a positive integer: current value is 0",
    ],
    [
      () => startServer(echo, { backlog: -2 }),
      RangeError,
      "'backlog' must be a non-negative integer: current value is -2",
    ],
    [
      () => startServer(echo, { noDelay: 1 as unknown as boolean }),
      TypeError,
      "'noDelay' must be a boolean: current value is 1",
    ],
    [
      () => startServer(echo, { tls: { cert, key: "" } }),
      TypeError,
      "'tls.key' must be a non-empty string",
    ],
    [
      () => startServer(echo, { tls: "yes" as unknown as { cert: string; key: string } }),
      TypeError,
      "'tls' must be an object like { cert, key }: current value is yes",
    ],
    [
      () => startUnixServer(echo, {} as { path: string }),
      TypeError,
      "Cannot start Unix server: 'path' must be a non-empty string: current value is undefined",
    ],
    [
      () => startUnixServer(echo, undefined as unknown as { path: string }),
      TypeError,
      "'options' must be an object with a 'path'",
    ],
  ];
  for (const [call, Class, message] of cases) await assertRejects(call, Class, message);
});

Deno.test("startServer names the address it cannot listen on", async () => {
  await using first = await startServer(echo, { host: "127.0.0.1", port: 0 });
  const port = first.addr.port;
  const error = await assertRejects(
    () => startServer(echo, { host: "127.0.0.1", port }),
    Deno.errors.AddrInUse,
  );
  assertMatch(error.message, new RegExp(`^Cannot listen on 127\\.0\\.0\\.1:${port}: `));
  assertInstanceOf(error.cause, Deno.errors.AddrInUse);
});

Deno.test({
  name: "startUnixServer serves a Unix socket and cleans its file up",
  ignore: ignoreOn("windows", "Deno has no Unix domain sockets on Windows"),
}, async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/server.sock`;
    await t.step("round trip, and the file is removed on close", async () => {
      {
        await using server = await startUnixServer(echo, { path });
        assertEquals(server.addr.transport, "unix");
        assertEquals(server.addr.path, path);
        await using conn = await openUnixConnection(path);
        conn.writer.write("via unix\n");
        assertEquals(str(await conn.reader.readLine()), "via unix\n");
        assert((await Deno.lstat(path)).isSocket);
      }
      await assertRejects(() => Deno.lstat(path), Deno.errors.NotFound);
    });
    await t.step("a stale socket file is replaced", async () => {
      // A process that exits without closing its listener leaves the file.
      const { success } = await new Deno.Command(Deno.execPath(), {
        args: [
          "eval",
          `Deno.listen({ transport: "unix", path: ${JSON.stringify(path)} }); Deno.exit(0);`,
        ],
      }).output();
      assert(success);
      assert((await Deno.lstat(path)).isSocket);
      await using server = await startUnixServer(echo, { path });
      await using conn = await openUnixConnection(path);
      conn.writer.write("fresh\n");
      assertEquals(str(await conn.reader.readLine()), "fresh\n");
      assertStrictEquals(server.addr.path, path);
    });
    await t.step("a regular file is not replaced", async () => {
      const file = `${dir}/not-a-socket`;
      await Deno.writeTextFile(file, "keep me");
      const error = await assertRejects(() => startUnixServer(echo, { path: file }));
      assertMatch((error as Error).message, new RegExp(`^Cannot listen on ${file}: `));
      assertEquals(await Deno.readTextFile(file), "keep me");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
