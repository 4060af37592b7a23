import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertMatch,
  assertRejects,
  assertStrictEquals,
} from "@std/assert";
import {
  CancelledError,
  ConnectionError,
  createTask,
  InvalidStateError,
  openConnection,
  openUnixConnection,
  sleep,
  StreamReader,
  TimeoutError,
} from "../mod.ts";
import { ignoreOn, ignoreUnless } from "./_ignore.ts";
import { bytes, str } from "./_bytes.ts";
import { cert, key } from "./fixtures/tls.ts";
import { closeQuietly } from "./_net.ts";

/** A port nothing listens on. */
function freePort(hostname = "127.0.0.1"): number {
  const listener = Deno.listen({ hostname, port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

/**
 * Serves one connection at a time with `serve` on a raw Deno listener; the
 * returned object closes everything when disposed.
 */
function rawServer(
  serve: (conn: Deno.Conn, closing: Promise<void>) => Promise<void>,
  listener: Deno.Listener = Deno.listen({ hostname: "127.0.0.1", port: 0 }),
): { port: number; addr: Deno.Addr; [Symbol.asyncDispose](): Promise<void> } {
  const running = new Set<Promise<void>>();
  let close!: () => void;
  const closing = new Promise<void>((resolve) => close = resolve);
  const loop = (async () => {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch {
        return;
      }
      const p = serve(conn, closing).catch(() => {}).finally(() => {
        closeQuietly(conn);
        running.delete(p);
      });
      running.add(p);
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    addr: listener.addr,
    async [Symbol.asyncDispose]() {
      listener.close();
      close();
      await loop;
      await Promise.all(running);
    },
  };
}

/** Echoes lines back upper-cased until EOF. */
async function upperEcho(conn: Deno.Conn): Promise<void> {
  const reader = new StreamReader(conn);
  for await (const line of reader) await conn.write(bytes(str(line).toUpperCase()));
}

/**
 * A listener whose accept queue is full, so a new connect to it hangs (the
 * kernel drops its SYNs): for timeouts and cancellation.
 */
async function hangingListener(): Promise<{ port: number; [Symbol.dispose](): void }> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0, tcpBacklog: 0 });
  const port = listener.addr.port;
  const fillers: Deno.Conn[] = [];
  // A connect still pending after 300 ms counts as hung. On a loaded machine
  // a connect that would succeed can look hung once, so the queue counts as
  // full only after two hangs in a row.
  for (let i = 0, hangs = 0; i < 24 && hangs < 2; i++) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 300);
    try {
      fillers.push(await Deno.connect({ hostname: "127.0.0.1", port, signal: controller.signal }));
      hangs = 0;
    } catch {
      hangs++;
    } finally {
      clearTimeout(timer);
    }
  }
  return {
    port,
    [Symbol.dispose]() {
      for (const c of fillers) c.close();
      listener.close();
    },
  };
}

function canListenOn(hostname: string): boolean {
  try {
    Deno.listen({ hostname, port: 0 }).close();
    return true;
  } catch {
    return false;
  }
}

Deno.test("openConnection gives a pair that destructures both ways and closes with await using", async () => {
  let serverSawEof = false;
  {
    await using _server = rawServer(async (conn) => {
      await upperEcho(conn);
      serverSawEof = true;
    });
    {
      await using conn = await openConnection("127.0.0.1", _server.port);
      const [reader, writer] = conn;
      const { reader: r2, writer: w2 } = conn;
      assertStrictEquals(reader, r2);
      assertStrictEquals(writer, w2);
      assertEquals(conn.length, 2);
      assertInstanceOf(reader, StreamReader);
      writer.write("hello\n");
      assertEquals(str(await reader.readLine()), "HELLO\n");
      const peer = writer.getExtraInfo("peername") as Deno.NetAddr;
      assertEquals(peer.port, _server.port);
    }
  }
  assert(serverSawEof);
});

