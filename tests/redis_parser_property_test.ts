/**
 * Properties of the example Redis client's RESP parser (fast-check, fixed
 * seed): a stream of replies of every RESP2/RESP3 type, split into chunks
 * at any points and fed as the chunks come, parses to the same values as
 * the model; a stream cut short, a length past `maxBulkLength`, nesting past
 * `maxDepth` and a line past the reader's limit give typed errors, the
 * limits before anything of the oversized part is waited for.
 *
 * @module
 */

import { assert, assertEquals, assertInstanceOf, assertRejects } from "@std/assert";
import fc from "fast-check";
import { StreamReader } from "../mod.ts";
import {
  RedisConnectionError,
  RedisError,
  RedisLimitError,
  RedisProtocolError,
  RespParser,
  RespPush,
  type RespValue,
  VerbatimString,
} from "../examples/redis/mod.ts";
import { concat } from "./_bytes.ts";
import { checkProperty } from "./_property.ts";

const encoder = new TextEncoder();

/** A reply as the model sees it: comparable with assertEquals. */
type Model = unknown;

/** A generated reply: its bytes and the value the parser must return, normalised. */
interface Sample {
  bytes: Uint8Array[];
  model: Model;
}

const enc = (s: string) => encoder.encode(s);

/** The parser's value, normalised like the model (classes to tagged objects). */
function normalise(value: RespValue | RespPush): Model {
  if (value instanceof RedisError) return { error: value.message, code: value.code };
  if (value instanceof VerbatimString) return { verbatim: value.format, text: value.text };
  if (value instanceof RespPush) return { push: value.kind, data: value.data.map(normalise) };
  if (value instanceof Map) {
    return { map: [...value].map(([k, v]) => [normalise(k), normalise(v)]) };
  }
  if (value instanceof Set) return { set: [...value].map(normalise) };
  if (Array.isArray(value)) return value.map(normalise);
  if (value instanceof Uint8Array) return { bytes: [...value] };
  return value;
}

const line = fc.string({ unit: "binary-ascii", maxLength: 12 }).filter((s) =>
  !s.includes("\r") && !s.includes("\n")
);

const leaf: fc.Arbitrary<Sample> = fc.oneof<fc.Arbitrary<Sample>[]>(
  line.map((s) => ({ bytes: [enc(`+${s}\r\n`)], model: s })),
  fc.tuple(fc.constantFrom("ERR", "WRONGTYPE", "NOAUTH"), line).map(([code, s]) => ({
    bytes: [enc(`-${code} ${s}\r\n`)],
    model: { error: `${code} ${s}`, code },
  })),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((n) => ({
    bytes: [enc(`:${n}\r\n`)],
    model: n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(n)
      : n,
  })),
  fc.integer({ min: -1000, max: 1000 }).map((n) => ({ bytes: [enc(`:${n}\r\n`)], model: n })),
  fc.uint8Array({ maxLength: 40 }).map((b) => ({
    bytes: [enc(`$${b.length}\r\n`), b, enc("\r\n")],
    model: { bytes: [...b] },
  })),
  fc.constantFrom("$-1\r\n", "*-1\r\n", "_\r\n").map((s) => ({ bytes: [enc(s)], model: null })),
  fc.boolean().map((b) => ({ bytes: [enc(`#${b ? "t" : "f"}\r\n`)], model: b })),
  fc.double({ noNaN: true }).filter((d) => !Object.is(d, -0)).map((d) => ({
    bytes: [enc(`,${d === Infinity ? "inf" : d === -Infinity ? "-inf" : String(d)}\r\n`)],
    model: d,
  })),
  fc.constant<Sample>({ bytes: [enc(",nan\r\n")], model: NaN }),
  fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }).map((n) => ({
    bytes: [enc(`(${n}\r\n`)],
    model: n,
  })),
  fc.tuple(fc.constantFrom("txt", "mkd"), fc.string({ maxLength: 20 })).map(([f, s]) => {
    const body = enc(`${f}:${s}`);
    return {
      bytes: [enc(`=${body.length}\r\n`), body, enc("\r\n")],
      model: { verbatim: f, text: s },
    };
  }),
  line.map((s) => {
    const body = enc(`ERR ${s}`);
    return {
      bytes: [enc(`!${body.length}\r\n`), body, enc("\r\n")],
      model: { error: `ERR ${s}`, code: "ERR" },
    };
  }),
);

