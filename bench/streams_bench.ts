/**
 * Reading from a loopback socket with `StreamReader`, side by side with bare
 * `conn.read` loops and `TextDecoderStream` + `TextLineStream` in the same
 * run. The bytes come from a sender in its own process
 * (`_streams_sender.ts`), so only the reading side is measured; connection
 * setup is outside the timed section.
 *
 *     deno task bench bench/streams_bench.ts
 *
 * Groups: 2,000,000 lines of 64 bytes; 1 GiB in bulk; 1,000,000
 * length-prefixed frames (4-byte length + 100 bytes). Every bench checks
 * what it read, so a wrong reader cannot look fast.
 */
import { TextLineStream } from "@std/streams";
import { StreamReader } from "../mod.ts";
import { BULK, FRAMES, LINES } from "./_streams_sizes.ts";

const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const sender = new Deno.Command(Deno.execPath(), {
  args: ["run", "--allow-net=127.0.0.1", new URL("./_streams_sender.ts", import.meta.url).href],
  stdin: "piped",
  stdout: "null",
  stderr: "inherit",
}).spawn();
sender.unref();
const commands = sender.stdin.getWriter();
const encoder = new TextEncoder();

/** Asks the sender for a payload and accepts the connection it comes on. */
async function connection(kind: "lines" | "bulk" | "frames"): Promise<Deno.TcpConn> {
  await commands.write(encoder.encode(`${kind} ${listener.addr.port}\n`));
  return await listener.accept();
}

function check(what: string, got: number, want: number): void {
  if (got !== want) throw new Error(`${what}: read ${got}, expected ${want}`);
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed by its readable stream.
  }
}

const RUNS = { n: 10, warmup: 2 };

/** The bench groups: each compares ways to read the same data. */
const GROUP = {
  lines: "2M lines of 64 bytes",
  bulk: "1 GiB bulk",
  frames: "1M frames (4 + 100 bytes)",
} as const;

// ------------------------------------------------------------------ lines

Deno.bench("bare conn.read + indexOf(10)", {
  group: GROUP.lines,
  baseline: true,
  ...RUNS,
}, async (b) => {
  const conn = await connection("lines");
  b.start();
  const buf = new Uint8Array(64 * 1024);
  let lines = 0;
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) break;
    const chunk = buf.subarray(0, n);
    let i = -1;
    while ((i = chunk.indexOf(10, i + 1)) !== -1) lines++;
  }
  b.end();
  conn.close();
  check("lines", lines, LINES);
});

// Not a contender: the floor of any reader that hands out one Uint8Array per
// line through one await, here views into the reused buffer (which a real
// reader must not return).
Deno.bench("bare conn.read + indexOf(10) + one view and one await per line", {
  group: GROUP.lines,
  ...RUNS,
}, async (b) => {
  const conn = await connection("lines");
  b.start();
  const buf = new Uint8Array(64 * 1024);
  let lines = 0;
  let bytes = 0;
  let end = 0;
  for (;;) {
    const n = await conn.read(buf.subarray(end));
    if (n === null) break;
    end += n;
    const view = buf.subarray(0, end);
    let start = 0;
    let i = -1;
    while ((i = view.indexOf(10, i + 1)) !== -1) {
      const line = await Promise.resolve({
        value: new Uint8Array(buf.buffer, start, i + 1 - start),
      });
      lines++;
      bytes += line.value.length;
      start = i + 1;
    }
    buf.copyWithin(0, start, end);
    end -= start;
  }
  b.end();
  conn.close();
  check("lines", lines, LINES);
  check("bytes", bytes, LINES * 64);
});

Deno.bench("aio for await (const line of reader)", {
  group: GROUP.lines,
  ...RUNS,
}, async (b) => {
  const conn = await connection("lines");
  b.start();
  const reader = new StreamReader(conn);
  let lines = 0;
  let bytes = 0;
  for await (const line of reader) {
    lines++;
    bytes += line.length;
  }
  b.end();
  conn.close();
  check("lines", lines, LINES);
  check("bytes", bytes, LINES * 64);
});

Deno.bench("aio reader.lines() (strings)", {
  group: GROUP.lines,
  ...RUNS,
}, async (b) => {
  const conn = await connection("lines");
  b.start();
  const reader = new StreamReader(conn);
  let lines = 0;
  let chars = 0;
  for await (const line of reader.lines()) {
    lines++;
    chars += line.length;
  }
  b.end();
  conn.close();
  check("lines", lines, LINES);
  check("chars", chars, LINES * 63);
});

Deno.bench("TextDecoderStream + TextLineStream", {
  group: GROUP.lines,
  ...RUNS,
}, async (b) => {
  const conn = await connection("lines");
  b.start();
  let lines = 0;
  let chars = 0;
  const stream = conn.readable
    .pipeThrough(new TextDecoderStream())
    .pipeThrough(new TextLineStream());
  for await (const line of stream as AsyncIterable<string>) {
    lines++;
    chars += line.length;
  }
  b.end();
  closeQuietly(conn);
  check("lines", lines, LINES);
  check("chars", chars, LINES * 63);
});

