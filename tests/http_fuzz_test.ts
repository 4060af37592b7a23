/**
 * Bad input for the examples' HTTP/1.1 response parser (examples/http/:
 * `readResponseHead`, `framingOf`, `BodyReader`, the calls `HttpClient`
 * makes), fuzzed with fast-check. Responses come from a grammar, then are
 * mutated: malformed status lines, bad chunk sizes, header bombs, control
 * characters, conflicting lengths, cut at every byte, or random bytes. They
 * go through a `StreamReader` fed by hand, one reading a `Reader` in random
 * chunks, one reading a `ReadableStream`, and (a subset) a real loopback
 * server and `HttpClient`.
 *
 * The properties: the parser returns a well-formed response whose body
 * length is the declared one, or throws an `HttpProtocolError` (or one of
 * its subclasses) naming the URL, never another error; every case ends
 * within a bound (a per-case timeout, counted); the bytes it pulls from an
 * endless source stay within the head limit plus one read, and what stays
 * live after a full garbage collection grows by a bounded amount over the
 * whole run.
 *
 * Every property runs with a fixed seed (printed, with the case count);
 * `AIO_PROPERTY_SEED` and `AIO_PROPERTY_RUNS` (a multiplier in percent of
 * the default counts, e.g. 1000 for ten times as many) explore further.
 *
 * @module
 */

import { assert, assertEquals, AssertionError, assertLessOrEqual } from "@std/assert";
import fc from "fast-check";
import { StreamReader } from "../mod.ts";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { BodyReader } from "../examples/http/body.ts";
import {
  HeadTooLargeError,
  HttpClient,
  HttpProtocolError,
  IncompleteBodyError,
  RemoteDisconnectedError,
} from "../examples/http/mod.ts";
import {
  fieldValue,
  type Framing,
  framingOf,
  type HeadLimits,
  readResponseHead,
  type ResponseHead,
} from "../examples/http/head.ts";
import { RawServer } from "./fixtures/http_servers.ts";
import { concat } from "./_bytes.ts";
import { checkProperty, runs, SEED } from "./_property.ts";

/** A case that has not settled after this long is counted as a hang. */
const CASE_TIMEOUT_MS = 5_000;
/** Bytes one `read(p)` of a synthetic source returns at most, as a socket would. */
const SOCKET_READ = 16 * 1024;

const URL_ = "http://fuzz.test/resource";
/** The client's default limits. */
const LIMITS: HeadLimits = { maxHeadSize: 64 * 1024, maxFields: 100 };

/** A full garbage collection, for measuring what stays live. */
const collectGarbage: () => void = (() => {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc");
})();

/** Live memory (V8 heap and array buffers) after a full collection, in bytes. */
function liveHeap(): number {
  collectGarbage();
  const { heapUsed, external } = Deno.memoryUsage();
  return heapUsed + external;
}

const heapAtStart = liveHeap();

function latin1(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

// ---------------------------------------------------------------- harness

/** What the parser made of one input. */
interface Parsed {
  head: ResponseHead;
  framing: Framing;
  keepAlive: boolean;
  body: Uint8Array;
  trailers: [string, string][];
  /** Bytes left in the reader after the body (`null` when not read). */
  leftover: Uint8Array | null;
}

type Outcome =
  | { ok: true; parsed: Parsed; error?: undefined }
  | { ok: false; parsed?: undefined; error: unknown };

/** How the body is read: `rest()` at once, or `next()` part by part (both client paths). */
type BodyMode = "rest" | "parts";

/**
 * The client's sequence of calls on one connection's reader: the final
 * head, its framing for a GET, then the body.
 */
async function parseResponse(
  reader: StreamReader,
  options: {
    url?: string;
    limits?: HeadLimits;
    mode?: BodyMode;
    signal?: AbortSignal;
    leftover?: boolean;
  } = {},
): Promise<Parsed> {
  const url = options.url ?? URL_;
  const limits = options.limits ?? LIMITS;
  const signal = options.signal;
  const head = await readResponseHead(reader, url, limits, { signal });
  const { framing, keepAlive } = framingOf("GET", head, url);
  const body = new BodyReader(reader, framing, url, limits);
  let bytes: Uint8Array;
  if (options.mode === "parts") {
    const parts: Uint8Array[] = [];
    for (
      let part = await body.next({ signal });
      part !== null;
      part = await body.next({ signal })
    ) {
      assert(part.length > 0, "next() never returns an empty part");
      parts.push(part);
    }
    bytes = concat(parts);
  } else {
    bytes = await body.rest({ signal });
  }
  assertEquals(body.received, bytes.length, "received counts the body bytes");
  assert(body.done);
  const leftover = options.leftover === false ? null : await reader.read(-1, { signal });
  return { head, framing, keepAlive, body: bytes, trailers: [...body.trailers], leftover };
}

/** A reader holding `bytes` and the end of the stream, fed by hand. */
function fedReader(bytes: Uint8Array, limit = LIMITS.maxHeadSize): StreamReader {
  const reader = new StreamReader(undefined, { limit });
  if (bytes.length > 0) reader.feedData(bytes);
  reader.feedEof();
  return reader;
}

/** `bytes` cut at `cuts` (positions, any order, repeats make empty chunks). */
function split(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const at = cuts.map((c) => c % (bytes.length + 1)).sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const c of [...at, bytes.length]) {
    chunks.push(bytes.slice(from, c));
    from = c;
  }
  return chunks;
}

/** A `Reader` (the `read(p)` of a socket) handing out `chunks`, one at most per read. */
function chunkReader(chunks: Uint8Array[]): { read(p: Uint8Array): Promise<number | null> } {
  let i = 0;
  let offset = 0;
  return {
    read(p: Uint8Array): Promise<number | null> {
      if (i === chunks.length) return Promise.resolve(null);
      const chunk = chunks[i];
      const n = Math.min(p.length, chunk.length - offset);
      p.set(chunk.subarray(offset, offset + n));
      offset += n;
      if (offset === chunk.length) [i, offset] = [i + 1, 0];
      return Promise.resolve(n);
    },
  };
}

/** The three kinds of source, for the same bytes. */
type SourceKind = "fed" | "reader" | "stream";

function readerFor(bytes: Uint8Array, kind: SourceKind, cuts: readonly number[]): StreamReader {
  const limit = LIMITS.maxHeadSize;
  if (kind === "fed") return fedReader(bytes, limit);
  const chunks = split(bytes, cuts);
  if (kind === "reader") return new StreamReader(chunkReader(chunks), { limit });
  return new StreamReader(ReadableStream.from(chunks), { limit });
}

/** Statistics of one property, printed at its end. */
class Tally {
  cases = 0;
  responses = 0;
  hangs = 0;
  slowestMs = 0;
  readonly errors = new Map<string, number>();

  constructor(readonly name: string) {}