Deno.test("openConnection rejects bad arguments with errors naming the value", async () => {
  const cases: [() => Promise<unknown>, ErrorConstructor, string][] = [
    [
      () => openConnection("", 80),
      TypeError,
      "Cannot open connection: 'host' must be a non-empty string: current value is \"\"",
    ],
    [
      () => openConnection(undefined as unknown as string, 80),
      TypeError,
      "'host' must be a non-empty string: current value is undefined",
    ],
    [
      () => openConnection("127.0.0.1", 0),
      RangeError,
      "Cannot open connection: 'port' must be an integer from 1 to 65535: current value is 0",
    ],
    [() => openConnection("127.0.0.1", 65536), RangeError, "current value is 65536"],
    [() => openConnection("127.0.0.1", 1.5), RangeError, "current value is 1.5"],
    [() => openConnection("127.0.0.1", "80" as unknown as number), RangeError, 'value is "80"'],
    [
      () => openConnection("127.0.0.1", 80, { limit: 0 }),
      RangeError,
      "'limit' must be a positive integer: current value is 0",
    ],
    [
      () => openConnection("127.0.0.1", 80, { timeout: -1 }),
      RangeError,
      "'timeout' must be a non-negative number of milliseconds: current value is -1",
    ],
    [() => openConnection("127.0.0.1", 80, { timeout: NaN }), RangeError, "current value is NaN"],
    [
      () => openConnection("127.0.0.1", 80, { happyEyeballsDelay: -5 }),
      RangeError,
      "'happyEyeballsDelay' must be a non-negative number of milliseconds: current value is -5",
    ],
    [
      () => openConnection("127.0.0.1", 80, { tls: "yes" as unknown as boolean }),
      TypeError,
      "'tls' must be a boolean or an object: current value is \"yes\"",
    ],
    [
      () => openConnection("127.0.0.1", 80, { tls: { caCerts: [1 as unknown as string] } }),
      TypeError,
      "'tls.caCerts' must be an array of strings: current value is an array",
    ],
    [
      () => openConnection("127.0.0.1", 80, { tls: { hostname: "" } }),
      TypeError,
      "'tls.hostname' must be a non-empty string",
    ],
    [
      () => openConnection("127.0.0.1", 80, { noDelay: "no" as unknown as boolean }),
      TypeError,
      "'noDelay' must be a boolean: current value is \"no\"",
    ],
    [
      () => openConnection("127.0.0.1", 80, { localAddress: "" }),
      TypeError,
      "'localAddress' must be a non-empty string",
    ],
    [
      () => openConnection("127.0.0.1", 80, 5 as unknown as object),
      TypeError,
      "'options' must be an object: current value is 5",
    ],
    [
      () => openUnixConnection(""),
      TypeError,
      "Cannot open Unix connection: 'path' must be a non-empty string",
    ],
    [
      () => openUnixConnection("/x", { limit: -1 }),
      RangeError,
      "'limit' must be a positive integer: current value is -1",
    ],
  ];
  for (const [call, Class, message] of cases) await assertRejects(call, Class, message);
});

Deno.test("openConnection names host and port when the connection is refused", async () => {
  const port = freePort();
  const error = await assertRejects(() => openConnection("127.0.0.1", port), ConnectionError);
  assertEquals(error.message, `Cannot connect to 127.0.0.1:${port}: connection refused`);
  assertEquals(error.name, "ConnectionError");
  assertEquals(error.host, "127.0.0.1");
  assertEquals(error.port, port);
  assertInstanceOf(error.cause, Deno.errors.ConnectionRefused);
});

Deno.test({
  name: "openConnection names an IPv6 address in brackets",
  ignore: ignoreUnless(canListenOn("::1"), "this machine has no IPv6 loopback address ::1"),
  async fn() {
    const port = freePort("::1");
    await assertRejects(
      () => openConnection("::1", port),
      ConnectionError,
      `Cannot connect to [::1]:${port}: connection refused`,
    );
    await assertRejects(
      () => openConnection("[::1]", port),
      ConnectionError,
      `Cannot connect to [::1]:${port}: connection refused`,
    );
  },
});

Deno.test("openConnection names host and port when the host does not resolve", async () => {
  // Deno.connect's own lookup failure, without asking a real resolver.
  const original = Deno.connect;
  const lookupFailure = new Error(
    "failed to lookup address information: Name or service not known",
  );
  Deno.connect = (() => Promise.reject(lookupFailure)) as unknown as unknown as typeof Deno.connect;
  try {
    const error = await assertRejects(
      () => openConnection("no-such-host.invalid", 443),
      ConnectionError,
    );
    assertEquals(
      error.message,
      "Cannot connect to no-such-host.invalid:443: cannot resolve the host name " +
        "(failed to lookup address information: Name or service not known)",
    );
    assertStrictEquals(error.cause, lookupFailure);
    // A missing permission stays what it is.
    const denied = new Deno.errors.NotCapable("Requires net access");
    Deno.connect = (() => Promise.reject(denied)) as unknown as unknown as typeof Deno.connect;
    const same = await assertRejects(() => openConnection("example.com", 80));
    assertStrictEquals(same, denied);
  } finally {
    Deno.connect = original;
  }
});