// ------------------------------------------------------------------- bulk

Deno.bench("bare conn.read into one 64 KiB buffer", {
  group: GROUP.bulk,
  baseline: true,
  ...RUNS,
}, async (b) => {
  const conn = await connection("bulk");
  b.start();
  const buf = new Uint8Array(64 * 1024);
  let total = 0;
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) break;
    total += n;
  }
  b.end();
  conn.close();
  check("bytes", total, BULK);
});

// Not a contender: the floor of any reader that returns chunks the caller
// owns, which needs fresh memory for every chunk.
Deno.bench("bare conn.read into a fresh 64 KiB buffer per read", {
  group: GROUP.bulk,
  ...RUNS,
}, async (b) => {
  const conn = await connection("bulk");
  b.start();
  let total = 0;
  for (;;) {
    const n = await conn.read(new Uint8Array(64 * 1024));
    if (n === null) break;
    total += n;
  }
  b.end();
  conn.close();
  check("bytes", total, BULK);
});

Deno.bench("aio reader.read(65536)", {
  group: GROUP.bulk,
  ...RUNS,
}, async (b) => {
  const conn = await connection("bulk");
  b.start();
  const reader = new StreamReader(conn);
  let total = 0;
  for (;;) {
    const chunk = await reader.read(65536);
    if (chunk.length === 0) break;
    total += chunk.length;
  }
  b.end();
  conn.close();
  check("bytes", total, BULK);
});

// ----------------------------------------------------------------- frames

Deno.bench("bare conn.read + frame parsing", {
  group: GROUP.frames,
  baseline: true,
  ...RUNS,
}, async (b) => {
  const conn = await connection("frames");
  b.start();
  const buf = new Uint8Array(64 * 1024);
  let start = 0;
  let end = 0;
  let frames = 0;
  let bytes = 0;
  for (;;) {
    while (end - start >= 4) {
      const size = ((buf[start] << 24) | (buf[start + 1] << 16) | (buf[start + 2] << 8) |
        buf[start + 3]) >>> 0;
      if (end - start < 4 + size) break;
      const body = buf.subarray(start + 4, start + 4 + size);
      bytes += body.length;
      start += 4 + size;
      frames++;
    }
    if (start > 0) {
      buf.copyWithin(0, start, end);
      end -= start;
      start = 0;
    }
    const n = await conn.read(buf.subarray(end));
    if (n === null) break;
    end += n;
  }
  b.end();
  conn.close();
  check("frames", frames, FRAMES);
  check("bytes", bytes, FRAMES * 100);
});

// Not a contender: the floor of any reader that hands out the head and the
// body of each frame through one await each, here as views into the reused
// buffer (which a real reader must not return).
Deno.bench("bare conn.read + frame parsing + two views and two awaits per frame", {
  group: GROUP.frames,
  ...RUNS,
}, async (b) => {
  const conn = await connection("frames");
  b.start();
  const buf = new Uint8Array(64 * 1024);
  let start = 0;
  let end = 0;
  let frames = 0;
  let bytes = 0;
  for (;;) {
    while (end - start >= 4) {
      const head = await Promise.resolve(new Uint8Array(buf.buffer, start, 4));
      const size = ((head[0] << 24) | (head[1] << 16) | (head[2] << 8) | head[3]) >>> 0;
      if (end - start < 4 + size) break;
      const body = await Promise.resolve(new Uint8Array(buf.buffer, start + 4, size));
      bytes += body.length;
      start += 4 + size;
      frames++;
    }
    if (start > 0) {
      buf.copyWithin(0, start, end);
      end -= start;
      start = 0;
    }
    const n = await conn.read(buf.subarray(end));
    if (n === null) break;
    end += n;
  }
  b.end();
  conn.close();
  check("frames", frames, FRAMES);
  check("bytes", bytes, FRAMES * 100);
});

Deno.bench("aio reader.readExactly(4) + readExactly(size)", {
  group: GROUP.frames,
  ...RUNS,
}, async (b) => {
  const conn = await connection("frames");
  b.start();
  const reader = new StreamReader(conn);
  let bytes = 0;
  for (let i = 0; i < FRAMES; i++) {
    const head = await reader.readExactly(4);
    const size = ((head[0] << 24) | (head[1] << 16) | (head[2] << 8) | head[3]) >>> 0;
    const body = await reader.readExactly(size);
    bytes += body.length;
  }
  const rest = await reader.read();
  b.end();
  conn.close();
  check("bytes", bytes, FRAMES * 100);
  check("trailing bytes", rest.length, 0);
});