  count(outcome: Outcome): void {
    this.cases++;
    if (outcome.ok) this.responses++;
    else {
      const name = (outcome.error as Error)?.name ?? String(outcome.error);
      this.errors.set(name, (this.errors.get(name) ?? 0) + 1);
    }
  }

  report(extra = "", inputs = this.cases): void {
    const errors = [...this.errors].sort().map(([k, v]) => `${k} ${v}`).join(", ");
    console.log(
      `${this.name}: ${inputs} inputs, ${this.cases} parses (seed ${SEED}), ` +
        `${this.responses} responses, ` +
        `errors: ${errors || "none"}; hangs ${this.hangs}, slowest case ${
          this.slowestMs.toFixed(0)
        } ms${extra}`,
    );
  }
}

/**
 * Runs one case with a timeout: `stop` is called when it passes (to end
 * the source), and the case counts as a hang.
 */
async function bounded(
  tally: Tally,
  run: (signal: AbortSignal) => Promise<Parsed>,
  stop?: () => void,
): Promise<Outcome> {
  const started = performance.now();
  const timeout = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<"hang">((resolve) => {
    timer = setTimeout(() => {
      stop?.();
      timeout.abort(new Error("hang"));
      resolve("hang");
    }, CASE_TIMEOUT_MS);
  });
  let outcome: Outcome;
  try {
    const settled = run(timeout.signal).then(
      (parsed): Outcome => ({ ok: true, parsed }),
      (error): Outcome => ({ ok: false, error }),
    );
    const result = await Promise.race([settled, hang]);
    if (result === "hang") {
      tally.hangs++;
      await settled;
      throw new AssertionError(`a case did not settle within ${CASE_TIMEOUT_MS} ms`);
    }
    outcome = result;
  } finally {
    clearTimeout(timer);
  }
  tally.slowestMs = Math.max(tally.slowestMs, performance.now() - started);
  // A case that blocked the thread (no await to time out at) is a hang too.
  if (performance.now() - started > CASE_TIMEOUT_MS) {
    tally.hangs++;
    throw new AssertionError(`a case took ${(performance.now() - started).toFixed(0)} ms`);
  }
  tally.count(outcome);
  return outcome;
}

// deno-lint-ignore no-control-regex -- control characters are what these find
const CTL = /[\x00-\x08\x0a-\x1f\x7f]/;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** The error is one of the typed errors of examples/http/errors.ts, naming the URL. */
function assertTyped(error: unknown, url = URL_): asserts error is HttpProtocolError {
  if (!(error instanceof HttpProtocolError)) {
    throw new AssertionError(
      `expected a typed HttpProtocolError, got ${
        error instanceof Error ? `${error.name}: ${error.message}\n${error.stack}` : String(error)
      }`,
    );
  }
  assertEquals(error.url, url);
  assert(error.message.includes(url), `the message names the URL: ${error.message}`);
}

/** The Content-Length values, all equal, as RFC 9110 §8.6 allows; `null` otherwise. */
function declaredLength(fields: readonly [string, string][]): number | null {
  const cl = fieldValue(fields, "content-length");
  if (cl === null) return null;
  const values = new Set(cl.split(",").map((v) => v.trim()));
  if (values.size !== 1) return null;
  const [only] = values;
  return /^\d+$/.test(only) && Number.isSafeInteger(Number(only)) ? Number(only) : null;
}

/** A response the parser returned is well-formed, its body as long as declared. */
function assertWellFormed(parsed: Parsed, input: Uint8Array | null): void {
  const { head, framing, body } = parsed;
  assert(head.version === "1.0" || head.version === "1.1", `version ${head.version}`);
  assert(
    Number.isInteger(head.status) && head.status >= 200 && head.status <= 999,
    `a final status is 200 to 999: ${head.status}`,
  );
  assert(!CTL.test(head.statusText), `no control character in ${JSON.stringify(head.statusText)}`);
  for (const [name, value] of [...head.fields, ...parsed.trailers]) {
    assert(TOKEN.test(name) && name === name.toLowerCase(), `field name ${JSON.stringify(name)}`);
    assert(!CTL.test(value), `no control character in the value ${JSON.stringify(value)}`);
    assertEquals(value, value.replace(/^[ \t]+|[ \t]+$/g, ""), "values are trimmed of OWS only");
  }
  new Headers(head.fields); // a TypeError here would be a malformed field let through
  new Headers(parsed.trailers);
  switch (framing.kind) {
    case "length":
      assertEquals(body.length, framing.length, "the body is as long as Content-Length says");
      assertEquals(framing.length, declaredLength(head.fields));
      if (input !== null && parsed.leftover !== null) {
        const end = input.length - parsed.leftover.length;
        assertEquals(body, input.subarray(end - body.length, end), "the declared bytes");
      }
      break;
    case "none":
      assertEquals(body.length, 0);
      break;
    case "eof":
      if (parsed.leftover !== null) assertEquals(parsed.leftover.length, 0, "read until the end");
      if (input !== null) assertEquals(body, input.subarray(input.length - body.length));
      break;
    case "chunked": {
      const codings = fieldValue(head.fields, "transfer-encoding")!.split(",")
        .map((c) => c.trim().toLowerCase()).filter((c) => c !== "");
      assertEquals(codings.at(-1), "chunked", "chunked is the last transfer coding");
      break;
    }
  }
}

/** Typed error or well-formed response. */
function assertSound(outcome: Outcome, input: Uint8Array | null, url = URL_): void {
  if (!outcome.ok) assertTyped(outcome.error, url);
  else assertWellFormed(outcome.parsed, input);
}

/** What must agree between sources and body modes: the response, or the error's type and text. */
function summary(outcome: Outcome): unknown {
  if (!outcome.ok) {
    const e = outcome.error as Error;
    return { error: e?.name, message: e?.message };
  }
  const { leftover: _, ...rest } = outcome.parsed;
  return rest;
}

/**
 * Parses `input` from the three sources and both body modes, checks every
 * outcome is sound and that all agree, and returns the hand-fed one.
 */
async function parseEveryWay(
  tally: Tally,
  input: Uint8Array,
  cuts: readonly number[],
): Promise<Outcome> {
  const first = await bounded(tally, (signal) => parseResponse(fedReader(input), { signal }));
  assertSound(first, input);
  for (const kind of ["fed", "reader", "stream"] as const) {
    for (const mode of ["rest", "parts"] as const) {
      if (kind === "fed" && mode === "rest") continue;
      const other = await bounded(
        tally,
        (signal) => parseResponse(readerFor(input, kind, cuts), { mode, signal }),
      );
      assertSound(other, input);
      assertEquals(summary(other), summary(first), `${kind} source, ${mode} mode`);
    }
  }
  return first;
}

