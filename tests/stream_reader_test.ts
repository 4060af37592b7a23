import {
  assert,
  assertEquals,
  assertFalse,
  assertInstanceOf,
  assertLessOrEqual,
  assertRejects,
  assertStrictEquals,
  assertThrows,
} from "@std/assert";
import {
  CancelledError,
  createTask,
  IncompleteReadError,
  InvalidStateError,
  LimitOverrunError,
  sleep,
  StreamReader,
} from "../mod.ts";
import { replaceReaderSource } from "../src/streams/_reader_source.ts";
import { bytes, pattern, str } from "./_bytes.ts";
import { tcpPair } from "./_net.ts";
import { mulberry32 } from "./_random.ts";

/** A reader fed `chunks` by hand, then ended unless `eof` is false. */
function fed(chunks: (string | Uint8Array)[], eof = true, limit?: number): StreamReader {
  const reader = new StreamReader(undefined, { limit });
  for (const c of chunks) reader.feedData(typeof c === "string" ? bytes(c) : c);
  if (eof) reader.feedEof();
  return reader;
}

/** Feeds `data` one byte at a time, yielding to pending reads in between. */
async function feedBytewise(reader: StreamReader, data: Uint8Array): Promise<void> {
  for (const b of data) {
    reader.feedData(new Uint8Array([b]));
    await Promise.resolve();
  }
}

/** A byte stream (`type: "bytes"`) that supports BYOB readers. */
function byteStream(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    type: "bytes",
    pull(controller) {
      if (i < chunks.length) controller.enqueue(chunks[i++].slice());
      else {
        controller.close();
        controller.byobRequest?.respond(0);
      }
    },
  });
}

/** A `read(p)` source that hands out `data` in pieces of random sizes. */
function chunkedReader(data: Uint8Array, rand: () => number, maxChunk: number) {
  let pos = 0;
  return {
    reads: 0,
    read(p: Uint8Array): Promise<number | null> {
      this.reads++;
      if (pos >= data.length) return Promise.resolve(null);
      const n = Math.min(p.length, data.length - pos, 1 + Math.floor(rand() * maxChunk));
      p.set(data.subarray(pos, pos + n));
      pos += n;
      return Promise.resolve(n);
    },
  };
}

// ---------------------------------------------------------------- readLine

Deno.test("readLine returns lines with their terminators, then the rest, then empty", async () => {
  const reader = fed(["one\ntwo\r\nthr", "ee"]);
  assertEquals(str(await reader.readLine()), "one\n");
  assertEquals(str(await reader.readLine()), "two\r\n");
  assertEquals(str(await reader.readLine()), "three");
  assertEquals(str(await reader.readLine()), "");
  assert(reader.atEof());
});

Deno.test("readLine assembles a line fed one byte at a time", async () => {
  const reader = new StreamReader();
  const line = reader.readLine();
  await feedBytewise(reader, bytes("a line fed byte by byte\nnext"));
  assertEquals(str(await line), "a line fed byte by byte\n");
  reader.feedEof();
  assertEquals(str(await reader.readLine()), "next");
});

Deno.test("readLine over the limit with the newline buffered drops the line and throws", async () => {
  const reader = fed(["x".repeat(20) + "\nok\n"], true, 10);
  const e = await assertRejects(() => reader.readLine(), LimitOverrunError);
  assertEquals(e.consumed, 20);
  assertEquals(str(await reader.readLine()), "ok\n");
});

Deno.test("readLine over the limit without the newline clears the buffer and throws", async () => {
  const reader = fed(["x".repeat(20)], false, 10);
  const e = await assertRejects(() => reader.readLine(), LimitOverrunError);
  assertEquals(e.consumed, 20);
  assertEquals(e.message, "Separator is not found, and chunk exceed the limit");
  assertFalse(reader.atEof());
  reader.feedData(bytes("yy\nnext\n"));
  reader.feedEof();
  // The rest of the long line arrives as a line of its own (asyncio's rule).
  assertEquals(str(await reader.readLine()), "yy\n");
  assertEquals(str(await reader.readLine()), "next\n");
});

Deno.test("readLine over the limit while waiting, on a line fed byte by byte", async () => {
  const reader = new StreamReader(undefined, { limit: 8 });
  const line = reader.readLine();
  const failed = assertRejects(() => line, LimitOverrunError);
  await feedBytewise(reader, bytes("123456789"));
  const e = await failed;
  assertEquals(e.consumed, 9);
  reader.feedData(bytes("short\n"));
  assertEquals(str(await reader.readLine()), "short\n");
});

Deno.test("a line of exactly limit + 1 bytes with its newline is accepted", async () => {
  const reader = fed(["x".repeat(10) + "\n"], true, 10);
  assertEquals((await reader.readLine()).length, 11);
});

// --------------------------------------------------------------- readUntil

Deno.test("readUntil reads up to a string or bytes separator, included", async () => {
  const reader = fed(["HEAD\r\n\r\nA;B\n"]);
  assertEquals(str(await reader.readUntil("\r\n\r\n")), "HEAD\r\n\r\n");
  assertEquals(str(await reader.readUntil(bytes(";"))), "A;");
  assertEquals(str(await reader.readUntil()), "B\n");
});

Deno.test("readUntil with several separators returns the shortest match", async () => {
  const reader = fed(["a\r\nb--c--\n"]);
  assertEquals(str(await reader.readUntil(["--", "\r\n"])), "a\r\n");
  assertEquals(str(await reader.readUntil(["\n", "--"])), "b--");
  assertEquals(str(await reader.readUntil([bytes("c--\n"), "--"])), "c--");
  assertEquals(str(await reader.readUntil(["\n", "\r\n"])), "\n");
});

