/**
 * Chunking invariance of `StreamReader`, property-based (fast-check): how a
 * byte stream is cut into chunks, and where the reader's source pauses
 * between them, never changes what the reads return or how they fail.
 *
 * Every property runs with a fixed seed, so a failure is reproducible: the
 * failure message names the seed and the shrunk counterexample. Set
 * `AIO_PROPERTY_SEED` to explore other seeds and `AIO_PROPERTY_RUNS` (a
 * percentage of the default counts) to run more cases.
 *
 * @module
 */

import { assert, assertEquals, assertInstanceOf } from "@std/assert";
import fc from "fast-check";
import {
  IncompleteReadError,
  LimitOverrunError,
  type Separator,
  StreamReader,
  type StreamReaderSource,
} from "../mod.ts";
import { concat } from "./_bytes.ts";
import { checkProperty } from "./_property.ts";

const encoder = new TextEncoder();

/** Cases per property and source. */
const RUNS = 1000;

/** Runs one property on `RUNS` cases with the fixed seed. */
async function check<Ts extends [unknown, ...unknown[]]>(
  name: string,
  property: fc.IAsyncPropertyWithHooks<Ts>,
): Promise<void> {
  await checkProperty(name, RUNS, property, { endOnFailure: false });
}

// ------------------------------------------------------------- arbitraries

/** Pieces a stream is made of, biased toward line ends, separators and UTF-8. */
const piece: fc.Arbitrary<Uint8Array> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.constantFrom("\n", "\r\n", "\r", "\n\n").map((s) => encoder.encode(s)),
  },
  {
    weight: 4,
    arbitrary: fc.constantFrom("a", "xyz", "--", "é", "€", "😀", "日本", "\uFEFF").map((s) =>
      encoder.encode(s)
    ),
  },
  {
    weight: 2,
    arbitrary: fc.string({ unit: "binary", maxLength: 4 }).map((s) => encoder.encode(s)),
  },
  // Raw bytes: invalid UTF-8, truncated sequences, NUL.
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 4 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(0xff, 0xc3, 0xe2, 0xf0, 0x00).map((b) => Uint8Array.of(b)),
  },
);

const streamBytes: fc.Arbitrary<Uint8Array> = fc.array(piece, { maxLength: 80, size: "max" }).map(
  concat,
);

/** Chunk lengths, 0 (an empty chunk) and 1 included; the last chunk takes the rest. */
const cuts: fc.Arbitrary<number[]> = fc.array(
  fc.oneof(
    fc.constant(0),
    fc.constant(1),
    fc.integer({ min: 0, max: 6 }),
    fc.integer({ min: 1, max: 64 }),
  ),
  { maxLength: 80, size: "max" },
);

const limits: fc.Arbitrary<number> = fc.constantFrom(1, 2, 3, 4, 7, 16, 64 * 1024);

const separators: fc.Arbitrary<Separator> = fc.constantFrom<Separator>(
  "\n",
  "\r\n",
  "--",
  "é",
  "\r\n\r\n",
  Uint8Array.of(0xf0, 0x9f),
  ["\r\n", "\n"],
  ["--", "\n\n", "é"],
  [Uint8Array.of(0), "\r"],
);

type Op =
  | { kind: "read"; n: number }
  | { kind: "readLine" }
  | { kind: "readUntil"; separator: Separator }
  | { kind: "readExactly"; n: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("read" as const), n: fc.integer({ min: -1, max: 12 }) }),
  fc.record({ kind: fc.constant("readLine" as const) }),
  fc.record({ kind: fc.constant("readUntil" as const), separator: separators }),
  fc.record({ kind: fc.constant("readExactly" as const), n: fc.integer({ min: 0, max: 12 }) }),
);

/** How a source delivers chunks. */
type SourceKind = "fed" | "default stream" | "byte stream" | "read(p)";
const SOURCE_KINDS: SourceKind[] = ["fed", "default stream", "byte stream", "read(p)"];

// ----------------------------------------------------------------- helpers

