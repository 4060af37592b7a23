/**
 * Oversized lines against `limit`, over a real socket: a peer sends a 10 MB
 * line to a reader whose limit is 64 KiB. The reader fails fast with
 * `LimitOverrunError`, never buffers more than about its limit plus one read,
 * and the lines after the long one arrive intact.
 *
 * @module
 */

import { assert, assertEquals, assertInstanceOf, assertLess } from "@std/assert";
import {
  LimitOverrunError,
  openConnection,
  startServer,
  type StreamReader,
  type StreamWriter,
} from "../mod.ts";
import { str } from "./_bytes.ts";

const LIMIT = 64 * 1024;
const LONG = 10 * 1024 * 1024;

/** Sends `head`, a LONG-byte line, then `tail`, from one reused 64 KiB block. */
async function sendLongLine(writer: StreamWriter, head: string, tail: string): Promise<void> {
  const block = new Uint8Array(64 * 1024).fill(0x78); // "x"
  writer.write(head);
  for (let sent = 0; sent < LONG; sent += block.length) {
    writer.write(sent + block.length <= LONG ? block : block.subarray(0, LONG - sent));
    await writer.drain();
  }
  writer.write("\n" + tail);
  await writer.drain();
}

async function serve(_reader: StreamReader, writer: StreamWriter): Promise<void> {
  await sendLongLine(writer, "first\n", "next\n");
  await sendLongLine(writer, "", "after\n");
}

Deno.test("a 10 MB line against a 64 KiB limit: LimitOverrunError, bounded memory, resync", async () => {
  await using server = await startServer(serve, { host: "127.0.0.1", port: 0 });
  await using conn = await openConnection("127.0.0.1", server.addr.port, { limit: LIMIT });
  const { reader } = conn;
  assertEquals(str(await reader.readLine()), "first\n");

  // 1. readLine, asyncio's rule: each overrun drops what is buffered of the
  // long line (through its newline when that is buffered); when the newline
  // was not yet buffered, the rest of the line comes back as a line of its
  // own. Either way the line after it is intact.
  const before = Deno.memoryUsage();
  let peakRss = before.rss;
  let peakExternal = before.external;
  let overruns = 0;
  let dropped = 0;
  let tail: Uint8Array | undefined;
  for (;;) {
    try {
      tail = await reader.readLine();
      break;
    } catch (e) {
      assertInstanceOf(e, LimitOverrunError);
      assert(e.consumed > LIMIT, `consumed ${e.consumed}`);
      overruns++;
      // "found": dropped through the newline; "not found": the whole buffer.
      const found = e.message.startsWith("Separator is found");
      dropped += found ? e.consumed + 1 : e.consumed;
      const now = Deno.memoryUsage();
      peakRss = Math.max(peakRss, now.rss);
      peakExternal = Math.max(peakExternal, now.external);
      if (found) break;
    }
  }
  assert(overruns > 1, `the reader failed ${overruns} times: it did not fail fast`);
  if (tail !== undefined) {
    assert(tail.length <= LIMIT + 1 && tail.at(-1) === 0x0a, `tail of ${tail.length} bytes`);
    dropped += tail.length;
  }
  assertEquals(dropped, LONG + 1, "bytes of the long line dropped or returned");
  assertEquals(str(await reader.readLine()), "next\n");
  const externalGrowth = peakExternal - before.external;
  const rssGrowth = peakRss - before.rss;
  console.log(
    `readLine: ${overruns} LimitOverrunErrors over ${LONG} bytes; peak growth: ` +
      `external ${(externalGrowth / 2 ** 20).toFixed(1)} MiB, RSS ${
        (rssGrowth / 2 ** 20).toFixed(1)
      } MiB`,
  );
  // A reader that buffered the line would hold 10 MiB or more.
  assertLess(externalGrowth, 4 * 2 ** 20);

  // 2. The skip idiom asyncio documents for readuntil: drop `consumed` bytes
  // after each overrun until the separator is within the limit.
  let skips = 0;
  for (;;) {
    try {
      const end = await reader.readUntil("\n");
      assert(end.length <= LIMIT + 1);
      break;
    } catch (e) {
      assertInstanceOf(e, LimitOverrunError);
      skips++;
      // Data stays buffered after readUntil's overrun: drop it by hand.
      await reader.readExactly(e.consumed);
    }
  }
  assert(skips > 1);
  assertEquals(str(await reader.readLine()), "after\n");
  assertEquals(str(await reader.read()), "");
});