Deno.test("readUntil finds a separator split across one-byte chunks", async () => {
  const reader = new StreamReader();
  const head = reader.readUntil(["\r\n\r\n", "\n\n"]);
  await feedBytewise(reader, bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\nbody"));
  assertEquals(str(await head), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  reader.feedEof();
  assertEquals(str(await reader.read()), "body");
});

Deno.test("readUntil at EOF throws IncompleteReadError with the consumed rest", async () => {
  const reader = fed(["no separator"]);
  const e = await assertRejects(() => reader.readUntil("\r\n"), IncompleteReadError);
  assertEquals(str(e.partial), "no separator");
  assertEquals(e.expected, null);
  assert(reader.atEof());
});

Deno.test("readUntil EOF while waiting rejects with the partial data", async () => {
  const reader = new StreamReader();
  const pending = reader.readUntil("END");
  reader.feedData(bytes("abcEN"));
  reader.feedEof();
  const e = await assertRejects(() => pending, IncompleteReadError);
  assertEquals(str(e.partial), "abcEN");
});

Deno.test("readUntil over the limit throws LimitOverrunError and keeps the data", async () => {
  const found = fed(["0123456789abc;rest"], true, 10);
  const e1 = await assertRejects(() => found.readUntil(";"), LimitOverrunError);
  assertEquals(e1.consumed, 13);
  assertEquals(e1.message, "Separator is found, but chunk is longer than limit");
  assertEquals(str(await found.readExactly(14)), "0123456789abc;");

  const missing = fed(["0123456789abcdef"], false, 10);
  const e2 = await assertRejects(() => missing.readUntil("::"), LimitOverrunError);
  // asyncio's offset: the first place a separator split by the end could start.
  assertEquals(e2.consumed, 15);
  assertEquals(str(await missing.read(100)), "0123456789abcdef");
});

Deno.test("readUntil over the limit while waiting keeps every byte", async () => {
  const reader = new StreamReader(undefined, { limit: 4 });
  const pending = reader.readUntil("|");
  const failed = assertRejects(() => pending, LimitOverrunError);
  await feedBytewise(reader, bytes("abcdef"));
  assertEquals((await failed).consumed, 5);
  reader.feedEof();
  assertEquals(str(await reader.read()), "abcdef");
});

Deno.test("readUntil rejects bad separators with typed errors naming the value", async () => {
  const reader = fed(["abc"]);
  await assertRejects(
    () => reader.readUntil(""),
    RangeError,
    'a separator must not be empty: current value is ""',
  );
  await assertRejects(() => reader.readUntil([]), RangeError, "at least one separator");
  await assertRejects(
    // @ts-expect-error: testing bad input
    () => reader.readUntil(10),
    TypeError,
    "'separator' must be a Uint8Array, a string or an array of them: current value is 10",
  );
  assertEquals(str(await reader.read()), "abc");
});

// ------------------------------------------------------- read, readExactly

Deno.test("read(n) returns what is buffered, up to n, waiting only when empty", async () => {
  const reader = new StreamReader();
  const first = reader.read(4);
  reader.feedData(bytes("abcdef"));
  assertEquals(str(await first), "abcd");
  assertEquals(str(await reader.read(100)), "ef");
  assertEquals(await reader.read(0), new Uint8Array());
  reader.feedEof();
  assertEquals(await reader.read(10), new Uint8Array());
  assert(reader.atEof());
});

Deno.test("read() reads everything until EOF", async () => {
  const reader = new StreamReader();
  const all = reader.read();
  reader.feedData(bytes("ab"));
  await Promise.resolve();
  reader.feedData(bytes("cd"));
  reader.feedEof();
  assertEquals(str(await all), "abcd");
  assertEquals(await reader.read(), new Uint8Array());
});

Deno.test("read rejects a bad n with a RangeError naming it", async () => {
  const reader = fed(["x"]);
  await assertRejects(
    () => reader.read(1.5),
    RangeError,
    "Cannot read: 'n' must be an integer >= -1: current value is 1.5",
  );
  await assertRejects(() => reader.read(-2), RangeError, "current value is -2");
  await assertRejects(
    () => reader.readExactly(-1),
    RangeError,
    "Cannot read exactly: 'n' must be a non-negative integer: current value is -1",
  );
  // @ts-expect-error: testing bad input
  await assertRejects(() => reader.readExactly("3"), RangeError, 'current value is "3"');
});

Deno.test("readExactly reads exactly n bytes across chunks", async () => {
  const reader = new StreamReader();
  const pending = reader.readExactly(5);
  await feedBytewise(reader, bytes("12345678"));
  assertEquals(str(await pending), "12345");
  assertEquals(await reader.readExactly(0), new Uint8Array());
  assertEquals(str(await reader.readExactly(3)), "678");
});

Deno.test("readExactly at EOF throws IncompleteReadError with what was read", async () => {
  const reader = fed(["abc"]);
  const e = await assertRejects(() => reader.readExactly(5), IncompleteReadError);
  assertEquals(str(e.partial), "abc");
  assertEquals(e.expected, 5);
  assert(reader.atEof());

  const waiting = new StreamReader();
  const pending = waiting.readExactly(4);
  waiting.feedData(bytes("xy"));
  await Promise.resolve();
  waiting.feedEof();
  const e2 = await assertRejects(() => pending, IncompleteReadError);
  assertEquals(str(e2.partial), "xy");
  assertEquals(e2.expected, 4);
});

Deno.test("readExactly of a large frame fed in small pieces", async () => {
  const data = new Uint8Array(300_000).map((_, i) => i * 7);
  const reader = new StreamReader();
  const frame = reader.readExactly(data.length);
  for (let i = 0; i < data.length; i += 1000) {
    reader.feedData(data.subarray(i, i + 1000));
    await Promise.resolve();
  }
  assertEquals(await frame, data);
});

// ------------------------------------------------------------- whole reads

Deno.test("text() decodes the rest and drops a BOM only at the stream start", async () => {
  assertEquals(await fed(["\uFEFFhé", "llo"]).text(), "héllo");
  const later = fed(["x\n\uFEFFy"]);
  await later.readLine();
  assertEquals(await later.text(), "\uFEFFy");
  assertEquals(await fed([new Uint8Array([0x61, 0xff])]).text(), "a\uFFFD");
});

Deno.test("bytes() returns the rest in an ArrayBuffer of its own", async () => {
  const reader = fed(["a\n", "bc"]);
  await reader.readLine();
  const rest = await reader.bytes();
  assertEquals(str(rest), "bc");
  assertEquals(rest.byteOffset, 0);
  assertEquals(rest.buffer.byteLength, 2);
});

// ---------------------------------------------------------------- iterating

Deno.test("for await yields lines as bytes like asyncio, the last one unterminated", async () => {
  const lines: string[] = [];
  for await (const line of fed(["a\nb", "b\r\n", "\nlast"])) lines.push(str(line));
  assertEquals(lines, ["a\n", "bb\r\n", "\n", "last"]);
});

Deno.test("for await over lines fed byte by byte", async () => {
  const reader = new StreamReader();
  const text = "first line\nsecond\r\n\nfourth";
  const feeding = feedBytewise(reader, bytes(text)).then(() => reader.feedEof());
  const lines: string[] = [];
  for await (const line of reader) lines.push(str(line));
  await feeding;
  assertEquals(lines.join(""), text);
  assertEquals(lines.length, 4);
});

Deno.test("breaking out of for await leaves the rest readable", async () => {
  const reader = fed(["one\ntwo\nthree"]);
  for await (const line of reader) {
    assertEquals(str(line), "one\n");
    break;
  }
  assertEquals(str(await reader.read()), "two\nthree");
});

Deno.test("for await throws on a line over the limit", async () => {
  const reader = fed(["ok\n" + "x".repeat(50) + "\n"], true, 10);
  const seen: string[] = [];
  await assertRejects(async () => {
    for await (const line of reader) seen.push(str(line));
  }, LimitOverrunError);
  assertEquals(seen, ["ok\n"]);
});

Deno.test("lines() yields strings without \\n or \\r\\n", async () => {
  const lines: string[] = [];
  for await (const line of fed(["a\r\nb\n\nc\r", "\nd\re\n", "tail"]).lines()) lines.push(line);
  assertEquals(lines, ["a", "b", "", "c", "d\re", "tail"]);
});

Deno.test("lines() decodes characters split across one-byte chunks", async () => {
  const text = "héllo wörld\n日本語のテキスト\n🎉 emoji 🎉\r\nend";
  const reader = new StreamReader();
  const feeding = feedBytewise(reader, bytes(text)).then(() => reader.feedEof());
  const lines: string[] = [];
  for await (const line of reader.lines()) lines.push(line);
  await feeding;
  assertEquals(lines, ["héllo wörld", "日本語のテキスト", "🎉 emoji 🎉", "end"]);
});

Deno.test("lines() decodes mixed ASCII and non-ASCII blocks in one buffer", async () => {
  const expected: string[] = [];
  for (let i = 0; i < 2000; i++) {
    expected.push(i % 7 === 0 ? `ligne ${i} — été 🎉` : `line ${i} ${"x".repeat(i % 40)}`);
  }
  const lines: string[] = [];
  for await (const line of fed([expected.join("\n") + "\n"]).lines()) lines.push(line);
  assertEquals(lines, expected);
});

Deno.test("lines() turns invalid UTF-8 into U+FFFD and keeps line boundaries", async () => {
  const data = new Uint8Array([0x61, 0xff, 0x0a, 0xe2, 0x82, 0x0a, 0x62, 0x0a]);
  const lines: string[] = [];
  for await (const line of fed([data]).lines()) lines.push(line);
  assertEquals(lines, ["a\uFFFD", "\uFFFD", "b"]);
});

Deno.test("lines() drops a BOM at the start of the stream only", async () => {
  const lines: string[] = [];
  for await (const line of fed(["\uFEFFa\n\uFEFFb\n"]).lines()) lines.push(line);
  assertEquals(lines, ["a", "\uFEFFb"]);
  const slow: string[] = [];
  const reader = new StreamReader();
  const feeding = feedBytewise(reader, bytes("\uFEFFx\ny")).then(() => reader.feedEof());
  for await (const line of reader.lines()) slow.push(line);
  await feeding;
  assertEquals(slow, ["x", "y"]);
});

Deno.test("lines() handles lines longer than its decode block, up to the limit", async () => {
  const long = "y".repeat(20_000);
  const lines: string[] = [];
  for await (const line of fed([`a\n${long}\nb\n`]).lines()) lines.push(line);
  assertEquals(lines, ["a", long, "b"]);
  const limited = fed([`a\n${"z".repeat(100)}\nb\n`], true, 50);
  const seen: string[] = [];
  await assertRejects(async () => {
    for await (const line of limited.lines()) seen.push(line);
  }, LimitOverrunError);
  assertEquals(seen, ["a"]);
  assertEquals(str(await limited.read()), "b\n");
});

Deno.test("breaking out of lines() consumes only the lines yielded", async () => {
  const reader = fed(["A: 1\r\nB: 2\r\n\r\n\x00\x01binary body"]);
  const headers: string[] = [];
  for await (const line of reader.lines()) {
    if (line === "") break;
    headers.push(line);
  }
  assertEquals(headers, ["A: 1", "B: 2"]);
  assertEquals(await reader.readExactly(2), new Uint8Array([0, 1]));
  assertEquals(await reader.text(), "binary body");
});

Deno.test("lines() stays correct when other reads interleave", async () => {
  const reader = fed(["l1\nl2\nl3\nl4\n"]);
  const it = reader.lines();
  assertEquals((await it.next()).value, "l1");
  assertEquals(str(await reader.readLine()), "l2\n");
  assertEquals((await it.next()).value, "l3");
  assertEquals(await reader.read(1), bytes("l"));
  assertEquals((await it.next()).value, "4");
  assert((await it.next()).done);
});

// ------------------------------------------------------------- exceptions

Deno.test("setException rejects the waiting read and every later read", async () => {
  const reader = new StreamReader();
  assertEquals(reader.exception(), undefined);
  const pending = reader.readExactly(3);
  const boom = new Error("boom");
  reader.setException(boom);
  assertStrictEquals(await assertRejects(() => pending), boom);
  assertStrictEquals(reader.exception(), boom);
  await assertRejects(() => reader.readLine(), Error, "boom");
  await assertRejects(() => reader.read(), Error, "boom");
  await assertRejects(() => reader.text(), Error, "boom");
  const it = reader.lines();
  await assertRejects(() => it.next(), Error, "boom");
  assert((await it.next()).done);
});

Deno.test("setException wins over buffered data, as in asyncio", async () => {
  const reader = fed(["data\n"], false);
  reader.setException(new RangeError("failed"));
  await assertRejects(() => reader.readLine(), RangeError, "failed");
  await assertRejects(() => reader.readExactly(1), RangeError, "failed");
});

// ------------------------------------------------------ concurrent reads

Deno.test("a second read that must wait rejects with InvalidStateError", async () => {
  const reader = new StreamReader();
  const first = reader.readLine();
  await assertRejects(
    () => reader.readExactly(3),
    InvalidStateError,
    "readExactly() called while another read is already waiting for incoming data",
  );
  await assertRejects(() => reader.read(), InvalidStateError);
  reader.feedData(bytes("x\n"));
  assertEquals(str(await first), "x\n");
});

Deno.test("a second read that can be served from the buffer does not wait", async () => {
  const reader = fed(["abc"], false);
  const line = reader.readLine();
  assertEquals(str(await reader.read(2)), "ab");
  reader.feedData(bytes("\n"));
  assertEquals(str(await line), "c\n");
});

// ------------------------------------------------------------ cancellation

Deno.test("an explicit signal cancels a waiting read, which consumes nothing", async (t) => {
  const reasons = () => new CancelledError("stop");
  for (
    const [name, read] of [
      ["readLine", (r: StreamReader, signal: AbortSignal) => r.readLine({ signal })],
      ["readUntil", (r: StreamReader, signal: AbortSignal) => r.readUntil("\n", { signal })],
      ["readExactly", (r: StreamReader, signal: AbortSignal) => r.readExactly(20, { signal })],
      ["read", (r: StreamReader, signal: AbortSignal) => r.read(-1, { signal })],
      ["text", (r: StreamReader, signal: AbortSignal) => r.text({ signal })],
      ["bytes", (r: StreamReader, signal: AbortSignal) => r.bytes({ signal })],
      ["lines", (r: StreamReader, signal: AbortSignal) => r.lines({ signal }).next()],
    ] as const
  ) {
    await t.step(name, async () => {
      const reader = fed(["partial "], false);
      const controller = new AbortController();
      const pending = read(reader, controller.signal);
      controller.abort(reasons());
      await assertRejects(() => pending, CancelledError, "stop");
      reader.feedData(bytes("line\n"));
      reader.feedEof();
      assertEquals(str(await reader.read()), "partial line\n");
    });
  }
});

Deno.test("an already aborted signal rejects even when data is buffered", async () => {
  const reader = fed(["line\n"]);
  const signal = AbortSignal.abort(new RangeError("early"));
  await assertRejects(() => reader.readLine({ signal }), RangeError, "early");
  await assertRejects(() => reader.read(1, { signal }), RangeError, "early");
  await assertRejects(() => reader.readExactly(1, { signal }), RangeError, "early");
  await assertRejects(() => reader.readUntil("\n", { signal }), RangeError, "early");
  await assertRejects(() => reader.lines({ signal }).next(), RangeError, "early");
  assertEquals(str(await reader.readLine()), "line\n");
});

Deno.test("after a cancelled read, the next read can wait", async () => {
  const reader = new StreamReader();
  const controller = new AbortController();
  const first = reader.readLine({ signal: controller.signal });
  controller.abort();
  await assertRejects(() => first);
  const second = reader.readLine();
  reader.feedData(bytes("ok\n"));
  assertEquals(str(await second), "ok\n");
});

Deno.test("cancelling the task parked in a read rejects it with CancelledError", async () => {
  const reader = fed(["half a "], false);
  const task = createTask(() => reader.readLine());
  await sleep(1);
  assert(task.cancel("shutting down"));
  await assertRejects(() => Promise.resolve(task), CancelledError, "shutting down");
  reader.feedData(bytes("line\n"));
  assertEquals(str(await reader.readLine()), "half a line\n");
});

Deno.test("a cancelled task still gets buffered data: only waits observe it (asyncio)", async () => {
  const reader = fed(["ready\n"], false);
  const seen: unknown[] = [];
  const task = createTask(async () => {
    await sleep(60_000).catch((e) => seen.push(e));
    seen.push(str(await reader.readLine()));
    await reader.readLine().catch((e) => seen.push(e));
  });
  await sleep(1);
  task.cancel();
  await Promise.resolve(task).catch(() => {});
  assertEquals(seen.length, 3);
  assertInstanceOf(seen[0], CancelledError);
  assertEquals(seen[1], "ready\n");
  assertInstanceOf(seen[2], CancelledError);
});

Deno.test("cancelling a task iterating lines() keeps the unread bytes", async () => {
  const reader = fed(["a\nb\nc"], false);
  const seen: string[] = [];
  const task = createTask(async () => {
    for await (const line of reader.lines()) seen.push(line);
  });
  await sleep(1);
  task.cancel();
  await assertRejects(() => Promise.resolve(task), CancelledError);
  assertEquals(seen, ["a", "b"]);
  reader.feedEof();
  assertEquals(str(await reader.read()), "c");
});

// --------------------------------------------------------- feeding, state

Deno.test("feedData copies its input; returned chunks never change afterwards", async () => {
  const input = bytes("abc\ndef\n");
  const reader = fed([input], false);
  input.fill(0);
  const first = await reader.readLine();
  assertEquals(str(first), "abc\n");
  first.fill(120);
  assertEquals(str(await reader.readLine()), "def\n");
  reader.feedData(bytes("ghi\n"));
  assertEquals(str(first), "xxxx");
  assertEquals(str(await reader.readLine()), "ghi\n");
});

Deno.test("a transferred chunk buffer does not break later reads", async () => {
  const reader = fed(["one\ntwo\nthree\n"]);
  const first = await reader.readLine();
  first.buffer.transfer();
  assertEquals(str(await reader.readLine()), "two\n");
  assertEquals(str(await reader.readLine()), "three\n");
});

Deno.test("feedData and the constructor reject bad input with typed errors", () => {
  const reader = new StreamReader();
  assertThrows(
    // @ts-expect-error: testing bad input
    () => reader.feedData("text"),
    TypeError,
    "Cannot feed data: 'data' must be a Uint8Array: current value is \"text\"",
  );
  reader.feedData(new Uint8Array());
  reader.feedEof();
  assertThrows(() => reader.feedData(bytes("x")), InvalidStateError, "feedEof() was already");
  assertThrows(
    () => new StreamReader(undefined, { limit: 0 }),
    RangeError,
    "Cannot create StreamReader: 'limit' must be a positive integer: current value is 0",
  );
  assertThrows(() => new StreamReader(undefined, { limit: 1.5 }), RangeError, "1.5");
  assertThrows(
    // @ts-expect-error: testing bad input
    () => new StreamReader(42),
    TypeError,
    "'source' must be a ReadableStream, an object with a read(p) method, or undefined: " +
      "current value is 42",
  );
  const sourced = new StreamReader(ReadableStream.from<Uint8Array>([]));
  assertThrows(() => sourced.feedData(bytes("x")), InvalidStateError, "reads from a source");
});

Deno.test("atEof is true only after EOF and once the buffer is empty", async () => {
  const reader = fed(["ab"], false);
  assertFalse(reader.atEof());
  reader.feedEof();
  assertFalse(reader.atEof());
  await reader.read(1);
  assertFalse(reader.atEof());
  await reader.read(1);
  assert(reader.atEof());
});

// ------------------------------------------------------ ReadableStream source

Deno.test("a default ReadableStream source: lines, then the lock is released", async () => {
  const stream = ReadableStream.from(["ab", "c\nd", "e\n"].map(bytes));
  const reader = new StreamReader(stream);
  assert(stream.locked);
  assertEquals(str(await reader.readLine()), "abc\n");
  assertEquals(str(await reader.readLine()), "de\n");
  assertEquals(await reader.readLine(), new Uint8Array());
  assertFalse(stream.locked);
});

Deno.test("a byte stream source is read with a BYOB reader", async () => {
  const chunks = Array.from({ length: 50 }, (_, i) => bytes(`chunk ${i}\n`.repeat(i + 1)));
  const stream = byteStream(chunks);
  const getReader = stream.getReader.bind(stream);
  const modes: (string | undefined)[] = [];
  stream.getReader = ((options?: { mode?: "byob" }) => {
    modes.push(options?.mode);
    return getReader(options);
  }) as typeof stream.getReader;
  const reader = new StreamReader(stream);
  assertEquals(modes, ["byob"]);
  const expected = chunks.map(str).join("");
  assertEquals(await reader.text(), expected);
  assertFalse(stream.locked);
});

Deno.test("a failing ReadableStream sets exception() and releases its lock", async () => {
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(bytes("partial"));
      controller.error(new URIError("broken pipe"));
    },
  });
  const reader = new StreamReader(stream);
  await assertRejects(() => reader.readLine(), URIError, "broken pipe");
  assertInstanceOf(reader.exception(), URIError);
  assertFalse(stream.locked);
});