/** Cuts `data` at the given lengths; the rest, if any, is the last chunk. */
function split(data: Uint8Array, lengths: number[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let at = 0;
  for (const n of lengths) {
    if (at === data.length && chunks.length > 0) break;
    const end = Math.min(data.length, at + n);
    chunks.push(data.slice(at, end));
    at = end;
  }
  if (at < data.length) chunks.push(data.slice(at));
  return chunks;
}

/** Lets pending reads run: a few microtask turns (any count is a valid interleaving). */
async function flush(): Promise<void> {
  for (let i = 0; i < 6; i++) await Promise.resolve();
}

/** A reader over `chunks` delivered the way `kind` says, and how to feed it (by hand only). */
function makeReader(
  kind: SourceKind,
  chunks: Uint8Array[],
  limit: number,
): { reader: StreamReader; feed: () => boolean } {
  let i = 0;
  if (kind === "fed") {
    const reader = new StreamReader(undefined, { limit });
    let ended = false;
    return {
      reader,
      feed: () => {
        if (i < chunks.length) reader.feedData(chunks[i++]);
        else if (!ended) {
          ended = true;
          reader.feedEof();
        } else return false;
        return true;
      },
    };
  }
  let source: StreamReaderSource;
  if (kind === "default stream") {
    source = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (i < chunks.length) controller.enqueue(chunks[i++]);
        else controller.close();
      },
    });
  } else if (kind === "byte stream") {
    // A byte stream cannot carry an empty chunk.
    const nonEmpty = chunks.filter((c) => c.length > 0);
    source = new ReadableStream({
      type: "bytes",
      pull(controller) {
        if (i < nonEmpty.length) controller.enqueue(nonEmpty[i++].slice());
        else {
          controller.close();
          controller.byobRequest?.respond(0);
        }
      },
    });
  } else {
    let rest: Uint8Array | undefined;
    source = {
      read(p: Uint8Array): Promise<number | null> {
        // Hands out each chunk (an empty one as a 0-byte read), cut further
        // to the room the reader offers.
        if (rest === undefined || rest.length === 0) {
          if (i >= chunks.length) return Promise.resolve(null);
          rest = chunks[i++];
        }
        const n = Math.min(p.length, rest.length);
        p.set(rest.subarray(0, n));
        rest = rest.subarray(n);
        return Promise.resolve(n);
      },
    };
  }
  return { reader: new StreamReader(source, { limit }), feed: () => false };
}

/** What a read gave: its bytes, or its error with the fields that matter. */
type Outcome =
  | { ok: number[] }
  | { error: string; partial?: number[]; expected?: number | null; consumed?: number };

function describeError(e: unknown): Outcome {
  if (e instanceof IncompleteReadError) {
    return { error: e.name, partial: [...e.partial], expected: e.expected };
  }
  if (e instanceof LimitOverrunError) return { error: e.name, consumed: e.consumed };
  if (e instanceof Error) return { error: `${e.name}: ${e.message}` };
  return { error: String(e) };
}

/**
 * Settles `start()` while feeding the reader chunk by chunk (by-hand
 * sources) until it does. A read that never settles once the source is
 * exhausted is a hang, reported as such.
 */
async function settle(
  start: () => Promise<Uint8Array>,
  feed: () => boolean,
): Promise<Outcome> {
  let outcome: Outcome | undefined;
  const pending = start().then(
    (bytes) => void (outcome = { ok: [...bytes] }),
    (e) => void (outcome = describeError(e)),
  );
  await flush();
  while (outcome === undefined && feed()) await flush();
  // Stream sources: their reads resolve on their own.
  for (let i = 0; outcome === undefined && i < 1000; i++) await flush();
  if (outcome === undefined) throw new Error("a read hung after the stream ended");
  await pending;
  return outcome;
}

function run(reader: StreamReader, o: Op): Promise<Uint8Array> {
  switch (o.kind) {
    case "read":
      return reader.read(o.n);
    case "readLine":
      return reader.readLine();
    case "readUntil":
      return reader.readUntil(o.separator);
    case "readExactly":
      return reader.readExactly(o.n);
  }
}

/** The ops on the whole stream, buffered at once: the reference. */
async function reference(data: Uint8Array, ops: Op[], limit: number): Promise<Outcome[]> {
  const reader = new StreamReader(undefined, { limit });
  reader.feedData(data);
  reader.feedEof();
  const outcomes: Outcome[] = [];
  for (const o of ops) outcomes.push(await settle(() => run(reader, o), () => false));
  outcomes.push(await settle(() => reader.read(), () => false));
  return outcomes;
}

/**
 * Compares one op on the chunked stream with the reference. `read(n)`
 * returns what one chunk gave (asyncio's contract), so it is read again
 * until it has the reference's bytes; each piece must be non-empty.
 * Returns `false` when the comparison must stop: after a `readLine` over
 * the limit, asyncio drops what happened to be buffered, which depends on
 * the chunking by definition.
 */