const { reply } = fc.letrec<{ reply: Sample }>((tie) => ({
  reply: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    leaf,
    fc.array(tie("reply"), { maxLength: 4 }).map((items) => ({
      bytes: [enc(`*${items.length}\r\n`), ...items.flatMap((i) => i.bytes)],
      model: items.map((i) => i.model),
    })),
    fc.uniqueArray(fc.integer({ min: 0, max: 99 }), { maxLength: 4 }).map((items) => ({
      bytes: [enc(`~${items.length}\r\n`), ...items.map((i) => enc(`:${i}\r\n`))],
      model: { set: items },
    })),
    fc.uniqueArray(fc.tuple(line, tie("reply")), { maxLength: 3, selector: ([k]) => k }).map(
      (entries) => ({
        bytes: [
          enc(`%${entries.length}\r\n`),
          ...entries.flatMap(([k, v]) => [enc(`+${k}\r\n`), ...v.bytes]),
        ],
        model: { map: entries.map(([k, v]) => [k, v.model]) },
      }),
    ),
    // An attribute before a reply is read and dropped.
    tie("reply").map((r) => ({
      bytes: [enc("|1\r\n+ttl\r\n:3600\r\n"), ...r.bytes],
      model: r.model,
    })),
  ),
}));

/** A top-level reply: any reply, or a push. */
const topLevel: fc.Arbitrary<Sample> = fc.oneof(
  { weight: 5, arbitrary: reply },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.constantFrom("message", "invalidate"), fc.array(reply, { maxLength: 3 }))
      .map(([kind, items]) => ({
        bytes: [
          enc(`>${items.length + 1}\r\n$${kind.length}\r\n${kind}\r\n`),
          ...items.flatMap((i) => i.bytes),
        ],
        model: { push: kind, data: items.map((i) => i.model) },
      })),
  },
);

/** Cut points, as fractions of the stream. */
const cuts = fc.array(fc.integer({ min: 0, max: 10_000 }), { maxLength: 30 });

/** Splits `bytes` at the given points (scaled to its length). */
function split(bytes: Uint8Array, points: number[]): Uint8Array[] {
  const at = [...new Set(points.map((p) => Math.floor((p / 10_000) * bytes.length)))].sort((a, b) =>
    a - b
  );
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const p of [...at, bytes.length]) {
    if (p > from) chunks.push(bytes.subarray(from, p));
    from = Math.max(from, p);
  }
  return chunks;
}

/** Feeds the chunks one by one, letting the parser run between them; then the end. */
async function feed(reader: StreamReader, chunks: Uint8Array[], eof = true): Promise<void> {
  for (const chunk of chunks) {
    reader.feedData(chunk);
    for (let i = 0; i < 3; i++) await Promise.resolve();
  }
  if (eof) reader.feedEof();
}

Deno.test("redis parser: any split of a reply stream parses to the same values", async () => {
  await checkProperty(
    "redis parser chunk splits",
    300,
    fc.asyncProperty(
      fc.array(topLevel, { minLength: 1, maxLength: 8 }),
      cuts,
      async (replies, points) => {
        const bytes = concat(replies.flatMap((r) => r.bytes));
        const reader = new StreamReader(undefined, { limit: 1024 });
        const parser = new RespParser(reader);
        const feeding = feed(reader, split(bytes, points));
        const got: Model[] = [];
        for (let i = 0; i < replies.length; i++) got.push(normalise(await parser.read()));
        await feeding;
        assertEquals(got, replies.map((r) => r.model));
        // Then the clean end of the stream, between replies.
        await assertRejects(() => parser.read(), RedisConnectionError, "closed the connection");
      },
    ),
  );
});

Deno.test("redis parser: a stream cut inside a reply is a RedisProtocolError", async () => {
  await checkProperty(
    "redis parser truncation",
    300,
    fc.asyncProperty(
      topLevel.filter((r) => concat(r.bytes).length > 1),
      fc.integer({ min: 1, max: 10_000 }),
      cuts,
      async (sample, cutAt, points) => {
        const bytes = concat(sample.bytes);
        const cut = 1 + Math.floor((cutAt / 10_001) * (bytes.length - 1));
        assert(cut >= 1 && cut < bytes.length);
        const reader = new StreamReader(undefined, { limit: 1024 });
        const parser = new RespParser(reader);
        const feeding = feed(reader, split(bytes.subarray(0, cut), points));
        const error = await assertRejects(() => parser.read(), RedisProtocolError);
        assert(error.message.startsWith("Cannot parse reply: "), error.message);
        await feeding;
      },
    ),
  );
});

