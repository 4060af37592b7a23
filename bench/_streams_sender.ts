/**
 * The sending side of `streams_bench.ts`, run in its own process so that
 * only the reading side is measured. Reads commands `<kind> <port>` on
 * stdin, one a line; for each, connects to 127.0.0.1:<port>, writes the
 * payload of that kind, and closes. Exits when stdin ends.
 *
 * Kinds: `lines` (LINES lines of 64 bytes), `bulk` (BULK bytes),
 * `frames` (FRAMES frames: a 4-byte big-endian length, then 100 bytes).
 */
import { BULK, FRAMES, LINES } from "./_streams_sizes.ts";
import { stdinLines } from "./_stdin_lines.ts";

const CHUNK = 1024 * 1024;

/** One megabyte-sized chunk repeated `count` times, then a `tail`. */
interface Payload {
  chunk: Uint8Array;
  count: number;
  tail: Uint8Array;
}

function repeat(unit: Uint8Array, units: number): Payload {
  const perChunk = Math.floor(CHUNK / unit.length);
  const chunk = new Uint8Array(perChunk * unit.length);
  for (let i = 0; i < perChunk; i++) chunk.set(unit, i * unit.length);
  const count = Math.floor(units / perChunk);
  const tail = chunk.subarray(0, (units - count * perChunk) * unit.length);
  return { chunk, count, tail };
}

function line(): Uint8Array {
  const bytes = new TextEncoder().encode("x".repeat(63) + "\n");
  for (let i = 0; i < 62; i++) bytes[i] = 97 + (i % 26);
  return bytes;
}

function frame(): Uint8Array {
  const bytes = new Uint8Array(104);
  new DataView(bytes.buffer).setUint32(0, 100);
  for (let i = 4; i < 104; i++) bytes[i] = i;
  return bytes;
}

const payloads: Record<string, () => Payload> = {
  lines: () => repeat(line(), LINES),
  bulk: () => repeat(new Uint8Array(64 * 1024).fill(120), BULK / (64 * 1024)),
  frames: () => repeat(frame(), FRAMES),
};
const cache = new Map<string, Payload>();

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}

for await (const command of stdinLines()) {
  const [kind, port] = command.split(" ");
  const make = payloads[kind];
  if (!make) throw new Error(`Unknown payload kind: ${kind}`);
  let payload = cache.get(kind);
  if (!payload) cache.set(kind, payload = make());
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(port) });
  try {
    for (let i = 0; i < payload.count; i++) await writeAll(conn, payload.chunk);
    await writeAll(conn, payload.tail);
  } finally {
    conn.close();
  }
}