async function check<Ts extends [unknown, ...unknown[]]>(
  tally: Tally,
  numRuns: number,
  property: fc.IAsyncPropertyWithHooks<Ts>,
): Promise<void> {
  tally.report("", await checkProperty(tally.name, numRuns, property));
  assertEquals(tally.hangs, 0);
}

// ---------------------------------------------------------------- grammar

const TCHAR = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/** A token (field name). */
const token = fc.string({ unit: fc.constantFrom(...TCHAR), minLength: 1, maxLength: 12 });

/** Visible ASCII and obs-text (0x80-0xFF, NBSP included): what a field value may hold. */
const vchar = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0x21, max: 0x7e }) },
  { weight: 1, arbitrary: fc.integer({ min: 0x80, max: 0xff }) },
).map((c) => String.fromCharCode(c));

/** A field value: no control characters, no leading or trailing SP/HTAB. */
const fieldText = fc.array(
  fc.oneof({ weight: 6, arbitrary: vchar }, { weight: 1, arbitrary: fc.constantFrom(" ", "\t") }),
  { maxLength: 30 },
).map((cs) => cs.join("").replace(/^[ \t]+|[ \t]+$/g, ""));

interface FieldModel {
  name: string;
  /** The value as lines: more than one is an obsolete line folding. */
  parts: string[];
}

const fieldModel: fc.Arbitrary<FieldModel> = fc.record({
  name: token.map((t) => `x-${t}`),
  parts: fc.oneof(
    { weight: 5, arbitrary: fieldText.map((v) => [v]) },
    {
      weight: 1,
      arbitrary: fc.array(fieldText.filter((v) => v !== ""), { minLength: 2, maxLength: 4 }),
    },
  ),
});

type BodyModel =
  | { kind: "length"; caseOf: string }
  | {
    kind: "chunked";
    sizes: number[];
    exts: string[];
    zeros: number[];
    upper: boolean;
    trailers: FieldModel[];
  }
  | { kind: "eof" };

interface ResponseModel {
  version: "1.0" | "1.1";
  status: number;
  reason: string;
  fields: FieldModel[];
  connection: "" | "close" | "keep-alive";
  interim: string[];
  body: Uint8Array;
  framing: BodyModel;
  eol: "\r\n" | "\n";
}

const chunkExt = fc.constantFrom("", ";a", ";a=b", ';name="quoted;value"', " ;x=1", ";a=b;c=d");

const bodyModel: fc.Arbitrary<BodyModel> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom("Content-Length", "content-length", "CONTENT-LENGTH").map((
      caseOf,
    ) => ({ kind: "length" as const, caseOf })),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("chunked" as const),
      sizes: fc.array(fc.integer({ min: 1, max: 300 }), { maxLength: 6 }),
      exts: fc.array(chunkExt, { minLength: 7, maxLength: 7 }),
      zeros: fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 7, maxLength: 7 }),
      upper: fc.boolean(),
      trailers: fc.array(fieldModel, { maxLength: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "eof" as const }) },
);

const responseModel: fc.Arbitrary<ResponseModel> = fc.record({
  version: fc.constantFrom("1.0" as const, "1.1" as const),
  status: fc.integer({ min: 200, max: 999 }).filter((s) => s !== 204 && s !== 304),
  reason: fc.oneof(
    fc.constantFrom("OK", "Not Found", ""),
    fc.array(fc.oneof(vchar, fc.constant(" "), fc.constant("\t")), { maxLength: 20 }).map((cs) =>
      cs.join("")
    ),
  ),
  fields: fc.array(fieldModel, { maxLength: 8 }),
  connection: fc.constantFrom("" as const, "close" as const, "keep-alive" as const),
  interim: fc.array(
    fc.constantFrom("HTTP/1.1 100 Continue", "HTTP/1.1 103 Early Hints\r\nlink: </a>"),
    { maxLength: 2 },
  ),
  body: fc.uint8Array({ maxLength: 600 }),
  framing: bodyModel,
  eol: fc.constantFrom("\r\n" as const, "\n" as const),
});

function fieldLines(fields: readonly FieldModel[], eol: string): string {
  return fields.map((f) => `${f.name}: ${f.parts.join(`${eol} `)}${eol}`).join("");
}

/** The response as bytes, the body cut into its model's chunks. */
function serialize(m: ResponseModel): Uint8Array {
  const eol = m.eol;
  let head = "";
  for (const interim of m.interim) head += `${interim.replaceAll("\r\n", eol)}${eol}${eol}`;
  head += `HTTP/${m.version} ${m.status}${m.reason === "" ? "" : ` ${m.reason}`}${eol}`;
  head += fieldLines(m.fields, eol);
  if (m.connection !== "") head += `Connection: ${m.connection}${eol}`;
  const f = m.framing;
  if (f.kind === "length") {
    head += `${f.caseOf}: ${m.body.length}${eol}${eol}`;
    return concat([latin1(head), m.body]);
  }
  if (f.kind === "eof") return concat([latin1(head + eol), m.body]);
  head += `Transfer-Encoding: chunked${eol}${eol}`;
  const parts: Uint8Array[] = [latin1(head)];
  let at = 0;
  const sizes = [...f.sizes];
  for (let i = 0; at < m.body.length || i < sizes.length; i++) {
    const size = Math.min(sizes[i] ?? m.body.length - at, m.body.length - at);
    if (size === 0) break;
    let hex = size.toString(16);
    hex = "0".repeat(f.zeros[i % 7]) + (f.upper ? hex.toUpperCase() : hex);
    parts.push(latin1(`${hex}${f.exts[i % 7]}${eol}`), m.body.subarray(at, at + size), latin1(eol));
    at += size;
  }
  parts.push(latin1(`${"0".repeat(1 + f.zeros[6])}${f.exts[6]}${eol}`));
  parts.push(latin1(`${fieldLines(f.trailers, eol)}${eol}`));
  return concat(parts);
}

function expectedFields(fields: readonly FieldModel[]): [string, string][] {
  return fields.map((f) => [f.name.toLowerCase(), f.parts.join(" ")]);
}

/** What the parser must return for a model. */
function expected(m: ResponseModel): Omit<Parsed, "leftover"> {
  const fields = expectedFields(m.fields);
  if (m.connection !== "") fields.push(["connection", m.connection]);
  const f = m.framing;
  let framing: Framing;
  if (f.kind === "length") {
    fields.push(["content-length", String(m.body.length)]);
    framing = { kind: "length", length: m.body.length };
  } else if (f.kind === "chunked") {
    fields.push(["transfer-encoding", "chunked"]);
    framing = { kind: "chunked" };
  } else {
    framing = { kind: "eof" };
  }
  const keepAlive = f.kind !== "eof" &&
    (m.version === "1.1" ? m.connection !== "close" : m.connection === "keep-alive");
  return {
    head: { version: m.version, status: m.status, statusText: m.reason, fields },
    framing,
    keepAlive,
    body: m.body,
    trailers: f.kind === "chunked" ? expectedFields(f.trailers) : [],
  };
}