Deno.test("a ReadableStream of non-bytes fails the reader with a TypeError", async () => {
  const stream = ReadableStream.from(["text, not bytes"]) as unknown as ReadableStream<Uint8Array>;
  const reader = new StreamReader(stream);
  await assertRejects(
    () => reader.read(),
    TypeError,
    'chunks must be Uint8Array: current value is "text, not bytes"',
  );
  assertFalse(stream.locked);
});

Deno.test("a locked ReadableStream is refused", () => {
  const stream = ReadableStream.from<Uint8Array>([]);
  const lock = stream.getReader();
  assertThrows(() => new StreamReader(stream), TypeError, "the ReadableStream is locked");
  lock.releaseLock();
});

Deno.test("feedEof on a stream source stops reading and releases the lock", async () => {
  const stream = ReadableStream.from([bytes("a\n"), bytes("b\n")]);
  const reader = new StreamReader(stream);
  assertEquals(str(await reader.readLine()), "a\n");
  reader.feedEof();
  assertFalse(stream.locked);
  assertEquals(await reader.readLine(), new Uint8Array());
});

// ---------------------------------------------------------------- readable

Deno.test("readable streams what is left after earlier reads", async () => {
  const reader = new StreamReader(ReadableStream.from(["head\nbo", "dy ", "rest"].map(bytes)));
  assertEquals(str(await reader.readLine()), "head\n");
  assertStrictEquals(reader.readable, reader.readable);
  assertEquals(await new Response(reader.readable).text(), "body rest");
});