Deno.test("openConnection times out with a TimeoutError naming host and port", async () => {
  using hanging = await hangingListener();
  const error = await assertRejects(
    () => openConnection("127.0.0.1", hanging.port, { timeout: 50 }),
    TimeoutError,
  );
  assertEquals(
    error.message,
    `Cannot connect to 127.0.0.1:${hanging.port}: timed out after 50 ms`,
  );
});

Deno.test("openConnection is cancelled by its signal and by its task", async (t) => {
  using hanging = await hangingListener();
  await t.step("signal", async () => {
    const controller = new AbortController();
    const connecting = openConnection("127.0.0.1", hanging.port, { signal: controller.signal });
    await sleep(10);
    controller.abort(new Error("changed my mind"));
    await assertRejects(() => connecting, Error, "changed my mind");
  });
  await t.step("already aborted signal", async () => {
    await assertRejects(
      () =>
        openConnection("127.0.0.1", hanging.port, { signal: AbortSignal.abort(new Error("no")) }),
      Error,
      "no",
    );
  });
  await t.step("ambient task", async () => {
    const task = createTask(() => openConnection("127.0.0.1", hanging.port));
    await sleep(10);
    task.cancel();
    await assertRejects(() => Promise.resolve(task), CancelledError);
  });
});

Deno.test("openConnection passes happyEyeballsDelay to Deno's address racing", async () => {
  await using server = rawServer(upperEcho);
  // "localhost" may resolve to ::1 (refused here) and 127.0.0.1.
  await using conn = await openConnection("localhost", server.port, { happyEyeballsDelay: 10 });
  conn.writer.write("raced\n");
  assertEquals(str(await conn.reader.readLine()), "RACED\n");
});

Deno.test("openConnection sets TCP_NODELAY unless noDelay is false", async () => {
  await using server = rawServer(upperEcho);
  const original = Deno.connect;
  const calls: (boolean | undefined)[] = [];
  Deno.connect = (async (options: Deno.ConnectOptions) => {
    const conn = await original(options);
    const setNoDelay = conn.setNoDelay.bind(conn);
    conn.setNoDelay = (noDelay?: boolean) => {
      calls.push(noDelay);
      setNoDelay(noDelay);
    };
    return conn;
  }) as typeof Deno.connect;
  try {
    for (const [options, text] of [[{}, "default\n"], [{ noDelay: false }, "nagle\n"]] as const) {
      await using conn = await openConnection("127.0.0.1", server.port, options);
      conn.writer.write(text);
      assertEquals(str(await conn.reader.readLine()), text.toUpperCase());
    }
  } finally {
    Deno.connect = original;
  }
  assertEquals(calls, [true, false]);
});