const cuts = fc.array(fc.nat(), { maxLength: 12 });

Deno.test("grammar: every well-formed response parses to its model, however it is chunked", async () => {
  const tally = new Tally("grammar");
  await check(
    tally,
    800,
    fc.asyncProperty(responseModel, cuts, async (model, cuts) => {
      const input = serialize(model);
      const outcome = await parseEveryWay(tally, input, cuts);
      if (!outcome.ok) throw outcome.error;
      const { leftover, ...parsed } = outcome.parsed;
      assertEquals(parsed, expected(model));
      assertEquals(leftover?.length, 0);
    }),
  );
});

// -------------------------------------------------------------- mutations

/** Bytes that break HTTP framing when they land in the wrong place. */
const NASTY = [
  "\0",
  "\r",
  "\n",
  "\r\n",
  "\r\n\r\n",
  "\n\n",
  "\x7f",
  "\x0b",
  "\x0c",
  "\x1b",
  "\x85",
  "\xa0",
  "\xff",
  " ",
  "\t",
  ":",
  ";",
  ",",
  "-",
  "0",
  "-1",
  "ffffffffffffffffff",
  "0x",
  "HTTP/1.1 ",
  "HTTP/2 ",
  "HTTP/1.1 100 Continue\r\n\r\n",
  "content-length: 5\r\n",
  "content-length: -1\r\n",
  "content-length: 99999999999999999999\r\n",
  "transfer-encoding: chunked\r\n",
  "transfer-encoding: gzip\r\n",
  " folded\r\n",
].map(latin1);

type Mutation =
  | { op: "insert"; at: number; bytes: Uint8Array }
  | { op: "delete"; at: number; length: number }
  | { op: "set"; at: number; byte: number }
  | { op: "repeat"; at: number; length: number; times: number }
  | { op: "truncate"; at: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant("insert" as const),
      at: fc.nat(),
      bytes: fc.oneof(fc.constantFrom(...NASTY), fc.uint8Array({ minLength: 1, maxLength: 8 })),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("delete" as const),
      at: fc.nat(),
      length: fc.integer({ min: 1, max: 20 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant("set" as const), at: fc.nat(), byte: fc.nat(255) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("repeat" as const),
      at: fc.nat(),
      length: fc.integer({ min: 1, max: 40 }),
      times: fc.integer({ min: 2, max: 50 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("truncate" as const), at: fc.nat() }) },
);

function mutate(input: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let bytes = input;
  for (const m of mutations) {
    const at = m.at % (bytes.length + 1);
    switch (m.op) {
      case "insert":
        bytes = concat([bytes.subarray(0, at), m.bytes, bytes.subarray(at)]);
        break;
      case "delete":
        bytes = concat([bytes.subarray(0, at), bytes.subarray(at + m.length)]);
        break;
      case "set":
        if (at < bytes.length) (bytes = bytes.slice())[at] = m.byte;
        break;
      case "repeat": {
        const piece = bytes.subarray(at, at + m.length);
        bytes = concat([bytes.subarray(0, at), ...Array(m.times).fill(piece), bytes.subarray(at)]);
        break;
      }
      case "truncate":
        bytes = bytes.subarray(0, at);
        break;
    }
  }
  return bytes;
}

const mutated = fc.tuple(responseModel, fc.array(mutation, { minLength: 1, maxLength: 4 }))
  .map(([model, mutations]) => mutate(serialize(model), mutations));

Deno.test("mutations: a mutated response is a typed error or a well-formed response", async () => {
  const tally = new Tally("mutations");
  await check(
    tally,
    1500,
    fc.asyncProperty(mutated, cuts, async (input, cuts) => {
      await parseEveryWay(tally, input, cuts);
    }),
  );
});

/** Bytes biased toward what HTTP framing is made of. */
const framingByte = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...latin1("\r\n\r\n:; ,0123456789abcdefHTP/.\t")) },
  { weight: 1, arbitrary: fc.nat(255) },
);

Deno.test("random bytes, alone or after a head, are typed errors or well-formed", async () => {
  const tally = new Tally("random bytes");
  const prefix = fc.constantFrom(
    "",
    "HTTP/1.1 200 OK\r\n",
    "HTTP/1.1 200 OK\r\ncontent-length: ",
    "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n",
  );
  const bytes = fc.oneof(
    fc.uint8Array({ maxLength: 3000 }),
    fc.array(framingByte, { maxLength: 3000 }).map((b) => Uint8Array.from(b)),
  );
  await check(
    tally,
    800,
    fc.asyncProperty(prefix, bytes, cuts, async (p, bytes, cuts) => {
      await parseEveryWay(tally, concat([latin1(p), bytes]), cuts);
    }),
  );
});

// ------------------------------------------------------------ status lines

/** What RFC 9112 §4 accepts (HTTP/1.0 and 1.1 only), the oracle for status lines. */
// deno-lint-ignore no-control-regex -- control characters are what the reason must not hold
const VALID_STATUS_LINE = /^HTTP\/1\.[01] [1-9]\d\d(?: [^\x00-\x08\x0a-\x1f\x7f]*)?$/;

const statusLine = fc.tuple(
  fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom("HTTP/1.1", "HTTP/1.0") },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        ..."HTTP/1.2|HTTP/2|HTTP/2.0|HTTP/1|HTTP/1.|HTTP/1.1.1|HTTP/01.1|HTTP/1.10|http/1.1|HTTPS/1.1|HTTP1.1|"
          .split("|"),
      ),
    },
  ),
  fc.oneof(
    { weight: 4, arbitrary: fc.constant(" ") },
    { weight: 1, arbitrary: fc.constantFrom("", "  ", "\t", "\0") },
  ),
  fc.oneof(
    { weight: 3, arbitrary: fc.integer({ min: 100, max: 999 }).map(String) },
    {
      weight: 1,
      arbitrary: fc.integer({ min: 0, max: 99 }).map((n) => String(n).padStart(3, "0")),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        ..."2OO|20|2000|99999999999999999999|-200|+20|2 00||0x1|1e2|\xb2\xb2\xb2".split("|"),
      ),
    },
  ),
  fc.oneof(
    {
      weight: 3,
      arbitrary: fc.constantFrom("", " OK", " ", "  two spaces", " tab\there", " obs \xe9\xff"),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(" nul\0", " \x01", " \x7f", " cr\r", " vt\x0b", "\x0c"),
    },
  ),
).map((parts) => parts.join(""));