Deno.test("readable serves BYOB readers straight from the buffer", async () => {
  const reader = fed(["0123456789"]);
  const byob = reader.readable.getReader({ mode: "byob" });
  const first = await byob.read(new Uint8Array(4));
  assertEquals(str(first.value!), "0123");
  const second = await byob.read(new Uint8Array(100));
  assertEquals(str(second.value!), "456789");
  const end = await byob.read(new Uint8Array(4));
  assert(end.done);
  byob.releaseLock();
});

Deno.test("readable errors with the reader's exception", async () => {
  const reader = new StreamReader();
  const chunks = reader.readable.getReader();
  const pending = chunks.read();
  reader.setException(new EvalError("lost"));
  await assertRejects(() => pending, EvalError, "lost");
});

Deno.test("cancelling readable cancels a ReadableStream source and ends the wait", async () => {
  let cancelled: unknown;
  const stream = new ReadableStream<Uint8Array>({
    cancel(reason) {
      cancelled = reason;
    },
  });
  const reader = new StreamReader(stream);
  const chunks = reader.readable.getReader();
  const pending = chunks.read();
  await chunks.cancel("enough");
  assert((await pending).done);
  assertEquals(cancelled, "enough");
  assertFalse(stream.locked);
  assertEquals(await reader.read(), new Uint8Array());
});