Deno.test("openConnection over TLS with a test certificate", async (t) => {
  const tlsListener = Deno.listenTls({
    hostname: "127.0.0.1",
    port: 0,
    cert,
    key,
    alpnProtocols: ["aio-test"],
  });
  await using server = rawServer(upperEcho, tlsListener);
  await t.step("verified against the IP address", async () => {
    await using conn = await openConnection("127.0.0.1", server.port, {
      tls: { caCerts: [cert] },
    });
    conn.writer.write("secure\n");
    assertEquals(str(await conn.reader.readLine()), "SECURE\n");
  });
  await t.step("verified against a host name, with ALPN", async () => {
    await using conn = await openConnection("127.0.0.1", server.port, {
      tls: { caCerts: [cert], hostname: "localhost", alpnProtocols: ["aio-test"] },
    });
    const tls = conn.writer.getExtraInfo("socket") as Deno.TlsConn;
    assertEquals((await tls.handshake()).alpnProtocol, "aio-test");
    conn.writer.write("named\n");
    assertEquals(str(await conn.reader.readLine()), "NAMED\n");
  });
  await t.step("an untrusted certificate fails with a ConnectionError", async () => {
    const error = await assertRejects(
      () => openConnection("127.0.0.1", server.port, { tls: true }),
      ConnectionError,
    );
    assertMatch(error.message, /^Cannot connect to 127\.0\.0\.1:\d+: TLS handshake failed \(/);
  });
  await t.step("a name the certificate does not cover fails", async () => {
    await assertRejects(
      () =>
        openConnection("127.0.0.1", server.port, {
          tls: { caCerts: [cert], hostname: "example.com" },
        }),
      ConnectionError,
      "TLS handshake failed",
    );
  });
});

Deno.test("openConnection's timeout covers the TLS handshake", async () => {
  // A server that accepts and then says nothing until the test ends: the
  // handshake never ends. (Deno keeps the socket of a TLS conn closed in the
  // middle of its handshake open until the handshake ends: here, until this
  // server closes its side.)
  await using server = rawServer(async (_conn, closing) => {
    await closing;
  });
  await assertRejects(
    () => openConnection("127.0.0.1", server.port, { tls: { caCerts: [cert] }, timeout: 50 }),
    TimeoutError,
    `Cannot connect to 127.0.0.1:${server.port}: timed out after 50 ms`,
  );
  const controller = new AbortController();
  const connecting = openConnection("127.0.0.1", server.port, {
    tls: { caCerts: [cert] },
    signal: controller.signal,
  });
  await sleep(20);
  controller.abort(new Error("handshake abandoned"));
  await assertRejects(() => connecting, Error, "handshake abandoned");
});

Deno.test("openConnection from a local address", async (t) => {
  let seen: Deno.NetAddr | undefined;
  await using server = rawServer(async (conn) => {
    seen = conn.remoteAddr as Deno.NetAddr;
    await upperEcho(conn);
    await conn.write(bytes("bye"));
  });
  await t.step("round trip and half-close", async () => {
    await using conn = await openConnection("127.0.0.1", server.port, {
      localAddress: "127.0.0.2",
    });
    const [reader, writer] = conn;
    assertEquals(seen?.hostname, "127.0.0.2");
    assertEquals((writer.getExtraInfo("sockname") as Deno.NetAddr).hostname, "127.0.0.2");
    assertEquals((writer.getExtraInfo("peername") as Deno.NetAddr).port, server.port);
    writer.write("from two\n");
    assertEquals(str(await reader.readLine()), "FROM TWO\n");
    writer.writeEof();
    assertEquals(await reader.text(), "bye");
  });
  await t.step("a local address that cannot be bound", async () => {
    const error = await assertRejects(
      () => openConnection("127.0.0.1", server.port, { localAddress: "192.0.2.1" }),
      ConnectionError,
    );
    assertMatch(error.message, new RegExp(`^Cannot connect to 127\\.0\\.0\\.1:${server.port}: `));
  });
  await t.step("refused", async () => {
    const port = freePort();
    await assertRejects(
      () => openConnection("127.0.0.1", port, { localAddress: "127.0.0.2" }),
      ConnectionError,
      `Cannot connect to 127.0.0.1:${port}: connection refused`,
    );
  });
});

Deno.test("openConnection over TLS from a local address", async () => {
  let seen: Deno.NetAddr | undefined;
  const tlsListener = Deno.listenTls({
    hostname: "127.0.0.1",
    port: 0,
    cert,
    key,
    alpnProtocols: ["aio-test"],
  });
  await using server = rawServer(async (conn) => {
    seen = conn.remoteAddr as Deno.NetAddr;
    await upperEcho(conn);
  }, tlsListener);
  {
    // The timeouts only turn a stuck handshake into a failure instead of a hang.
    await using conn = await openConnection("127.0.0.1", server.port, {
      localAddress: "127.0.0.2",
      tls: { caCerts: [cert], hostname: "localhost", alpnProtocols: ["aio-test"] },
      timeout: 10_000,
    });
    conn.writer.write("tls from two\n");
    assertEquals(str(await conn.reader.readLine()), "TLS FROM TWO\n");
    assertEquals(seen?.hostname, "127.0.0.2");
    assertEquals((conn.writer.getExtraInfo("sockname") as Deno.NetAddr).hostname, "127.0.0.2");
    const socket = conn.writer.getExtraInfo("socket") as Deno.TlsConn;
    assertEquals((await socket.handshake()).alpnProtocol, "aio-test");
  }
  await assertRejects(
    () =>
      openConnection("127.0.0.1", server.port, {
        localAddress: "127.0.0.2",
        tls: true,
        timeout: 10_000,
      }),
    ConnectionError,
    "TLS handshake failed",
  );
});

Deno.test("openConnection over TLS from a local address never waits on a dead handshake", async (t) => {
  await t.step("the peer closes: a ConnectionError", async () => {
    await using server = rawServer(async () => {});
    for (const tls of [true, { caCerts: [cert] }]) {
      const error = await assertRejects(
        () => openConnection("127.0.0.1", server.port, { localAddress: "127.0.0.2", tls }),
        ConnectionError,
      );
      assertMatch(error.message, new RegExp(`^Cannot connect to 127\\.0\\.0\\.1:${server.port}: `));
    }
  });
  await t.step("the peer says nothing: the timeout and the signal end it", async () => {
    await using server = rawServer(async (_conn, closing) => {
      await closing;
    });
    const options = { localAddress: "127.0.0.2", tls: { caCerts: [cert] } };
    await assertRejects(
      () => openConnection("127.0.0.1", server.port, { ...options, timeout: 50 }),
      TimeoutError,
      `Cannot connect to 127.0.0.1:${server.port}: timed out after 50 ms`,
    );
    const controller = new AbortController();
    const connecting = openConnection("127.0.0.1", server.port, {
      ...options,
      signal: controller.signal,
    });
    await sleep(20);
    controller.abort(new Error("handshake abandoned"));
    await assertRejects(() => connecting, Error, "handshake abandoned");
  });
});

// ----------------------------------------------------------------- startTls

/**
 * A STARTTLS server: reads one line in clear, answers `GO` unless `quiet`,
 * then relays raw bytes to a TLS echo server (unless `stall`).
 */
function startTlsServer(options: { quiet?: boolean; stall?: boolean } = {}) {
  const tlsListener = Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert, key });
  const backend = rawServer(upperEcho, tlsListener);
  const relay = async (from: StreamReader, to: Deno.Conn) => {
    try {
      for (;;) {
        const chunk = await from.read(16 * 1024);
        if (chunk.length === 0) break;
        await to.write(chunk);
      }
      await to.closeWrite();
    } catch {
      // The other side is gone.
    }
  };
  const lines: string[] = [];
  const front = rawServer(async (conn, closing) => {
    const reader = new StreamReader(conn);
    lines.push(str(await reader.readLine()));
    if (!options.quiet) await conn.write(bytes("GO\n"));
    if (options.stall) {
      await closing;
      return;
    }
    const back = await Deno.connect({ hostname: "127.0.0.1", port: backend.port });
    try {
      // From the reader: it may hold bytes that came after the line.
      await Promise.all([relay(reader, back), relay(new StreamReader(back), conn)]);
    } finally {
      back.close();
    }
  });
  return {
    port: front.port,
    lines,
    async [Symbol.asyncDispose]() {
      await front[Symbol.asyncDispose]();
      await backend[Symbol.asyncDispose]();
    },
  };
}

