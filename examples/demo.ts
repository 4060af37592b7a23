/**
 * The demo: a local HTTP server with 50 generated files, and the
 * downloader fetching them all at once into a temporary directory.
 *
 *     deno task demo
 *
 * The server (`Deno.serve` on 127.0.0.1, a port the system picks) serves
 * files of mixed sizes, about 4 MiB in all: most at full speed, four slowly
 * (about a second each), one with a chunked body, and one whose first
 * download is cut off in the middle, so the downloader retries it. Every
 * file is then checked against its SHA-256, the summary is printed, and the
 * directory removed.
 *
 * Permissions: `--allow-net=127.0.0.1`, and `--allow-read --allow-write` for
 * the temporary directory (its location depends on the system).
 *
 * @module
 */
import { sleep } from "../mod.ts";
import { Downloader, ProgressReporter, summaryTable } from "./downloader/mod.ts";
import { formatBytes } from "./_shared/mod.ts";

/** One file the server offers. */
interface DemoFile {
  name: string;
  bytes: Uint8Array<ArrayBuffer>;
  sha256: string;
  kind: "plain" | "slow" | "chunked" | "flaky";
}

/** Deterministic bytes (xorshift32), so every run serves the same files. */
function generate(size: number, seed: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(size);
  let x = seed | 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function makeFiles(): Promise<DemoFile[]> {
  const files: DemoFile[] = [];
  for (let i = 1; i <= 50; i++) {
    const kind = i === 13 ? "flaky" : i === 31 ? "chunked" : i % 12 === 5 ? "slow" : "plain";
    // 1 KiB to 80 KiB in a shuffled order, two large ones, and fixed sizes for the special ones.
    const size = i === 7
      ? 1024 * 1024
      : i === 23
      ? 512 * 1024
      : kind === "slow"
      ? 128 * 1024
      : kind === "flaky"
      ? 96 * 1024
      : 1024 + ((i * 37) % 80) * 1024;
    const name = kind === "plain" ? `file-${String(i).padStart(2, "0")}.bin` : `${kind}-${i}.bin`;
    const bytes = generate(size, i * 2654435761);
    files.push({ name, bytes, sha256: await sha256(bytes), kind });
  }
  return files;
}

const SLICE = 16 * 1024;

/**
 * The body in 16 KiB slices, `pause` ms apart; with `cutAt`, it ends there,
 * short of its Content-Length, and the server drops the connection.
 */
function sliced(bytes: Uint8Array, pause: number, cutAt = Infinity): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    async pull(controller) {
      if (at >= bytes.length || at >= cutAt) return controller.close();
      if (pause > 0) await sleep(pause);
      controller.enqueue(bytes.slice(at, at + SLICE));
      at += SLICE;
    },
  });
}

function serve(files: DemoFile[]): Deno.HttpServer<Deno.NetAddr> {
  const byPath = new Map(files.map((f) => [`/files/${f.name}`, f]));
  let flakyServed = 0;
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const file = byPath.get(new URL(req.url).pathname);
    if (file === undefined) return new Response("not found\n", { status: 404 });
    const length = { "content-length": String(file.bytes.length) };
    switch (file.kind) {
      case "slow":
        return new Response(sliced(file.bytes, 120), { headers: length }); // about 1 s
      case "chunked": // no Content-Length: Deno.serve sends it chunked
        return new Response(sliced(file.bytes, 5));
      case "flaky":
        // The first download breaks off halfway; the retry gets it all.
        return new Response(
          sliced(file.bytes, 5, flakyServed++ === 0 ? file.bytes.length / 2 : undefined),
          { headers: length },
        );
      default:
        return new Response(file.bytes, { headers: length });
    }
  });
}

const files = await makeFiles();
const total = files.reduce((sum, f) => sum + f.bytes.length, 0);
await using server = serve(files);
const base = `http://127.0.0.1:${server.addr.port}/files/`;
const dir = await Deno.makeTempDir({ prefix: "aio-demo-" });
console.log(`serving ${files.length} files (${formatBytes(total)}) at ${base}`);
console.log(`downloading them, 8 at a time, into ${dir}`);

let exitCode = 0;
try {
  const started = performance.now();
  const downloader = new Downloader(files.map((f) => base + f.name), {
    dir,
    concurrency: 8,
    backoffBase: 200,
  });
  const reporter = new ProgressReporter(downloader.results);
  reporter.start();
  try {
    await downloader.run({ onEvent: reporter.onEvent });
  } finally {
    reporter.stop();
  }
  console.log(`\n${summaryTable(downloader.results, performance.now() - started)}\n`);

  let verified = 0;
  for (const [i, file] of files.entries()) {
    const result = downloader.results[i];
    if (result.state !== "ok") continue;
    const digest = await sha256(await Deno.readFile(result.path));
    if (digest === file.sha256) verified++;
    else console.log(`SHA-256 MISMATCH: ${result.name}: ${digest}, expected ${file.sha256}`);
  }
  const leftovers = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.name.endsWith(".part")) leftovers.push(entry.name);
  }
  console.log(`verified ${verified} of ${files.length} files: SHA-256 matches`);
  if (leftovers.length > 0) console.log(`left-over .part files: ${leftovers.join(", ")}`);
  if (verified !== files.length || leftovers.length > 0) exitCode = 1;
} finally {
  await Deno.remove(dir, { recursive: true });
}
Deno.exitCode = exitCode;