// --------------------------------------------------- randomised operations

Deno.test("random reads over random chunking agree with a model", async (t) => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    await t.step(`seed ${seed}`, async () => {
      const rand = mulberry32(seed);
      const filler = (n: number) => {
        let text = "";
        for (let i = 0; i < n; i++) text += String.fromCharCode(33 + Math.floor(rand() * 90));
        return text;
      };
      const parts: string[] = [];
      for (let size = 0; size < 150_000;) {
        const r = rand();
        const part = r < 0.1
          ? "\r\n"
          : r < 0.15
          ? "--"
          : r < 0.2
          ? "é日🎉"
          : filler(Math.floor(rand() * (rand() < 0.1 ? 3000 : 120))) + "\n";
        parts.push(part);
        size += part.length;
      }
      const data = bytes(parts.join(""));
      const source = seed % 2 === 0
        ? chunkedReader(data, rand, seed === 2 ? 3 : 9000)
        : ReadableStream.from(
          (function* () {
            for (let i = 0; i < data.length;) {
              const n = 1 + Math.floor(rand() * (seed === 1 ? 5 : 20000));
              yield data.slice(i, i + n);
              i += n;
            }
          })(),
        );
      const reader = new StreamReader(source, { limit: 1 << 20 });
      const chunks: Uint8Array[] = [];
      let pos = 0;
      const indexOf = (sep: Uint8Array) => {
        for (let i = pos; i + sep.length <= data.length; i++) {
          let k = 0;
          while (k < sep.length && data[i + k] === sep[k]) k++;
          if (k === sep.length) return i;
        }
        return -1;
      };
      while (pos < data.length) {
        const op = Math.floor(rand() * 5);
        if (op === 0) {
          const line = await reader.readLine();
          const i = indexOf(bytes("\n"));
          const end = i < 0 ? data.length : i + 1;
          assertEquals(line, data.subarray(pos, end));
          chunks.push(line);
          pos = end;
        } else if (op === 1) {
          const n = Math.floor(rand() * 5000);
          if (pos + n <= data.length) {
            const got = await reader.readExactly(n);
            assertEquals(got, data.subarray(pos, pos + n));
            chunks.push(got);
            pos += n;
          } else {
            const e = await assertRejects(() => reader.readExactly(n), IncompleteReadError);
            assertEquals(e.partial, data.subarray(pos));
            chunks.push(e.partial);
            pos = data.length;
          }
        } else if (op === 2) {
          const n = 1 + Math.floor(rand() * 5000);
          const got = await reader.read(n);
          assert(got.length >= 1 && got.length <= n);
          assertEquals(got, data.subarray(pos, pos + got.length));
          chunks.push(got);
          pos += got.length;
        } else {
          const seps = op === 3 ? [bytes("\r\n"), bytes("--")] : [bytes("🎉")];
          let best = -1;
          for (const sep of seps) {
            const i = indexOf(sep);
            if (i >= 0 && (best < 0 || i + sep.length < best)) best = i + sep.length;
          }
          if (best >= 0) {
            const got = await reader.readUntil(seps);
            assertEquals(got, data.subarray(pos, best));
            chunks.push(got);
            pos = best;
          } else {
            const e = await assertRejects(() => reader.readUntil(seps), IncompleteReadError);
            assertEquals(e.partial, data.subarray(pos));
            chunks.push(e.partial);
            pos = data.length;
          }
        }
      }
      assertEquals(await reader.read(), new Uint8Array());
      assert(reader.atEof());
      // No chunk was overwritten by later reads.
      let at = 0;
      for (const chunk of chunks) {
        assertEquals(chunk, data.subarray(at, at + chunk.length));
        at += chunk.length;
      }
      assertEquals(at, data.length);
    });
  }
});