Deno.test("redis parser: limits give a RedisLimitError naming the limit, before the data", async () => {
  await checkProperty(
    "redis parser limits",
    200,
    fc.asyncProperty(
      fc.integer({ min: 1, max: 1_000 }),
      fc.integer({ min: 1, max: 10_000_000 }),
      fc.integer({ min: 1, max: 12 }),
      fc.integer({ min: 0, max: 12 }),
      fc.constantFrom("*", "%", "~", ">"),
      async (maxBulkLength, over, maxDepth, extraDepth, aggregate) => {
        // A bulk string one byte or more over the limit: refused from its header
        // alone, while none of its body was sent (the read does not wait for it).
        const reader = new StreamReader();
        const parser = new RespParser(reader, { maxBulkLength, maxDepth });
        reader.feedData(enc(`*1\r\n$${maxBulkLength + over}\r\n`));
        const big = await assertRejects(() => parser.read(), RedisLimitError);
        assertEquals([big.limit, big.max], ["maxBulkLength", maxBulkLength]);
        assert(big.message.includes(`'maxBulkLength' (${maxBulkLength})`), big.message);
        // At the limit it parses.
        const ok = new StreamReader();
        reader.feedEof();
        ok.feedData(enc(`$${maxBulkLength}\r\n${"x".repeat(maxBulkLength)}\r\n`));
        assertEquals(
          (await new RespParser(ok, { maxBulkLength }).read() as Uint8Array).length,
          maxBulkLength,
        );
        // Nesting: maxDepth levels parse, one more is refused at its header.
        const depth = maxDepth + 1 + extraDepth;
        const nested = new StreamReader();
        nested.feedData(enc(`${aggregate}1\r\n`.repeat(depth)));
        const deep = await assertRejects(
          () => new RespParser(nested, { maxDepth }).read(),
          RedisLimitError,
        );
        assertEquals([deep.limit, deep.max], ["maxDepth", maxDepth]);
        const fits = new StreamReader();
        fits.feedData(enc(`*1\r\n`.repeat(maxDepth) + ":7\r\n"));
        let value = await new RespParser(fits, { maxDepth }).read();
        for (let i = 0; i < maxDepth; i++) value = (value as RespValue[])[0];
        assertEquals(value, 7);
      },
    ),
  );
});

Deno.test("redis parser: a line past the reader's limit, bad bytes, bad lengths", async () => {
  const long = new StreamReader(undefined, { limit: 64 });
  long.feedData(enc(`+${"a".repeat(200)}`)); // no end of line yet
  const line = await assertRejects(() => new RespParser(long, {}, 64).read(), RedisLimitError);
  assertEquals([line.limit, line.max], ["maxLineLength", 64]);
  for (
    const [input, message] of [
      ["?what\r\n", "expected a RESP type byte"],
      [":12x\r\n", "expected an integer"],
      ["$-2\r\n", "expected a bulk string length"],
      ["$3\r\nabcd\r\n", "expected CRLF after a bulk string of 3 bytes"],
      ["*-5\r\n", "expected an array length"],
      ["%-1\r\n", "expected a map length"],
      ["#x\r\n", "expected a boolean"],
      [",abc\r\n", "expected a double"],
      ["(1.5\r\n", "expected a big number"],
      ["+OK\n", "expected a line ending in CRLF"],
      ["*1\r\n>1\r\n+message\r\n", "a push message inside an aggregate"],
    ]
  ) {
    const reader = new StreamReader();
    reader.feedData(enc(input));
    reader.feedEof();
    const e = await assertRejects(() => new RespParser(reader).read(), RedisProtocolError);
    assert(e.message.includes(message), `${input}: ${e.message}`);
  }
  // A huge announced count: elements are kept only as they arrive.
  const huge = new StreamReader();
  huge.feedData(enc("*2000000000\r\n:1\r\n:2\r\n"));
  huge.feedEof();
  await assertRejects(
    () => new RespParser(huge).read(),
    RedisProtocolError,
    "ended inside a reply",
  );
  for (const [name, value] of [["maxBulkLength", 0], ["maxDepth", 1.5]] as const) {
    const e = assertThrowsRange(() => new RespParser(new StreamReader(), { [name]: value }));
    assert(e.message.includes(`'${name}' must be a positive integer`), e.message);
  }
});

function assertThrowsRange(fn: () => unknown): RangeError {
  try {
    fn();
  } catch (e) {
    assertInstanceOf(e, RangeError);
    return e;
  }
  throw new Error("expected a RangeError");
}