async function compareOp(
  reader: StreamReader,
  feed: () => boolean,
  o: Op,
  expected: Outcome,
  limit: number,
): Promise<boolean> {
  if (o.kind === "read" && o.n > 0 && "ok" in expected) {
    const got: number[] = [];
    while (got.length < expected.ok.length) {
      const piece = await settle(() => reader.read(o.n - got.length), feed);
      assert("ok" in piece, `read(${o.n}) failed: ${JSON.stringify(piece)}`);
      assert(piece.ok.length > 0, `read(${o.n}) returned nothing before the end`);
      got.push(...piece.ok);
    }
    assertEquals(got, expected.ok, `read(${o.n}) reassembled`);
    return true;
  }
  const actual = await settle(() => run(reader, o), feed);
  if ("error" in expected && expected.error === "LimitOverrunError") {
    assert("error" in actual, `${o.kind} should overrun the limit: got ${JSON.stringify(actual)}`);
    assertEquals(actual.error, "LimitOverrunError", `${o.kind} error class`);
    // asyncio's `consumed` is how far the reader looked: the separator's
    // index when it found one past the limit, else what was buffered. Less
    // buffered means a smaller value, never more than the whole stream's.
    assert(
      actual.consumed! > limit && actual.consumed! <= expected.consumed!,
      `consumed ${actual.consumed} out of (${limit}, ${expected.consumed}]`,
    );
    return o.kind !== "readLine";
  }
  assertEquals(actual, expected, `${o.kind} on the chunked stream`);
  return true;
}

const opsProperty = (kind: SourceKind) =>
  fc.asyncProperty(
    streamBytes,
    cuts,
    fc.array(op, { minLength: 1, maxLength: 12 }),
    limits,
    async (data, lengths, ops, limit) => {
      const expected = await reference(data, ops, limit);
      const { reader, feed } = makeReader(kind, split(data, lengths), limit);
      for (let i = 0; i < ops.length; i++) {
        if (!await compareOp(reader, feed, ops[i], expected[i], limit)) return;
      }
      assertEquals(await settle(() => reader.read(), feed), expected[ops.length], "the rest");
      assert(reader.atEof());
    },
  );

for (const kind of SOURCE_KINDS) {
  Deno.test(`reads on any chunking of a stream (${kind}) match the unsplit stream`, async () => {
    await check(`ops, ${kind}`, opsProperty(kind));
  });
}

// -------------------------------------------------------------- lines()

/**
 * `lines()` by hand: the whole stream decoded at once, then split; `raw`
 * holds the lines as bytes with their terminators (the `for await` form).
 */
function referenceLines(
  data: Uint8Array,
  limit: number,
): { lines: string[]; raw: number[][]; overrun: boolean } {
  const lines: string[] = [];
  const raw: number[][] = [];
  // Line boundaries are the bytes 0x0a, never inside a multi-byte sequence,
  // so splitting the decoded text at "\n" splits it at the same places. The
  // decoder drops a byte-order mark at the very start only.
  const texts = new TextDecoder().decode(data).split("\n");
  for (let start = 0, k = 0; start < data.length; k++) {
    const nl = data.indexOf(0x0a, start);
    const end = nl < 0 ? data.length : nl;
    if (end - start > limit) return { lines, raw, overrun: true };
    const line = texts[k];
    lines.push(nl >= 0 && line.endsWith("\r") ? line.slice(0, -1) : line);
    raw.push([...data.subarray(start, nl < 0 ? end : nl + 1)]);
    start = end + 1;
  }
  return { lines, raw, overrun: false };
}

const linesProperty = (kind: SourceKind, asBytes: boolean) =>
  fc.asyncProperty(streamBytes, cuts, limits, async (data, lengths, limit) => {
    const expected = referenceLines(data, limit);
    const { reader, feed } = makeReader(kind, split(data, lengths), limit);
    const lines: (string | number[])[] = [];
    let overrun = false;
    const iterator: AsyncIterator<string | Uint8Array> = asBytes
      ? reader[Symbol.asyncIterator]()
      : reader.lines();
    for (;;) {
      let step: IteratorResult<string | Uint8Array> | undefined;
      let error: unknown;
      const pending = iterator.next().then((s) => void (step = s), (e) => void (error = e ?? "?"));
      await flush();
      while (step === undefined && error === undefined && feed()) await flush();
      for (let i = 0; step === undefined && error === undefined && i < 1000; i++) await flush();
      await pending;
      if (error !== undefined) {
        assertInstanceOf(error, LimitOverrunError);
        overrun = true;
        break;
      }
      assert(step !== undefined, "the line iterator hung after the stream ended");
      if (step.done) break;
      lines.push(typeof step.value === "string" ? step.value : [...step.value]);
    }
    assertEquals(
      { lines, overrun },
      { lines: asBytes ? expected.raw : expected.lines, overrun: expected.overrun },
    );
  });

for (const kind of SOURCE_KINDS) {
  Deno.test(`lines() on any chunking (${kind}) decodes like the whole stream`, async () => {
    await check(`lines(), ${kind}`, linesProperty(kind, false));
  });
}

Deno.test("for await on any chunking yields the lines of the whole stream", async () => {
  await check("for await, fed", linesProperty("fed", true));
});