Deno.test("a search resumes where it stopped instead of rescanning the line", async () => {
  // The source fills the reader's own buffer one byte per read, then, on the
  // next read, turns the byte it delivered before into a newline: a reader
  // that rescanned bytes it had already searched would stop there. The line
  // must come back whole, planted newlines and all.
  const LENGTH = 50_000;
  let delivered = 0;
  let last: Uint8Array | undefined;
  let planted = 0;
  const source = {
    read(p: Uint8Array): Promise<number | null> {
      if (last !== undefined && last.buffer === p.buffer) {
        last[0] = 10;
        planted++;
      }
      if (delivered === LENGTH) return Promise.resolve(null);
      p[0] = ++delivered === LENGTH ? 10 : 122;
      last = p;
      return Promise.resolve(1);
    },
  };
  const reader = new StreamReader(source, { limit: 1 << 20 });
  const line = await reader.readLine();
  assertEquals(line.length, LENGTH);
  assert(planted > LENGTH / 2, `only ${planted} probes landed in the live buffer`);
  assertEquals(line.filter((b) => b === 10).length, planted + 1);
});

Deno.test("a 200 KB line arriving one byte per read", async () => {
  const data = bytes("z".repeat(200_000) + "\n");
  const source = chunkedReader(data, () => 0, 1);
  const reader = new StreamReader(source, { limit: 1 << 20 });
  assertEquals((await reader.readLine()).length, data.length);
  assert(source.reads >= data.length);
});

