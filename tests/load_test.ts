/**
 * Load: 2,000 concurrent clients against `startServer`, each echoing 100
 * lines, every line checked. Needs about 4,000 file descriptors in this
 * process (both ends of every connection); the test states the limit it
 * needs rather than failing obscurely.
 *
 * @module
 */

import { assert, assertEquals } from "@std/assert";
import {
  openConnection,
  type ServerErrorContext,
  startServer,
  type StreamReader,
  StreamWriter,
} from "../mod.ts";

const CLIENTS = 2000;
const LINES = 100;
const decoder = new TextDecoder();

/** The soft limit on open files of this process (Linux), if it can be read. */
function openFileLimit(): number | undefined {
  try {
    const limits = Deno.readTextFileSync("/proc/self/limits");
    const match = /^Max open files\s+(\d+|unlimited)/m.exec(limits);
    if (!match) return undefined;
    return match[1] === "unlimited" ? Infinity : Number(match[1]);
  } catch {
    return undefined;
  }
}

Deno.test(`${CLIENTS} concurrent clients each echo ${LINES} lines, every line checked`, async () => {
  const limit = openFileLimit();
  assert(
    limit === undefined || limit >= 2 * CLIENTS + 100,
    `this test needs ${2 * CLIENTS + 100} open files; the limit here is ${limit} (ulimit -n)`,
  );
  const errors: [unknown, ServerErrorContext][] = [];
  let handlers = 0;
  let peak = 0;
  let served = 0;
  async function echo(reader: StreamReader, writer: StreamWriter): Promise<void> {
    peak = Math.max(peak, ++handlers);
    try {
      for await (const line of reader) {
        writer.write(line);
        await writer.drain();
        served++;
      }
    } finally {
      handlers--;
    }
  }
  // A backlog as deep as the crowd: no connection waits for a SYN retry.
  await using server = await startServer(echo, {
    host: "127.0.0.1",
    port: 0,
    backlog: CLIENTS,
    onError: (e, c) => void errors.push([e, c]),
  });
  const port = server.addr.port;
  let open = 0;
  let peakOpen = 0;
  // Every client connects before any sends, so all 2,000 are open at once.
  let release!: () => void;
  const go = new Promise<void>((resolve) => release = resolve);
  let connected = 0;
  let allConnected!: () => void;
  const everyoneIn = new Promise<void>((resolve) => allConnected = resolve);
  const clients = Array.from({ length: CLIENTS }, async (_, c) => {
    await using conn = await openConnection("127.0.0.1", port);
    peakOpen = Math.max(peakOpen, ++open);
    if (++connected === CLIENTS) allConnected();
    await go;
    const { reader, writer } = conn;
    let checked = 0;
    for (let i = 0; i < LINES; i++) {
      const line = `client ${c} line ${i} ${"#".repeat((c + i) % 50)} \u00e9\n`;
      writer.write(line);
      const echoed = decoder.decode(await reader.readLine());
      if (echoed !== line) throw new Error(`client ${c} line ${i}: got ${JSON.stringify(echoed)}`);
      checked++;
    }
    writer.writeEof();
    assertEquals((await reader.read()).length, 0, "the server closes after the client's EOF");
    open--;
    return checked;
  });
  const all = Promise.all(clients);
  all.catch(() => {}); // awaited below; a failed connect must not wait for the others
  await Promise.race([everyoneIn, all]);
  assertEquals(peakOpen, CLIENTS, "all clients connected at once");
  release();
  const checked = await all;
  assertEquals(checked.reduce((a, b) => a + b, 0), CLIENTS * LINES);
  assertEquals(served, CLIENTS * LINES);
  assertEquals(errors, []);
  assert(peak > CLIENTS / 2, `only ${peak} handlers ran at once`);
  server.close();
  await server.waitClosed();
  assertEquals(handlers, 0);
});

Deno.test("a connection that writes small messages holds a small write buffer, not 64 KiB", async () => {
  // Every server connection has a writer: at 10,000 connections, a fixed
  // 64 KiB per writer would be 640 MiB. Small writes must cost small buffers,
  // and a burst of them may still grow the buffer for throughput.
  const WRITERS = 1000;
  const writers: StreamWriter[] = [];
  const sinks: number[] = [];
  const before = Deno.memoryUsage().external;
  for (let i = 0; i < WRITERS; i++) {
    sinks.push(0);
    const writer = new StreamWriter({
      write: (p: Uint8Array) => {
        sinks[i] += p.length;
        return Promise.resolve(p.length);
      },
    });
    writers.push(writer);
    writer.write(`hello from connection ${i}\n`);
    writer.write(new TextEncoder().encode("a small reply\n"));
  }
  await Promise.all(writers.map((w) => w.drain()));
  await new Promise((resolve) => setTimeout(resolve, 0));
  const perWriter = (Deno.memoryUsage().external - before) / WRITERS;
  assertEquals(
    sinks.reduce((a, b) => a + b),
    WRITERS * 14 + sinks.reduce((a, _, i) => a + `hello from connection ${i}\n`.length, 0),
  );
  assert(perWriter < 16 * 1024, `${Math.round(perWriter)} bytes of buffers per idle writer`);
  // A burst of small writes still coalesces into few large writes.
  let calls = 0;
  let total = 0;
  const bulk = new StreamWriter({
    write: (p: Uint8Array) => {
      calls++;
      total += p.length;
      return Promise.resolve(p.length);
    },
  });
  for (let i = 0; i < 100_000; i++) bulk.write("0123456789\n");
  await bulk.drain();
  bulk.close();
  await bulk.waitClosed();
  assertEquals(total, 1_100_000);
  assert(calls < 100, `${calls} write calls for 100,000 small writes`);
  for (const w of writers) w.close();
  await Promise.all(writers.map((w) => w.waitClosed()));
});
