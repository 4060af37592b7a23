import {
  assert,
  assertEquals,
  assertFalse,
  assertRejects,
  assertStrictEquals,
  assertThrows,
} from "@std/assert";
import {
  CancelledError,
  createTask,
  InvalidStateError,
  sleep,
  StreamReader,
  StreamWriter,
  type Writer,
} from "../mod.ts";
import { CLASS_BYTES, takeBuffer } from "../src/streams/_buffer_pool.ts";
import { bytes, str } from "./_bytes.ts";
import { closeQuietly, tcpPair } from "./_net.ts";

/** Reads a conn to its end; returns everything. */
async function readAll(conn: Deno.Conn): Promise<Uint8Array> {
  return await new StreamReader(conn).bytes();
}

/** A target that records every write call and can be held back. */
class Recorder implements Writer {
  writes: Uint8Array[] = [];
  copies: Uint8Array[] = [];
  /** When set, each write waits for `release()`. */
  gated = false;
  /** At most this many bytes per write call. */
  maxPerWrite = Infinity;
  failWith: unknown = undefined;
  closed = 0;
  eofs = 0;
  #gate: (() => void)[] = [];

  write(p: Uint8Array): Promise<number> {
    this.writes.push(p);
    const n = Math.min(p.length, this.maxPerWrite);
    this.copies.push(p.slice(0, n));
    if (this.failWith !== undefined) return Promise.reject(this.failWith);
    if (!this.gated) return Promise.resolve(n);
    return new Promise((resolve) => this.#gate.push(() => resolve(n)));
  }

  closeWrite(): Promise<void> {
    this.eofs++;
    return Promise.resolve();
  }

  close(): void {
    this.closed++;
  }

  /** Lets the pending writes complete. */
  release(): void {
    const gate = this.#gate;
    this.#gate = [];
    for (const g of gate) g();
  }

  get pending(): number {
    return this.#gate.length;
  }

  text(): string {
    return this.copies.map(str).join("");
  }
}

/** Lets queued microtasks and a macrotask run. */
const tick = () => sleep(0);

/** The byte at stream position `i` of the ordering-check pattern. */
const patternByte = (i: number): number => (i * 7 + (i >>> 13)) & 255;

Deno.test("StreamWriter writes bytes and strings in order", async () => {
  const target = new Recorder();
  const writer = new StreamWriter(target);
  writer.write("héllo ");
  writer.write(bytes("wörld"));
  writer.write("");
  writer.write(new Uint8Array(0));
  writer.writeLines(["\n", "a", bytes("b")]);
  writer.close();
  await writer.waitClosed();
  assertEquals(target.text(), "héllo wörld\nab");
  assertEquals(target.closed, 1);
});

Deno.test("StreamWriter coalesces small writes into one write call", async () => {
  const target = new Recorder();
  const writer = new StreamWriter(target);
  for (let i = 0; i < 1000; i++) writer.write(`line ${i}\n`);
  await writer.drain();
  await tick();
  assertEquals(target.writes.length, 1);
  const expected = Array.from({ length: 1000 }, (_, i) => `line ${i}\n`).join("");
  assertEquals(target.text(), expected);

  // While a write is in flight, later small writes gather into the next one.
  target.gated = true;
  writer.write("x");
  await tick();
  assertEquals(target.pending, 1);
  for (let i = 0; i < 100; i++) writer.write("y");
  target.release();
  await tick();
  target.release();
  await tick();
  assertEquals(target.writes.length, 3);
  assertEquals(str(target.copies[2]), "y".repeat(100));
  target.gated = false;
  writer.close();
  await writer.waitClosed();
});

Deno.test("StreamWriter: an idle writer holds no write buffer; the next busy one reuses it", async () => {
  // Empty the pool's smallest size first, whatever earlier tests left in it.
  for (let i = 0; i <= CLASS_BYTES / 512; i++) takeBuffer(512);
  const first = new Recorder();
  const a = new StreamWriter(first);
  a.write("first");
  await tick();
  await tick();
  assertEquals(first.writes.length, 1);
  const used = first.writes[0].buffer;
  // Idle now: its buffer went back to the pool, not to the garbage collector.
  const second = new Recorder();
  const b = new StreamWriter(second);
  b.write("second");
  await tick();
  await tick();
  assertStrictEquals(second.writes[0].buffer, used);
  assertEquals(second.text(), "second");
  assertEquals(first.text(), "first");

  // A buffer still being written is never handed to another writer.
  second.gated = true;
  b.write("held");
  await tick();
  assertEquals(second.pending, 1);
  const held = second.writes[1].buffer;
  const third = new Recorder();
  const c = new StreamWriter(third);
  c.write("third");
  await tick();
  await tick();
  assert(third.writes[0].buffer !== held);
  second.release();
  await tick();
  assertEquals(second.text(), "secondheld");
  assertEquals(third.text(), "third");
  for (const w of [a, b, c]) w.close();
  await Promise.all([a, b, c].map((w) => w.waitClosed()));
});

Deno.test("StreamWriter passes large chunks through without copying, in order", async () => {
  const target = new Recorder();
  const writer = new StreamWriter(target);
  const big = new Uint8Array(100_000).fill(66);
  writer.write("head");
  writer.write(big);
  writer.write("tail");
  writer.close();
  await writer.waitClosed();
  assertEquals(target.writes.length, 3);
  assertStrictEquals(target.writes[1], big);
  assertEquals(str(target.copies[0]), "head");
  assertEquals(str(target.copies[2]), "tail");
  // Long strings are encoded to their own chunk too.
  const target2 = new Recorder();
  const writer2 = new StreamWriter(target2);
  const long = "é".repeat(20_000);
  writer2.write("a");
  writer2.write(long);
  writer2.write("b");
  writer2.close();
  await writer2.waitClosed();
  assertEquals(target2.text(), `a${long}b`);
});

Deno.test("StreamWriter finishes partial writes", async () => {
  const target = new Recorder();
  target.maxPerWrite = 7;
  const writer = new StreamWriter(target);
  const data = new Uint8Array(50_000).map((_, i) => patternByte(i));
  writer.write("abc");
  writer.write(data);
  writer.close();
  await writer.waitClosed();
  const all = new Uint8Array(target.copies.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of target.copies) {
    all.set(c, at);
    at += c.length;
  }
  assertEquals(str(all.subarray(0, 3)), "abc");
  assertEquals(all.subarray(3), data);
});

Deno.test("StreamWriter rejects bad input with typed errors naming the value", () => {
  const writer = new StreamWriter(new Recorder());
  assertThrows(
    () => writer.write(42 as unknown as string),
    TypeError,
    "Cannot write: 'data' must be a Uint8Array or a string: current value is 42",
  );
  assertThrows(
    () => writer.write([1, 2] as unknown as Uint8Array),
    TypeError,
    "current value is an array",
  );
  assertThrows(
    () => writer.writeLines(5 as unknown as string[]),
    TypeError,
    "'lines' must be an iterable of Uint8Array or string: current value is 5",
  );
  assertThrows(
    () => new StreamWriter({} as Writer),
    TypeError,
    "must be a WritableStream or an object with a write(p) method: current value is an instance of Object",
  );
  assertThrows(
    () => new StreamWriter(new Recorder(), { writeBufferLimits: { high: -1 } }),
    RangeError,
    "'high' must be a non-negative integer: current value is -1",
  );
  assertThrows(
    () => writer.setWriteBufferLimits({ high: 10, low: 20 }),
    RangeError,
    "'high' must be >= 'low': current values are high=10, low=20",
  );
  assertThrows(
    () => writer.setWriteBufferLimits({ low: 1.5 }),
    RangeError,
    "'low' must be a non-negative integer: current value is 1.5",
  );
  const locked = new WritableStream();
  locked.getWriter();
  assertThrows(() => new StreamWriter(locked), TypeError, "the WritableStream is locked");
  writer.close();
});

Deno.test("StreamWriter write buffer limits follow asyncio's defaults", () => {
  const writer = new StreamWriter(new Recorder());
  assertEquals(writer.getWriteBufferLimits(), { high: 64 * 1024, low: 16 * 1024 });
  writer.setWriteBufferLimits({ low: 100 });
  assertEquals(writer.getWriteBufferLimits(), { high: 400, low: 100 });
  writer.setWriteBufferLimits({ high: 1000 });
  assertEquals(writer.getWriteBufferLimits(), { high: 1000, low: 250 });
  writer.setWriteBufferLimits();
  assertEquals(writer.getWriteBufferLimits(), { high: 64 * 1024, low: 16 * 1024 });
  const custom = new StreamWriter(new Recorder(), { writeBufferLimits: { high: 10, low: 0 } });
  assertEquals(custom.getWriteBufferLimits(), { high: 10, low: 0 });
  writer.close();
  custom.close();
});

Deno.test("StreamWriter.drain waits above the high-water mark until the low-water mark", async () => {
  const target = new Recorder();
  target.gated = true;
  target.maxPerWrite = 1000;
  const writer = new StreamWriter(target, { writeBufferLimits: { high: 4000, low: 1500 } });
  writer.write(new Uint8Array(4000));
  await writer.drain(); // not above high: no wait
  writer.write(new Uint8Array(1));
  assertEquals(writer.getWriteBufferSize(), 4001);
  let drained = false;
  const drain = writer.drain().then(() => drained = true);
  const sizes: number[] = [];
  while (!drained) {
    await tick();
    sizes.push(writer.getWriteBufferSize());
    target.release();
  }
  await drain;
  assert(writer.getWriteBufferSize() <= 1500);
  // It did not resolve while more than `low` was buffered.
  assert(sizes.slice(0, -2).every((s) => s > 1500), `sizes: ${sizes}`);
  target.gated = false;
  target.release();
  writer.close();
  await writer.waitClosed();
  assertEquals(writer.getWriteBufferSize(), 0);
});

Deno.test("StreamWriter.setWriteBufferLimits re-evaluates a waiting drain", async () => {
  const target = new Recorder();
  target.gated = true;
  const writer = new StreamWriter(target, { writeBufferLimits: { high: 10 } });
  writer.write("0123456789ABCDEF");
  let drained = false;
  const drain = writer.drain().then(() => drained = true);
  await tick();
  assertFalse(drained);
  writer.setWriteBufferLimits({ high: 100 });
  await drain;
  // And lowering the mark under the buffered size pauses again.
  writer.setWriteBufferLimits({ high: 2 });
  let again = false;
  const second = writer.drain().then(() => again = true);
  await tick();
  assertFalse(again);
  target.gated = false;
  target.release();
  await second;
  writer.close();
  await writer.waitClosed();
});

Deno.test("StreamWriter.drain is cancellable by signal and by the task, consuming nothing", async () => {
  const target = new Recorder();
  target.gated = true;
  const writer = new StreamWriter(target, { writeBufferLimits: { high: 1 } });
  writer.write("abc");

  const controller = new AbortController();
  const first = writer.drain({ signal: controller.signal });
  const other = writer.drain();
  controller.abort(new Error("stop"));
  await assertRejects(() => first, Error, "stop");

  await assertRejects(
    () => writer.drain({ signal: AbortSignal.abort(new Error("already")) }),
    Error,
    "already",
  );

  const task = createTask(async () => {
    await writer.drain();
  });
  await tick();
  task.cancel();
  await assertRejects(() => Promise.resolve(task), CancelledError);

  // The other waiter was not disturbed, and the data is all written.
  target.gated = false;
  target.release();
  await other;
  writer.close();
  await writer.waitClosed();
  assertEquals(target.text(), "abc");
});

Deno.test("StreamWriter reports a failed write on write, drain and waitClosed", async (t) => {
  await t.step("drain sees it first", async () => {
    const target = new Recorder();
    const writer = new StreamWriter(target, { writeBufferLimits: { high: 1 } });
    const failure = new Deno.errors.BrokenPipe("peer gone");
    target.failWith = failure;
    writer.write("data");
    const error = await assertRejects(() => writer.drain());
    assertStrictEquals(error, failure);
    assert(writer.isClosing());
    assertThrows(() => writer.write("more"), Deno.errors.BrokenPipe, "peer gone");
    assertEquals(writer.getWriteBufferSize(), 0);
    writer.close();
    await assertRejects(() => writer.waitClosed(), Deno.errors.BrokenPipe);
    // Already reported: disposing does not throw it again.
    await writer[Symbol.asyncDispose]();
  });
  await t.step("dispose reports a loss nobody saw", async () => {
    const target = new Recorder();
    target.failWith = new Deno.errors.ConnectionReset("reset");
    const writer = new StreamWriter(target);
    writer.write("lost");
    await assertRejects(() => writer[Symbol.asyncDispose](), Deno.errors.ConnectionReset);
  });
  await t.step("a target writing zero bytes fails the writer", async () => {
    const writer = new StreamWriter({ write: () => Promise.resolve(0) });
    writer.write("x");
    await assertRejects(() => writer.drain().then(() => sleep(1)).then(() => writer.drain()));
    assertThrows(() => writer.write("y"), Deno.errors.WriteZero);
    writer.close();
    await assertRejects(() => writer.waitClosed(), Deno.errors.WriteZero);
  });
  await t.step("drain rejects with the paired reader's error", async () => {
    const reader = new StreamReader();
    const writer = new StreamWriter(new Recorder(), { reader });
    reader.setException(new Deno.errors.ConnectionReset("read side reset"));
    await assertRejects(() => writer.drain(), Deno.errors.ConnectionReset, "read side reset");
    writer.close();
    await writer.waitClosed();
  });
});

Deno.test("StreamWriter.close flushes, then closes; later calls are refused", async () => {
  const target = new Recorder();
  target.gated = true;
  const writer = new StreamWriter(target);
  writer.write("one");
  writer.write(new Uint8Array(20_000));
  assertFalse(writer.isClosing());
  writer.close();
  writer.close();
  assert(writer.isClosing());
  let closed = false;
  const waiting = writer.waitClosed().then(() => closed = true);
  await tick();
  assertFalse(closed);
  assertEquals(target.closed, 0);
  while (!closed) {
    target.release();
    await tick();
  }
  await waiting;
  assertEquals(target.closed, 1);
  assertEquals(target.copies.reduce((n, c) => n + c.length, 0), 20_003);
  assertThrows(() => writer.write("late"), InvalidStateError, "the writer is closed");
  await assertRejects(
    () => writer.drain(),
    InvalidStateError,
    "Cannot drain: the writer is closed",
  );
  await writer.waitClosed();
  writer.writeEof(); // does nothing after close
  assertEquals(target.eofs, 0);
});

Deno.test("StreamWriter.waitClosed is cancellable and the close goes on", async () => {
  const target = new Recorder();
  target.gated = true;
  const writer = new StreamWriter(target);
  writer.write("x");
  writer.close();
  const controller = new AbortController();
  const wait = writer.waitClosed({ signal: controller.signal });
  controller.abort(new Error("no more waiting"));
  await assertRejects(() => wait, Error, "no more waiting");
  target.gated = false;
  target.release();
  await writer.waitClosed();
  assertEquals(target.closed, 1);
});

Deno.test("StreamWriter.writeEof shuts the write side after the buffer", async () => {
  const target = new Recorder();
  const writer = new StreamWriter(target);
  assert(writer.canWriteEof());
  writer.write("before");
  writer.writeEof();
  writer.writeEof();
  assertFalse(writer.isClosing());
  assertThrows(() => writer.write("after"), InvalidStateError, "writeEof() was called");
  await tick();
  assertEquals(target.eofs, 1);
  assertEquals(target.text(), "before");
  writer.close();
  await writer.waitClosed();

  const plain = new StreamWriter({ write: (p) => Promise.resolve(p.length) });
  assertFalse(plain.canWriteEof());
  assertThrows(() => plain.writeEof(), InvalidStateError, "has no closeWrite()");
  plain.close();
  await plain.waitClosed();
});

Deno.test("StreamWriter over a WritableStream, and its own writable", async (t) => {
  await t.step("writes into a WritableStream and closes it", async () => {
    const seen: string[] = [];
    let closed = false;
    const writer = new StreamWriter(
      new WritableStream<Uint8Array>({
        write: (c) => void seen.push(str(c)),
        close: () => void (closed = true),
      }),
    );
    writer.write("a");
    writer.write("b");
    await writer.drain();
    await tick();
    writer.write("c");
    await writer[Symbol.asyncDispose]();
    assertEquals(seen.join(""), "abc");
    assert(closed);
  });
  await t.step("writable pipes with backpressure, then writes EOF", async () => {
    const { client, server } = await tcpPair();
    const reader = new StreamReader(client);
    const writer = new StreamWriter(client, { reader, writeBufferLimits: { high: 1024 } });
    const chunks = Array.from({ length: 200 }, (_, i) => new Uint8Array(1000).fill(i & 255));
    const reading = readAll(server);
    await ReadableStream.from(chunks).pipeTo(writer.writable);
    assertStrictEquals(writer.writable, writer.writable);
    const got = await reading; // EOF arrived: the write side was shut down
    assertEquals(got.length, 200_000);
    for (let i = 0; i < 200; i++) assertEquals(got[i * 1000 + 999], i & 255);
    // The connection is still open for reading.
    await server.write(bytes("answer"));
    server.close();
    assertEquals(await reader.text(), "answer");
    writer.close();
    await writer.waitClosed();
  });
  await t.step("closing writable closes a writer that cannot write EOF", async () => {
    const target: Writer & { closed: boolean } = {
      closed: false,
      write: (p) => Promise.resolve(p.length),
      close() {
        this.closed = true;
      },
    };
    const writer = new StreamWriter(target);
    const w = writer.writable.getWriter();
    await w.write(bytes("x"));
    await w.close();
    assert(writer.isClosing());
    await writer.waitClosed();
    assert(target.closed);
  });
  await t.step("aborting writable closes the writer", async () => {
    const target = new Recorder();
    const writer = new StreamWriter(target);
    await writer.writable.abort(new Error("producer failed"));
    await writer.waitClosed();
    assertEquals(target.closed, 1);
  });
});

Deno.test("StreamWriter.getExtraInfo names the socket's addresses", async () => {
  const { client, server } = await tcpPair();
  const writer = new StreamWriter(client);
  const peer = writer.getExtraInfo("peername") as Deno.NetAddr;
  const local = writer.getExtraInfo("sockname") as Deno.NetAddr;
  assertEquals(peer.port, server.localAddr.port);
  assertEquals(local.port, server.remoteAddr.port);
  assertStrictEquals(writer.getExtraInfo("socket"), client);
  assertEquals(writer.getExtraInfo("cipher"), undefined);
  assertEquals(writer.getExtraInfo("cipher", "none"), "none");
  const streamWriter = new StreamWriter(new WritableStream());
  assertEquals(streamWriter.getExtraInfo("peername", "n/a"), "n/a");
  streamWriter.close();
  await writer[Symbol.asyncDispose]();
  server.close();
});

Deno.test("StreamWriter over TCP: a slow peer makes drain wait; 64 MiB arrive intact", async () => {
  const { client, server } = await tcpPair();
  const writer = new StreamWriter(client);
  const TOTAL = 64 * 1024 * 1024;
  const source = new Uint8Array(TOTAL);
  for (let i = 0; i < TOTAL; i++) source[i] = patternByte(i);

  // Mixed sizes: small (copied) and large (passed by reference) writes.
  const sizes = [1, 100, 3000, 16_383, 16_384, 70_000, 1 << 20];
  let written = 0;
  let k = 0;
  while (written < TOTAL / 2) {
    const n = Math.min(sizes[k++ % sizes.length], TOTAL - written);
    writer.write(source.subarray(written, written + n));
    written += n;
  }
  // Nobody reads yet: the kernel cannot take 32 MiB, so drain must wait.
  let drained = false;
  const firstDrain = writer.drain().then(() => drained = true);
  for (let i = 0; i < 5; i++) await tick();
  assertFalse(drained);

  const received = (async () => {
    const buf = new Uint8Array(256 * 1024);
    let at = 0;
    for (;;) {
      const n = await server.read(buf);
      if (n === null) break;
      for (let i = 0; i < n; i++) {
        if (buf[i] !== patternByte(at + i)) throw new Error(`wrong byte at ${at + i}`);
      }
      at += n;
    }
    return at;
  })();
  await firstDrain;
  while (written < TOTAL) {
    const n = Math.min(sizes[k++ % sizes.length], TOTAL - written);
    writer.write(source.subarray(written, written + n));
    written += n;
    await writer.drain();
  }
  writer.close();
  await writer.waitClosed();
  assertEquals(await received, TOTAL);
  server.close();
});

Deno.test("StreamWriter over TCP: drain rejects when the peer resets", async () => {
  const { client, server } = await tcpPair();
  const writer = new StreamWriter(client);
  writer.write(new Uint8Array(32 * 1024 * 1024));
  const drain = writer.drain();
  await tick();
  // Closing with unread data makes the kernel send a reset.
  server.close();
  const error = await assertRejects(() => drain);
  assert(
    error instanceof Deno.errors.ConnectionReset || error instanceof Deno.errors.BrokenPipe,
    `unexpected ${error}`,
  );
  assert(writer.isClosing());
  assertThrows(() => writer.write("x"));
  writer.close();
  await assertRejects(() => writer.waitClosed());
});

Deno.test("StreamWriter over TCP: writeEof half-closes and the peer can answer", async () => {
  const { client, server } = await tcpPair();
  const reader = new StreamReader(client);
  const writer = new StreamWriter(client, { reader });
  writer.write("question");
  writer.writeEof();
  const peerReader = new StreamReader(server);
  assertEquals(await peerReader.text(), "question"); // the peer saw EOF
  await server.write(bytes("answer"));
  server.close();
  assertEquals(await reader.text(), "answer");
  await writer[Symbol.asyncDispose]();
});

Deno.test("StreamWriter.close ends the paired reader's pending read", async () => {
  const { client, server } = await tcpPair();
  const reader = new StreamReader(client);
  const writer = new StreamWriter(client, { reader });
  const line = reader.readLine();
  await tick();
  writer.close();
  await writer.waitClosed();
  assertEquals(await line, new Uint8Array());
  assert(reader.atEof());
  closeQuietly(server);
});

Deno.test("StreamWriter disposal in a cancelled task does not wait", async () => {
  const target = new Recorder();
  target.gated = true;
  let disposed = false;
  const task = createTask(async () => {
    await using writer = new StreamWriter(target);
    writer.write("pending");
    try {
      await sleep(60_000);
    } finally {
      disposed = true;
    }
  });
  await tick();
  task.cancel();
  await assertRejects(() => Promise.resolve(task), CancelledError);
  assert(disposed);
  // The close goes on in the background once the target accepts the data.
  assertEquals(target.closed, 0);
  target.gated = false;
  target.release();
  await tick();
  assertEquals(target.closed, 1);
  assertEquals(target.text(), "pending");
});
