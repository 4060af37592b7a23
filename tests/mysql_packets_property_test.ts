/**
 * The MySQL client's packet reader, property-based (fast-check): however
 * the byte stream is cut into chunks, and wherever a read is cancelled, the
 * same packets come out; a stream cut inside a packet, a packet out of
 * sequence and a packet over the size limit each give their typed error.
 *
 * The frames are built here by hand (3-byte length, sequence id, payload;
 * payloads of 16 MiB - 1 bytes and more split), independently of the
 * client's writer.
 *
 * @module
 */

import { assertEquals, assertInstanceOf, assertRejects } from "@std/assert";
import fc from "fast-check";
import { CancelledError, StreamReader, StreamWriter } from "../mod.ts";
import {
  MysqlConnectionLostError,
  MysqlProtocolError,
  PacketTooLargeError,
} from "../examples/mysql/mod.ts";
import { PacketReader, writePacket } from "../examples/mysql/framing.ts";
import { concat } from "./_bytes.ts";
import { checkProperty } from "./_property.ts";

const PART = 0xffffff;

/** The frames of `payloads`, sequence ids from `first`. */
function frame(payloads: Uint8Array[], first = 0): Uint8Array {
  const out: Uint8Array[] = [];
  let seq = first;
  for (const payload of payloads) {
    let at = 0;
    for (;;) {
      const n = Math.min(PART, payload.length - at);
      out.push(new Uint8Array([n & 0xff, (n >> 8) & 0xff, n >> 16, seq & 0xff]));
      out.push(payload.subarray(at, at + n));
      seq++;
      at += n;
      if (n < PART) break;
    }
  }
  return concat(out);
}

/** Cuts `bytes` at the given offsets (sorted, deduplicated, in range). */
function cut(bytes: Uint8Array, offsets: number[]): Uint8Array[] {
  const points = [...new Set(offsets.map((o) => o % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const p of [...points, bytes.length]) {
    if (p > from) chunks.push(bytes.slice(from, p));
    from = p;
  }
  return chunks;
}

const payloads = fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 12 });
const offsets = fc.array(fc.nat(), { maxLength: 40 });

Deno.test("any chunking of a packet stream gives the same packets", async () => {
  await checkProperty(
    "chunking",
    500,
    fc.asyncProperty(payloads, offsets, fc.nat(255), async (list, cuts, first) => {
      const reader = new StreamReader(ReadableStream.from(cut(frame(list, first), cuts)));
      const packets = new PacketReader(reader);
      packets.sequenceId = first;
      for (const payload of list) assertEquals(await packets.read(), payload);
      // The clean end of the stream, where a packet should start, is a lost connection too.
      await assertRejects(() => packets.read(), MysqlConnectionLostError, "after 0 of 4 bytes");
    }),
  );
});

Deno.test("a cancelled read loses nothing: the next read goes on", async () => {
  await checkProperty(
    "cancellation",
    300,
    fc.asyncProperty(payloads, offsets, async (list, cuts) => {
      const reader = new StreamReader();
      const packets = new PacketReader(reader);
      const got: Uint8Array[] = [];
      // Feed one chunk at a time; whenever a read is waiting for more, cancel it and read again.
      for (const chunk of cut(frame(list), cuts)) {
        reader.feedData(chunk);
        for (;;) {
          const controller = new AbortController();
          const read = packets.read({ signal: controller.signal });
          await tick();
          controller.abort(new CancelledError("cut"));
          const outcome = await read.catch((e: unknown) => e);
          if (outcome instanceof CancelledError) break; // waits for the next chunk
          if (!(outcome instanceof Uint8Array)) throw outcome;
          got.push(outcome);
        }
      }
      assertEquals(got, list);
    }),
  );
});

Deno.test("a stream cut inside a packet gives a typed error", async () => {
  await checkProperty(
    "truncation",
    300,
    fc.asyncProperty(payloads, fc.nat(), offsets, async (list, at, cuts) => {
      const bytes = frame(list);
      const lastStart = frame(list.slice(0, -1)).length;
      // Cut strictly inside the last packet: after its first byte, before its end.
      const end = lastStart + 1 + (at % (bytes.length - lastStart - 1 || 1));
      if (end >= bytes.length) return;
      const reader = new StreamReader(ReadableStream.from(cut(bytes.subarray(0, end), cuts)));
      const packets = new PacketReader(reader);
      for (const payload of list.slice(0, -1)) assertEquals(await packets.read(), payload);
      const e = await assertRejects(() => packets.read(), MysqlConnectionLostError);
      assertInstanceOf(e.cause, Error);
    }),
  );
});

Deno.test("an oversized or out-of-sequence packet gives a typed error", async () => {
  await checkProperty(
    "oversized and out of sequence",
    300,
    fc.asyncProperty(
      payloads,
      fc.nat(),
      fc.integer({ min: 1, max: 255 }),
      async (list, i, skew) => {
        const index = i % list.length;
        const limit = list[index].length - 1;
        if (limit >= 0 && list.slice(0, index).every((p) => p.length <= limit)) {
          const packets = new PacketReader(
            new StreamReader(ReadableStream.from([frame(list)])),
            limit,
          );
          for (const payload of list.slice(0, index)) assertEquals(await packets.read(), payload);
          const e = await assertRejects(() => packets.read(), PacketTooLargeError);
          assertEquals([e.size, e.limit], [list[index].length, limit]);
        }
        // The same stream read expecting another sequence id.
        const packets = new PacketReader(new StreamReader(ReadableStream.from([frame(list)])));
        packets.sequenceId = skew;
        await assertRejects(() => packets.read(), MysqlProtocolError, `must be ${skew}`);
      },
    ),
  );
});

Deno.test("payloads of 16 MiB - 1 bytes and more are split and joined", async () => {
  for (const size of [PART, PART + 1]) {
    const big = new Uint8Array(size);
    for (let i = 0; i < size; i += 4093) big[i] = i % 251;
    const list = [new Uint8Array([1]), big, new Uint8Array([2, 3])];
    // The client's writer frames them as the hand-made frames do.
    const written: Uint8Array[] = [];
    const writer = new StreamWriter(
      new WritableStream({ write: (c) => void written.push(c.slice()) }),
    );
    let seq = 0;
    for (const payload of list) seq = writePacket(writer, payload, seq);
    await writer.drain();
    await writer.close();
    const bytes = frame(list);
    assertSameBytes(concat(written), bytes);
    const packets = new PacketReader(new StreamReader(ReadableStream.from(cut(bytes, [5, PART]))));
    for (const payload of list) assertSameBytes(await packets.read(), payload);
    assertEquals(packets.sequenceId, seq);
    // A joined payload over the limit is refused before the part that crosses it is read.
    const limited = new PacketReader(new StreamReader(ReadableStream.from([bytes])), size - 1);
    await limited.read();
    if (size >= PART) await assertRejects(() => limited.read(), PacketTooLargeError);
  }
});

/** Compares large arrays fast (`assertEquals` walks them element by element). */
function assertSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  assertEquals(actual.length, expected.length, "lengths differ");
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) throw new Error(`bytes differ at offset ${i}`);
  }
}

/** Lets a read that has its bytes finish first. */
async function tick(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}