// ----------------------------------------------------------------- sockets

Deno.test("over a loopback socket: lines, frames and bulk", async () => {
  const { client, server } = await tcpPair();
  const reader = new StreamReader(server);
  const frame = pattern(1 << 20);
  const head = new Uint8Array(4);
  new DataView(head.buffer).setUint32(0, frame.length);
  const writing = (async () => {
    for (const piece of ["GET / HTTP/1.1\r", "\nHost: x\r\n", "\r\n"]) {
      await client.write(bytes(piece));
      await sleep(1);
    }
    await client.write(head);
    let written = 0;
    while (written < frame.length) written += await client.write(frame.subarray(written));
    await client.write(bytes("tail without newline"));
    client.close();
  })();
  const lines: string[] = [];
  for await (const line of reader.lines()) {
    if (line === "") break;
    lines.push(line);
  }
  assertEquals(lines, ["GET / HTTP/1.1", "Host: x"]);
  const size = new DataView((await reader.readExactly(4)).slice().buffer).getUint32(0);
  assertEquals(await reader.readExactly(size), frame);
  assertEquals(str(await reader.readLine()), "tail without newline");
  assert(reader.atEof());
  await writing;
  server.close();
});

Deno.test("over a socket, a cancelled read keeps the bytes that arrive later", async () => {
  const { client, server } = await tcpPair();
  const reader = new StreamReader(server);
  const controller = new AbortController();
  const first = reader.readLine({ signal: controller.signal });
  controller.abort(new CancelledError("timeout"));
  await assertRejects(() => first, CancelledError, "timeout");
  await client.write(bytes("late line\n"));
  assertEquals(str(await reader.readLine()), "late line\n");
  client.close();
  assertEquals(await reader.read(), new Uint8Array());
  server.close();
});

Deno.test("over a socket, a cancelled large read keeps the bytes; bulk reads arrive whole", async () => {
  const { client, server } = await tcpPair();
  const reader = new StreamReader(server);
  const controller = new AbortController();
  const first = reader.read(65536, { signal: controller.signal });
  controller.abort(new CancelledError("deadline"));
  await assertRejects(() => first, CancelledError, "deadline");
  // The bytes the cancelled read receives stay in the reader, in order.
  await client.write(bytes("abc"));
  await sleep(5);
  await client.write(bytes("def"));
  let got = "";
  while (got.length < 6) got += str(await reader.read(65536));
  assertEquals(got, "abcdef");
  const big = new Uint8Array(100_000).map((_, i) => i);
  const writing = client.write(big).then(() => client.close());
  const received: Uint8Array<ArrayBuffer>[] = [];
  for (;;) {
    const chunk = await reader.read(65536);
    if (chunk.length === 0) break;
    received.push(chunk);
  }
  await writing;
  assertEquals(new Uint8Array(await new Blob(received).arrayBuffer()), big);
  server.close();
});

Deno.test("a large read fails with the conn's error, or ends with feedEof", async () => {
  let fail!: (e: Error) => void;
  const reader = new StreamReader({
    read: () => new Promise<number | null>((_, reject) => (fail = reject)),
  });
  const pending = reader.read(65536);
  fail(new Deno.errors.ConnectionReset("reset"));
  await assertRejects(() => pending, Deno.errors.ConnectionReset);

  let finish!: (n: number | null) => void;
  const ended = new StreamReader({
    read: () => new Promise<number | null>((resolve) => (finish = resolve)),
  });
  const waiting = ended.read(65536);
  ended.feedEof();
  assertEquals(await waiting, new Uint8Array());
  finish(null);
});

Deno.test("over a socket, cancelling the reading task keeps the bytes", async () => {
  const { client, server } = await tcpPair();
  const reader = new StreamReader(server);
  await client.write(bytes("4"));
  const task = createTask(() => reader.readExactly(4));
  await sleep(5);
  task.cancel();
  await assertRejects(() => Promise.resolve(task), CancelledError);
  await client.write(bytes("567"));
  assertEquals(str(await reader.readExactly(4)), "4567");
  client.close();
  server.close();
});

Deno.test("a read error of a conn (connection reset) surfaces through exception()", async () => {
  // Deno reports a reset on a loopback socket as EOF, so a conn stands in.
  let calls = 0;
  const conn = {
    read(p: Uint8Array): Promise<number | null> {
      if (calls++ === 0) {
        p.set(bytes("partial"));
        return Promise.resolve(7);
      }
      return Promise.reject(new Deno.errors.ConnectionReset("Connection reset by peer"));
    },
  };
  const reader = new StreamReader(conn);
  const e = await assertRejects(() => reader.readLine(), Deno.errors.ConnectionReset);
  assertStrictEquals(reader.exception(), e);
  await assertRejects(() => reader.read(), Deno.errors.ConnectionReset);
  assertEquals(calls, 2);
});

Deno.test("over a socket, closing the conn locally ends the stream like EOF", async () => {
  const { client, server } = await tcpPair();
  const reader = new StreamReader(server);
  await client.write(bytes("no newline yet"));
  assertEquals(str(await reader.read(3)), "no "); // the rest is buffered
  const pending = reader.readLine();
  server.close();
  assertEquals(str(await pending), "newline yet");
  assert(reader.atEof());
  assertEquals(reader.exception(), undefined);
  client.close();
});