Deno.test("status lines: accepted exactly when RFC 9112 allows them", async () => {
  const tally = new Tally("status lines");
  await check(
    tally,
    800,
    fc.asyncProperty(statusLine, async (line) => {
      const input = latin1(`${line}\r\ncontent-length: 2\r\n\r\nok`);
      const outcome = await bounded(tally, (signal) => parseResponse(fedReader(input), { signal }));
      assertSound(outcome, input);
      if (!VALID_STATUS_LINE.test(line)) {
        assert(!outcome.ok, `${JSON.stringify(line)} must be rejected`);
        return;
      }
      const status = Number(line.slice(9, 12));
      if (status === 101 || status >= 200) {
        if (status === 101) {
          assert(outcome.error instanceof HttpProtocolError);
          assert(outcome.error.message.includes("101"));
          return;
        }
        if (!outcome.ok) throw outcome.error;
        assertEquals(outcome.parsed.head.status, status);
        assertEquals(outcome.parsed.body, latin1(status === 204 || status === 304 ? "" : "ok"));
      } else {
        // An interim response: the final one never comes.
        assert(outcome.error instanceof RemoteDisconnectedError, String(outcome.error));
      }
    }),
  );
});

// ------------------------------------------------------------ chunk sizes

const sizeToken = fc.oneof(
  fc.integer({ min: 1, max: 200 }).chain((n) =>
    fc.tuple(fc.constant(n), fc.integer({ min: 0, max: 11 }), fc.boolean()).map((
      [n, zeros, upper],
    ) => {
      const hex = n.toString(16);
      return "0".repeat(Math.min(zeros, 13 - hex.length)) + (upper ? hex.toUpperCase() : hex);
    })
  ),
  fc.constantFrom(
    "",
    "-5",
    "+5",
    "0x5",
    "5.0",
    "g",
    "ffffffffffffffffff",
    "fffffffffffff",
    "10000000000000",
    "00000000000005",
    " 5",
    "5 ",
    "5\t",
    "\x005",
    "5\x00",
    "5\x0b",
    "\x0c5",
    "5\xa0",
    "\xa05",
    "1 2",
    "\u00b5",
  ),
);

const chunkExtension = fc.constantFrom(
  "",
  ";",
  ";a",
  ";a=b",
  ';a="b;c"',
  " ;a=b",
  "\t;a=b",
  ";\x00",
  ";\xff",
);

Deno.test("chunk sizes: hex up to 13 digits is read; anything else is a typed error", async () => {
  const tally = new Tally("chunk sizes");
  await check(
    tally,
    800,
    fc.asyncProperty(
      sizeToken,
      chunkExtension,
      fc.constantFrom("\r\n", "\n", "\r", ""),
      async (size, ext, eol) => {
        const valid = /^[0-9a-fA-F]{1,13}$/.test(size) && (eol === "\r\n" || eol === "\n");
        const n = valid ? parseInt(size, 16) : 3;
        const data = "d".repeat(Math.min(n, 300));
        const input = latin1(
          `HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n${size}${ext}${eol}${data}` +
            `\r\n0\r\n\r\n`,
        );
        const outcome = await bounded(
          tally,
          (signal) => parseResponse(fedReader(input), { signal }),
        );
        assertSound(outcome, input);
        if (valid && n <= 300) {
          if (!outcome.ok) throw outcome.error;
          assertEquals(outcome.parsed.body, latin1(data));
        } else if (valid) {
          assert(outcome.error instanceof IncompleteBodyError, String(outcome.error));
        } else if (outcome.ok) {
          // Only a size that reads as another valid one (a lost line end) may parse.
          assert(eol === "\r" || eol === "", `${JSON.stringify(size + ext + eol)} was accepted`);
        }
      },
    ),
  );
});

// ----------------------------------------------------- Content-Length, TE

const lengthValue = fc.oneof(
  fc.integer({ min: 0, max: 50 }).map(String),
  fc.constantFrom(
    "-1",
    "+5",
    "5.0",
    "0x5",
    "05",
    "1e1",
    "99999999999999999999",
    "9007199254740992",
    "9007199254740991",
    "",
    " ",
    "5,5",
    "5, 6",
    "5,",
    ",5",
    "NaN",
    "Infinity",
    "\xb5",
  ),
);

const coding = fc.constantFrom(
  "chunked",
  "Chunked",
  "CHUNKED",
  " chunked ",
  "gzip",
  "identity",
  "deflate",
  "",
  "chunked;x=1",
  "x",
);