Deno.test("StreamWriter.startTls upgrades an existing reader/writer pair", async () => {
  await using server = startTlsServer();
  await using conn = await openConnection("127.0.0.1", server.port);
  const [reader, writer] = conn;
  writer.write("STARTTLS\n");
  assertEquals(str(await reader.readLine()), "GO\n");
  const upgrading = writer.startTls({ hostname: "localhost", caCerts: [cert] });
  writer.write("written during the upgrade\n"); // sent encrypted, after the handshake
  await upgrading;
  const socket = writer.getExtraInfo("socket") as Deno.TlsConn;
  assertEquals(typeof socket.handshake, "function");
  assertEquals(str(await reader.readLine()), "WRITTEN DURING THE UPGRADE\n");
  writer.write("secret\n");
  assertEquals(str(await reader.readLine()), "SECRET\n");
  writer.writeEof();
  assertEquals(await reader.text(), "");
  await assertRejects(
    () => writer.startTls(),
    InvalidStateError,
    "shut down for writing",
  );
  assertEquals(server.lines, ["STARTTLS\n"]);
});

Deno.test("StreamWriter.startTls sends what was written before it in clear", async () => {
  await using server = startTlsServer({ quiet: true });
  await using conn = await openConnection("127.0.0.1", server.port);
  const [reader, writer] = conn;
  writer.write("STARTTLS\n");
  await writer.startTls({ caCerts: [cert] }); // the host connected to: 127.0.0.1
  writer.write("ok\n");
  assertEquals(str(await reader.readLine()), "OK\n");
  await assertRejects(() => writer.startTls(), InvalidStateError, "already uses TLS");
});

Deno.test("StreamWriter.startTls over a connection from a local address", async () => {
  await using server = startTlsServer();
  await using conn = await openConnection("127.0.0.1", server.port, {
    localAddress: "127.0.0.2",
  });
  const [reader, writer] = conn;
  writer.write("STARTTLS\n");
  assertEquals(str(await reader.readLine()), "GO\n");
  await writer.startTls({ hostname: "localhost", caCerts: [cert] });
  writer.write("node socket\n");
  assertEquals(str(await reader.readLine()), "NODE SOCKET\n");
});