Deno.test("replaceReaderSource swaps the conn and keeps buffered bytes", async () => {
  const first = await tcpPair();
  const second = await tcpPair();
  const reader = new StreamReader(first.server);
  await first.client.write(bytes("220 ready\r\nbuffered "));
  assertEquals(str(await reader.readUntil("\r\n")), "220 ready\r\n");
  const pending = reader.readLine();
  // A read from the old conn is in flight: swapping now is refused.
  assertThrows(
    () => replaceReaderSource(reader, second.server),
    InvalidStateError,
    "while a read from it is in flight",
  );
  await first.client.write(bytes("bytes\n"));
  assertEquals(str(await pending), "buffered bytes\n");
  await first.client.write(bytes("kept "));
  assertEquals(str(await reader.read(5)), "kept ");
  await first.client.write(bytes("old "));
  await sleep(5);
  // Read the buffered "old " into the buffer, then swap before it is consumed.
  const peek = await reader.read(1);
  assertEquals(str(peek), "o");
  replaceReaderSource(reader, second.server);
  await second.client.write(bytes("new\n"));
  assertEquals(str(await reader.readLine()), "ld new\n");
  for (const { client, server } of [first, second]) {
    client.close();
    server.close();
  }
});

Deno.test("StreamReader: transferring a returned chunk's buffer loses none of the reader's bytes", async () => {
  // A conn-like source that hands out a counting byte pattern, at most `step`
  // bytes a read, so reads drain the buffer, fill part of it, or leave bytes.
  const total = 200_000;
  const steps = [700, 5000, 64 * 1024, 3, 20_000];
  let sent = 0;
  let call = 0;
  const source = {
    read(p: Uint8Array): Promise<number | null> {
      if (sent === total) return Promise.resolve(null);
      const n = Math.min(p.length, steps[call++ % steps.length], total - sent);
      for (let i = 0; i < n; i++) p[i] = (sent + i) & 0xff;
      sent += n;
      return Promise.resolve(n);
    },
  };
  const reader = new StreamReader(source);
  const sizes = [100_000, 10, 4096, 70_000, 1];
  let got = 0;
  for (let k = 0; got < total; k++) {
    const size = sizes[k % sizes.length];
    const chunk = k % 2 === 0 ? await reader.read(size) : await reader.readExactly(
      Math.min(size, total - got),
    );
    for (let i = 0; i < chunk.length; i++) {
      if (chunk[i] !== ((got + i) & 0xff)) {
        throw new Error(`byte ${got + i} is ${chunk[i]} after ${k} transfers`);
      }
    }
    got += chunk.length;
    // Taking the chunk's memory away must not take the reader's with it.
    chunk.slice().buffer.transfer();
    chunk.buffer.transfer();
  }
  assertEquals(got, total);
  assertEquals(await reader.read(), new Uint8Array(0));
});

Deno.test("StreamReader: a chunk read whole from a conn holds about its own size, not a power of two above it", async () => {
  // A source that brings 64 KiB messages, one a read, like an echo client.
  const message = 64 * 1024;
  let sent = 0;
  const source = {
    read(p: Uint8Array): Promise<number | null> {
      if (sent === 40) return Promise.resolve(null);
      const n = Math.min(p.length, message);
      p.fill(sent & 0xff, 0, n);
      if (n === message) sent++;
      return Promise.resolve(n);
    },
  };
  const reader = new StreamReader(source);
  const held: number[] = [];
  for (;;) {
    const chunk = await reader.read(102400);
    if (chunk.length === 0) break;
    if (chunk.length === message) held.push(chunk.buffer.byteLength);
  }
  assertEquals(held.length, 40);
  // Once the read size has grown past the message, each buffer fits it with
  // an eighth to spare, rounded up to 512 bytes.
  const settled = held.slice(-10);
  assertEquals(settled, Array(10).fill(message + message / 8 + 512));
});

Deno.test("StreamReader: small chunks read from a conn share a few blocks, not an ArrayBuffer each", async () => {
  // A source that brings 1 KiB messages, one a read, like a ping-pong client.
  const message = 1024;
  const messages = 40;
  let sent = 0;
  const rooms = new Set<ArrayBufferLike>();
  const source = {
    read(p: Uint8Array): Promise<number | null> {
      if (sent === messages * message) return Promise.resolve(null);
      rooms.add(p.buffer);
      const n = Math.min(p.length, message - (sent % message));
      for (let i = 0; i < n; i++) p[i] = (sent + i) & 0xff;
      sent += n;
      return Promise.resolve(n);
    },
  };
  const reader = new StreamReader(source);
  const chunks: Uint8Array[] = [];
  for (;;) {
    const chunk = await reader.read(102400);
    if (chunk.length === 0) break;
    chunks.push(chunk);
  }
  // Every byte arrived, in order, and stays as it was read.
  let at = 0;
  for (const chunk of chunks) {
    for (let i = 0; i < chunk.length; i++) assertEquals(chunk[i], (at + i) & 0xff);
    at += chunk.length;
  }
  assertEquals(at, messages * message);
  // Once the read size has settled the reader reads into the same buffer:
  // a handful of buffers in all, not one a message.
  assertLessOrEqual(rooms.size, 4);
  // The chunks are copied out four to a block once the reader has seen that
  // small chunks keep coming.
  const blocks = new Set(chunks.map((chunk) => chunk.buffer));
  assertLessOrEqual(blocks.size, Math.ceil(chunks.length / 4) + 2);
  // No chunk shares its memory with a buffer the reader reads into.
  for (const block of blocks) assertFalse(rooms.has(block));
});

Deno.test("StreamReader: a line search in a small buffer ignores old bytes past the unread ones", async () => {
  const reader = new StreamReader();
  reader.feedData(bytes("abcdefgh\n"));
  assertEquals(str(await reader.readLine()), "abcdefgh\n");
  // The buffer starts over: its old "\n" now lies past the unread "de".
  reader.feedData(bytes("de"));
  const line = reader.readLine();
  let settled = false;
  line.then(() => settled = true);
  await Promise.resolve();
  await Promise.resolve();
  assertFalse(settled);
  reader.feedData(bytes("f\n"));
  assertEquals(str(await line), "def\n");
});