function chunked(body: string): string {
  return `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
}

Deno.test("Content-Length and Transfer-Encoding: the framing RFC 9112 §6.3 gives, or an error", async () => {
  const tally = new Tally("Content-Length/Transfer-Encoding");
  await check(
    tally,
    1000,
    fc.asyncProperty(
      fc.array(lengthValue, { maxLength: 3 }),
      fc.array(fc.array(coding, { minLength: 1, maxLength: 3 }), { maxLength: 2 }),
      fc.string({ unit: fc.constantFrom("a", "b", "\r", "\n", "0"), maxLength: 40 }),
      async (lengths, tes, body) => {
        const codings = tes.flat().join(",").split(",").map((c) => c.trim().toLowerCase()).filter(
          (c) => c !== "",
        );
        const isChunked = tes.length > 0 && codings.at(-1) === "chunked";
        let head = "HTTP/1.1 200 OK\r\n";
        for (const cl of lengths) head += `Content-Length: ${cl}\r\n`;
        for (const te of tes) head += `Transfer-Encoding: ${te.join(", ")}\r\n`;
        const input = latin1(`${head}\r\n${isChunked ? chunked(body) : body}`);
        const outcome = await bounded(
          tally,
          (signal) => parseResponse(fedReader(input), { signal }),
        );
        assertSound(outcome, input);
        if (tes.length > 0) {
          // Transfer-Encoding wins over any Content-Length.
          if (!outcome.ok) throw outcome.error;
          assertEquals(outcome.parsed.framing.kind, isChunked ? "chunked" : "eof");
          assertEquals(outcome.parsed.body, latin1(body));
          if (lengths.length > 0 || !isChunked) assertEquals(outcome.parsed.keepAlive, false);
          return;
        }
        if (lengths.length === 0) {
          if (!outcome.ok) throw outcome.error;
          assertEquals(outcome.parsed.framing.kind, "eof");
          return;
        }
        const fields = lengths.map((v): [string, string] => ["content-length", v.trim()]);
        const declared = declaredLength(fields);
        if (declared === null) {
          assert(outcome.error instanceof HttpProtocolError, `${lengths} must be rejected`);
          assert(outcome.error.message.includes("Content-Length"), outcome.error.message);
        } else if (declared <= body.length) {
          if (!outcome.ok) throw outcome.error;
          assertEquals(outcome.parsed.body, latin1(body.slice(0, declared)));
        } else {
          assert(outcome.error instanceof IncompleteBodyError, String(outcome.error));
          assertEquals([outcome.error.received, outcome.error.expected], [body.length, declared]);
        }
      },
    ),
  );
});

// ------------------------------------------------------ control characters

/** C0 controls and DEL, less HTAB (allowed in values), LF and CR (line ends). */
const CONTROL = [...Array(32).keys(), 0x7f].filter((c) => c !== 9 && c !== 10 && c !== 13);

/** The index just past a response's final head (the empty line included). */
function headEnd(bytes: Uint8Array): number {
  let from = 0;
  for (;;) {
    let end = -1;
    for (let i = from; i < bytes.length - 1; i++) {
      if (bytes[i] === 10 && bytes[i + 1] === 10) {
        end = i + 2;
        break;
      }
      if (bytes[i] === 10 && bytes[i + 1] === 13 && bytes[i + 2] === 10) {
        end = i + 3;
        break;
      }
    }
    if (end < 0) return -1;
    const status = Number(String.fromCharCode(...bytes.subarray(from + 9, from + 12)));
    if (status >= 200 || status === 101) return end;
    from = end;
  }
}

Deno.test("a control character anywhere in a head is an HttpProtocolError", async () => {
  const tally = new Tally("control characters in heads");
  await check(
    tally,
    1000,
    fc.asyncProperty(
      responseModel,
      fc.nat(),
      fc.constantFrom(...CONTROL),
      async (model, at, control) => {
        const input = serialize(model);
        const end = headEnd(input);
        const where = at % end;
        const bad = concat([
          input.subarray(0, where),
          Uint8Array.of(control),
          input.subarray(where),
        ]);
        const outcome = await bounded(tally, (signal) => parseResponse(fedReader(bad), { signal }));
        assert(
          outcome.error instanceof HttpProtocolError,
          `0x${control.toString(16)} at ${where} of ${
            JSON.stringify(String.fromCharCode(...bad.subarray(0, end + 1)))
          } was accepted`,
        );
        assertTyped(outcome.error);
      },
    ),
  );
});

Deno.test("control characters in a body are data: the body arrives byte for byte", async () => {
  const tally = new Tally("control characters in bodies");
  await check(
    tally,
    300,
    fc.asyncProperty(
      responseModel,
      fc.uint8Array({ minLength: 1, maxLength: 200 }).map((b) => b.map((x) => x % 32)),
      async (model, body) => {
        const input = serialize({ ...model, body });
        const outcome = await bounded(
          tally,
          (signal) => parseResponse(fedReader(input), { signal }),
        );
        if (!outcome.ok) throw outcome.error;
        assertEquals(outcome.parsed.body, body);
      },
    ),
  );
});

// -------------------------------------------------- truncation at every byte

const SAMPLES: string[] = [
  "HTTP/1.1 200 OK\r\ncontent-length: 11\r\nx-a: b\r\n\r\nhello world",
  "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n" +
  "0\r\nx-checksum: abc\r\n\r\n",
  "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 3\r\n\r\nabc",
  "HTTP/1.0 200 OK\ncontent-length: 4\nx-folded: one\n two\n\ndata",
  "HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n",
  "HTTP/1.1 204 No Content\r\n\r\n",
];

Deno.test("truncation at every byte offset: RemoteDisconnectedError or IncompleteBodyError", async () => {
  const tally = new Tally("truncation");
  const bodies = fc.sample(responseModel.filter((m) => m.framing.kind !== "eof"), {
    seed: SEED,
    numRuns: runs(40),
  }).map(serialize);
  const inputs = [...SAMPLES.map(latin1), ...bodies];
  for (const input of inputs) {
    const end = headEnd(input);
    for (let at = 0; at < input.length; at++) {
      const prefix = input.subarray(0, at);
      const outcome = await bounded(
        tally,
        (signal) => parseResponse(fedReader(prefix), { signal }),
      );
      assertTyped(outcome.error);
      const error = outcome.error;
      if (at < end) {
        assert(error instanceof RemoteDisconnectedError, `${error.name} at ${at} of ${end}`);
      } else {
        assert(error instanceof IncompleteBodyError, `${error.name} at ${at} (head ${end})`);
        if (error.expected !== null) assertEquals(error.received, at - end);
      }
    }
    const whole = await bounded(tally, (signal) => parseResponse(fedReader(input), { signal }));
    assertSound(whole, input);
    assert(whole.ok, String(whole.error));
  }
  tally.report(`, over ${inputs.length} responses`);
  assertEquals(tally.hangs, 0);
});

// ------------------------------------------------------------ header bombs

/**
 * A socket that sends `prefix`, then `unit` over and over (`total` bytes in
 * all, or forever), at most {@linkcode SOCKET_READ} per read; it counts what
 * it sent, and `stop()` ends it.
 */
class Synthetic {
  sent = 0;
  #stopped = false;
  #reads = 0;
  readonly #prefix: Uint8Array;
  readonly #unit: Uint8Array;
  readonly #total: number;

  constructor(prefix: string | Uint8Array, unit: string, total = Infinity) {
    this.#prefix = typeof prefix === "string" ? latin1(prefix) : prefix;
    this.#unit = latin1(unit);
    this.#total = total;
  }

  stop(): void {
    this.#stopped = true;
  }

  async read(p: Uint8Array): Promise<number | null> {
    // Every 16th read waits for a macrotask, as a socket would: an endless
    // loop of reads must not starve the per-case timer.
    if (++this.#reads % 16 === 0) await new Promise((resolve) => setTimeout(resolve, 0));
    if (this.#stopped || this.sent >= this.#total) return null;
    const n = Math.min(p.length, SOCKET_READ, this.#total - this.sent);
    for (let i = 0; i < n; i++) {
      const at = this.sent + i;
      p[i] = at < this.#prefix.length
        ? this.#prefix[at]
        : this.#unit[(at - this.#prefix.length) % this.#unit.length];
    }
    this.sent += n;
    return n;
  }
}

const CHUNKED_HEAD = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n";

/** Endless inputs: each must end in a typed error, pulling at most the limit and one read. */
const ENDLESS: [string, string, string, new (...args: never[]) => HttpProtocolError][] = [
  ["a status line", "HTTP/1.1 200 ", "x", HeadTooLargeError],
  ["a header value", "HTTP/1.1 200 OK\r\nx-big: ", "v", HeadTooLargeError],
  ["header fields", "HTTP/1.1 200 OK\r\n", "x-a: b\r\n", HeadTooLargeError],
  ["folded lines", "HTTP/1.1 200 OK\r\nx-a: b\r\n", " folded\r\n", HeadTooLargeError],
  ["NUL bytes", "HTTP/1.1 200 OK\r\n", "\0", HeadTooLargeError],
  ["line ends without an empty line", "HTTP/1.1 200 OK\r\n", "\r", HeadTooLargeError],
  ["interim responses", "", "HTTP/1.1 100 Continue\r\n\r\n", HeadTooLargeError],
  ["a chunk size", CHUNKED_HEAD, "1", HttpProtocolError],
  ["a chunk extension", `${CHUNKED_HEAD}5;`, "x", HttpProtocolError],
  ["trailer fields", `${CHUNKED_HEAD}0\r\n`, "x-t: 1\r\n", HeadTooLargeError],
  ["a trailer line", `${CHUNKED_HEAD}0\r\nx-t: `, "t", HeadTooLargeError],
];

Deno.test("endless heads, chunk lines and trailers: a typed error within the limit plus one read", async (t) => {
  const tally = new Tally("endless inputs");
  for (const [what, prefix, unit, type] of ENDLESS) {
    await t.step(what, async () => {
      const source = new Synthetic(prefix, unit);
      const outcome = await bounded(
        tally,
        (signal) =>
          parseResponse(new StreamReader(source, { limit: LIMITS.maxHeadSize }), {
            signal,
            leftover: false,
          }),
        () => source.stop(),
      );
      assert(outcome.error instanceof type, `${what}: ${outcome.error ?? "a response"}`);
      assertTyped(outcome.error);
      assertLessOrEqual(source.sent, prefix.length + LIMITS.maxHeadSize + SOCKET_READ);
    });
  }
  tally.report();
  assertEquals(tally.hangs, 0);
});

Deno.test("header bombs: 100k fields, a 10 MB field, 100k folded lines", async (t) => {
  const tally = new Tally("header bombs");
  const big = { maxHeadSize: 16 * 1024 * 1024, maxFields: 100 };
  const parseWith = (source: StreamReader, limits: HeadLimits) =>
    bounded(tally, (signal) => parseResponse(source, { signal, limits }));
  const fields = Array.from({ length: 100_000 }, (_, i) => `x-${i}: ${i}\r\n`).join("");
  const hundredK = latin1(`HTTP/1.1 200 OK\r\n${fields}content-length: 0\r\n\r\n`);
  const tenMB = latin1(`HTTP/1.1 200 OK\r\nx-big: ${"v".repeat(10_000_000)}\r\n\r\n`);
  const folds = latin1(
    `HTTP/1.1 200 OK\r\nx-folded: a\r\n${" b\r\n".repeat(100_000)}content-length: 0\r\n\r\n`,
  );

  await t.step("100k fields: over the byte limit, or over the field limit", async () => {
    const bytes = await parseWith(fedReader(hundredK), LIMITS);
    assert(bytes.error instanceof HeadTooLargeError);
    assertEquals(bytes.error.limit, LIMITS.maxHeadSize);
    const count = await parseWith(fedReader(hundredK, big.maxHeadSize), big);
    assert(count.error instanceof HeadTooLargeError);
    assertEquals(count.error.limit, 100);
    const source = new Synthetic(hundredK, "", hundredK.length);
    const pulled = await parseWith(new StreamReader(source, { limit: LIMITS.maxHeadSize }), LIMITS);
    assert(pulled.error instanceof HeadTooLargeError);
    assertLessOrEqual(source.sent, LIMITS.maxHeadSize + SOCKET_READ);
  });

  await t.step("one 10 MB field: pulled no further than the limit and one read", async () => {
    const source = new Synthetic(tenMB, "", tenMB.length);
    const outcome = await parseWith(
      new StreamReader(source, { limit: LIMITS.maxHeadSize }),
      LIMITS,
    );
    assert(outcome.error instanceof HeadTooLargeError);
    assertLessOrEqual(source.sent, LIMITS.maxHeadSize + SOCKET_READ);
    const fed = await parseWith(fedReader(tenMB), LIMITS);
    assert(fed.error instanceof HeadTooLargeError);
  });

  await t.step("100k folded lines: over the limit, or joined in one pass", async () => {
    const small = await parseWith(fedReader(folds), LIMITS);
    assert(small.error instanceof HeadTooLargeError);
    const whole = await parseWith(fedReader(folds, big.maxHeadSize), big);
    if (!whole.ok) throw whole.error;
    const value = fieldValue(whole.parsed.head.fields, "x-folded")!;
    assertEquals(value.length, 1 + 2 * 100_000);
    assertEquals(value.slice(0, 5), "a b b");
  });
  tally.report();
  assertEquals(tally.hangs, 0);
});

Deno.test("an endless body read part by part keeps the reader's buffer within one read", async (t) => {
  // [what, head, repeated unit, body bytes per unit, body bytes to read]
  const cases: [string, string, string, number, number][] = [
    ["until close", "HTTP/1.1 200 OK\r\n\r\n", "body", 4, 4 << 20],
    [
      "a huge Content-Length",
      "HTTP/1.1 200 OK\r\ncontent-length: 9007199254740991\r\n\r\n",
      "b",
      1,
      4 << 20,
    ],
    ["a huge chunk", `${CHUNKED_HEAD}fffffffffffff\r\n`, "c", 1, 4 << 20],
    ["many small chunks", CHUNKED_HEAD, "1\r\nc\r\n", 1, 64 << 10],
  ];
  for (const [what, head, unit, perUnit, goal] of cases) {
    await t.step(what, async () => {
      const source = new Synthetic(head, unit);
      const reader = new StreamReader(source, { limit: LIMITS.maxHeadSize });
      const parsed = await readResponseHead(reader, URL_, LIMITS);
      const body = new BodyReader(reader, framingOf("GET", parsed, URL_).framing, URL_, LIMITS);
      let buffered = 0;
      while (body.received < goal) {
        const part = await body.next();
        assert(part !== null && part.length > 0);
        // What the source sent and the parser has not handed out yet.
        const consumed = head.length + (body.received / perUnit) * unit.length;
        buffered = Math.max(buffered, source.sent - consumed);
      }
      source.stop();
      assertLessOrEqual(buffered, SOCKET_READ + unit.length);
      console.log(`${what}: ${body.received} body bytes, at most ${buffered} bytes buffered`);
    });
  }
});

// ------------------------------------------------- defects, one test each

/** The outcome of parsing `text` (latin1) fed by hand. */
async function parseText(text: string, limits = LIMITS): Promise<Outcome> {
  try {
    return {
      ok: true,
      parsed: await parseResponse(fedReader(latin1(text), limits.maxHeadSize), { limits }),
    };
  } catch (error) {
    return { ok: false, error };
  }
}

Deno.test("regression: status codes 000 to 099 are malformed status lines", async () => {
  for (const code of ["000", "042", "099"]) {
    const outcome = await parseText(`HTTP/1.1 ${code} X\r\ncontent-length: 0\r\n\r\n`);
    assert(outcome.error instanceof HttpProtocolError, `${code}: ${outcome.parsed?.head.status}`);
    assert(outcome.error.message.includes(`malformed status line: "HTTP/1.1 ${code} X"`));
  }
  const ok = await parseText("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 999 Odd\r\n\r\n");
  assertEquals(ok.parsed?.head.status, 999);
});

Deno.test("regression: control characters at either end of a value are rejected, not trimmed", async () => {
  for (const value of ["\x0bv", "v\x0c", "v\r", "\x0c", " \x0bfolded"]) {
    const outcome = await parseText(`HTTP/1.1 200 OK\r\nx-a: a\r\nx-b: ${value}\r\n\r\n`);
    assert(outcome.error instanceof HttpProtocolError, JSON.stringify(value));
    assert(outcome.error.message.includes("control character"), outcome.error.message);
  }
  const folded = await parseText("HTTP/1.1 200 OK\r\nx-a: a\r\n \x0bfolded\r\n\r\n");
  assert(folded.error instanceof HttpProtocolError, "in a folded line too");
});

Deno.test("regression: U+00A0 (obs-text) around a value is kept; only SP and HTAB are trimmed", async () => {
  const outcome = await parseText("HTTP/1.1 200 OK\r\nx-a: \t\xa0v\xa0 \r\nx-b: \xa0\r\n\r\n");
  if (!outcome.ok) throw outcome.error;
  assertEquals(outcome.parsed.head.fields, [["x-a", "\xa0v\xa0"], ["x-b", "\xa0"]]);
});

Deno.test("regression: a chunk size with a control character or U+00A0 around it is rejected", async () => {
  for (const size of ["5\x0b", "\x0c5", "5\xa0", "\r5"]) {
    const outcome = await parseText(
      `HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n${size}\r\nhello\r\n0\r\n\r\n`,
    );
    assert(outcome.error instanceof HttpProtocolError, JSON.stringify(size));
    assert(outcome.error.message.includes("bad chunk size line"), outcome.error.message);
  }
  const spaced = await parseText(
    "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5 \t;x=1\r\nhello\r\n0\r\n\r\n",
  );
  assertEquals(spaced.parsed?.body, latin1("hello"));
});

Deno.test("regression: endless interim responses end in HeadTooLargeError", async () => {
  const source = new Synthetic("", "HTTP/1.1 100 Continue\r\n\r\n", 10 * LIMITS.maxHeadSize);
  const reader = new StreamReader(source, { limit: LIMITS.maxHeadSize });
  const outcome = await parseResponse(reader, { leftover: false }).then(
    (parsed): Outcome => ({ ok: true, parsed }),
    (error): Outcome => ({ ok: false, error }),
  );
  assert(outcome.error instanceof HeadTooLargeError, String(outcome.error));
  assert(outcome.error.message.includes("interim (1xx) responses"), outcome.error.message);
  assertLessOrEqual(source.sent, LIMITS.maxHeadSize + SOCKET_READ);
  // A few interim responses are still fine.
  const few = await parseText(
    `${"HTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n".repeat(50)}` +
      "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
  );
  assertEquals(few.parsed?.body, latin1("ok"));
});

Deno.test("regression: folded lines are joined in one pass (250k folds under a 4 MiB limit)", async () => {
  const limits = { maxHeadSize: 4 * 1024 * 1024, maxFields: 100 };
  const folds = " b\r\n".repeat(250_000);
  const started = performance.now();
  const outcome = await parseText(`HTTP/1.1 200 OK\r\nx-f: a\r\n${folds}\r\n`, limits);
  const ms = performance.now() - started;
  if (!outcome.ok) throw outcome.error;
  assertEquals(outcome.parsed.head.fields[0][1].length, 1 + 2 * 250_000);
  // A hang bound, not a speed target: joining fold by fold took minutes here.
  assertLessOrEqual(ms, CASE_TIMEOUT_MS);
});

Deno.test("regression: contentLength of a repeated Content-Length is the number, not NaN", async () => {
  await using server = new RawServer(async (req) => {
    await req.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 2\r\n\r\nok");
    return "close";
  });
  await using client = new HttpClient();
  await using res = await client.get(server.origin);
  assertEquals(res.contentLength, 2);
  assertEquals(await res.text(), "ok");
});

// ------------------------------------------------------------ real sockets

Deno.test("a loopback server and HttpClient agree with the hand-fed parser", async () => {
  const tally = new Tally("loopback");
  const inputs = new Map<number, Uint8Array>();
  await using server = new RawServer(async (req) => {
    const n = Number(/^GET \/case\/(\d+)/.exec(req.head)?.[1]);
    await req.write(inputs.get(n)!);
    return "close";
  });
  await using client = new HttpClient({ maxIdlePerOrigin: 0 });
  let next = 0;
  const input = fc.oneof(
    { weight: 2, arbitrary: mutated },
    { weight: 1, arbitrary: responseModel.map(serialize) },
    { weight: 1, arbitrary: statusLine.map((l) => latin1(`${l}\r\ncontent-length: 1\r\n\r\nx`)) },
  );
  await check(
    tally,
    120,
    fc.asyncProperty(input, async (bytes) => {
      const n = next++;
      inputs.set(n, bytes);
      const url = `${server.origin}/case/${n}`;
      const fed = await bounded(
        tally,
        (signal) => parseResponse(fedReader(bytes), { signal, url, leftover: false }),
      );
      const live = await bounded(tally, async (signal) => {
        await using res = await client.get(url, { signal });
        const body = await res.bytes();
        // Everything the response shows of itself is coherent.
        new Headers(res.headers);
        const length = res.contentLength;
        assert(length === null || Number.isSafeInteger(length), `contentLength ${length}`);
        if (length !== null && res.status !== 204 && res.status !== 304) {
          assertEquals(body.length, length);
        }
        return {
          head: {
            version: res.version,
            status: res.status,
            statusText: res.statusText,
            fields: [...res.fields] as [string, string][],
          },
          framing: fed.parsed?.framing ?? { kind: "none" },
          keepAlive: fed.parsed?.keepAlive ?? false,
          body,
          trailers: [...res.trailers],
          leftover: null,
        };
      });
      inputs.delete(n);
      assertSound(live, null, url);
      // The framing and keep-alive are not shown by a response: compare the rest.
      const shown = (o: Outcome) =>
        !o.ok ? summary(o) : {
          head: o.parsed.head,
          body: o.parsed.body,
          trailers: [...new Headers(o.parsed.trailers)],
        };
      assertEquals(shown(live), shown(fed));
    }),
  );
});

/**
 * What may stay live (V8 heap and array buffers, after a full collection)
 * once the whole file has run. Measured here: 13.8 MiB, the same to the
 * tenth in every run; the bound leaves 6 MiB (about 45 %) of headroom. A
 * parser that kept every input fed to it by hand (16.4 MiB over the file)
 * would end near 34 MiB and fail it.
 */
const MAX_LIVE_GROWTH = 20 * 1024 * 1024;

Deno.test("the whole run kept memory bounded", () => {
  const growth = liveHeap() - heapAtStart;
  console.log(`live memory growth over the file: ${(growth / 1024 / 1024).toFixed(1)} MiB`);
  assertLessOrEqual(growth, MAX_LIVE_GROWTH);
});