Deno.test("StreamWriter.startTls failures", async (t) => {
  await t.step("an untrusted certificate closes the connection", async () => {
    await using server = startTlsServer();
    await using conn = await openConnection("127.0.0.1", server.port);
    const [reader, writer] = conn;
    writer.write("STARTTLS\n");
    await reader.readLine();
    await assertRejects(() => writer.startTls());
    assert(writer.isClosing());
    await assertRejects(() => reader.readLine(), InvalidStateError, "TLS upgrade did not complete");
  });
  await t.step("a reader in the middle of a read", async () => {
    await using server = startTlsServer({ stall: true });
    await using conn = await openConnection("127.0.0.1", server.port);
    const [reader, writer] = conn;
    writer.write("STARTTLS\n");
    await reader.readLine();
    const controller = new AbortController();
    const reading = reader.readLine({ signal: controller.signal });
    await assertRejects(
      () => writer.startTls({ caCerts: [cert] }),
      InvalidStateError,
      "Cannot start TLS while the reader is reading from the connection",
    );
    controller.abort();
    await assertRejects(() => reading);
    // The writer is still usable in clear.
    writer.write("still plain\n");
    await writer.drain();
  });
  await t.step("cancelled handshake", async () => {
    await using server = startTlsServer({ stall: true });
    await using conn = await openConnection("127.0.0.1", server.port);
    const [reader, writer] = conn;
    writer.write("STARTTLS\n");
    await reader.readLine();
    const controller = new AbortController();
    const upgrading = writer.startTls({ caCerts: [cert], signal: controller.signal });
    await sleep(20);
    controller.abort(new Error("too slow"));
    await assertRejects(() => upgrading, Error, "too slow");
    assert(writer.isClosing());
    await assertRejects(() => writer.drain());
  });
  await t.step("bad options and states", async () => {
    await using server = startTlsServer({ stall: true });
    await using conn = await openConnection("127.0.0.1", server.port);
    const writer = conn.writer;
    await assertRejects(
      () => writer.startTls({ caCerts: "pem" as unknown as string[] }),
      TypeError,
      "Cannot start TLS: 'caCerts' must be an array of strings: current value is \"pem\"",
    );
    await assertRejects(
      () => writer.startTls({ hostname: 5 as unknown as string }),
      TypeError,
      "'hostname' must be a non-empty string: current value is 5",
    );
    await assertRejects(
      () => writer.startTls({ signal: AbortSignal.abort(new Error("early")) }),
      Error,
      "early",
    );
    writer.close();
    await assertRejects(() => writer.startTls(), InvalidStateError, "the writer is closed");
  });
});

// ------------------------------------------------------------ Unix sockets

Deno.test({
  name: "openUnixConnection round trip, and errors naming the path",
  ignore: ignoreOn("windows", "Deno has no Unix domain sockets on Windows"),
}, async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/echo.sock`;
    {
      await using server = rawServer(upperEcho, Deno.listen({ transport: "unix", path }));
      await using conn = await openUnixConnection(path, { limit: 1024, timeout: 5_000 });
      const [reader, writer] = conn;
      writer.write("unix\n");
      assertEquals(str(await reader.readLine()), "UNIX\n");
      assertEquals((writer.getExtraInfo("peername") as Deno.UnixAddr).transport, "unix");
      await assertRejects(() => writer.startTls(), TypeError, "not a TCP connection");
      assertStrictEquals(server.addr.transport, "unix");
    }
    const missing = `${dir}/missing.sock`;
    const error = await assertRejects(() => openUnixConnection(missing), ConnectionError);
    assertMatch(error.message, new RegExp(`^Cannot connect to ${missing}: `));
    assertEquals(error.path, missing);
    assertInstanceOf(error.cause, Deno.errors.NotFound);
    await assertRejects(
      () => openUnixConnection(missing, { signal: AbortSignal.abort(new Error("stop")) }),
      Error,
      "stop",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("test_eof_feed_when_closing_writer: after close() and waitClosed() the reader is at EOF", async () => {
  await using server = rawServer(upperEcho);
  const [reader, writer] = await openConnection("127.0.0.1", server.port);
  writer.close();
  await writer.waitClosed();
  assert(reader.atEof());
  assertEquals(await reader.read(), new Uint8Array(0));
});
