/**
 * 5,000 GETs of a 16 KiB file from a local `Deno.serve`, 100 in flight: the
 * examples' HTTP client (keep-alive pool, written on aio's streams) side by
 * side with `fetch` (Deno's built-in client, also keep-alive) in the same
 * run, each with 100 workers taking requests off a shared counter.
 *
 *     deno task bench bench/download_bench.ts
 *
 * The server runs in its own process (this file, started with `--serve`), so
 * that both clients are measured alone and pay the same for the server.
 * Every run checks the bytes it received, so a client that skips work
 * cannot look fast.
 */
import { HttpClient } from "../examples/http/mod.ts";

const REQUESTS = 5_000;
const IN_FLIGHT = 100;
const SIZE = 16 * 1024;

if (Deno.args[0] === "--serve") {
  const file = new Uint8Array(SIZE).map((_, i) => i % 251);
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: ({ port }) => console.log(port),
  }, () => new Response(file, { headers: { "content-type": "application/octet-stream" } }));
  // Serve until the bench process closes our stdin.
  for await (const _ of Deno.stdin.readable);
  await server.shutdown();
}

async function startServer(): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net=127.0.0.1", new URL(import.meta.url).href, "--serve"],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the bench server exited before printing its port");
    text += value;
  }
  reader.releaseLock();
  child.stdout.cancel().catch(() => {});
  return {
    url: `http://127.0.0.1:${text.trim()}/file.bin`,
    stop: async () => {
      await child.stdin.close();
      await child.status;
    },
  };
}

/** Runs `get` REQUESTS times with IN_FLIGHT workers; returns the bytes received. */
async function run(get: () => Promise<number>): Promise<number> {
  let next = 0;
  let bytes = 0;
  const worker = async () => {
    while (next++ < REQUESTS) {
      const n = await get();
      bytes += n;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return bytes;
}

function check(what: string, bytes: number): void {
  if (bytes !== REQUESTS * SIZE) {
    throw new Error(`${what}: received ${bytes} bytes, expected ${REQUESTS * SIZE}`);
  }
}

if (Deno.args[0] !== "--serve") {
  const server = await startServer();
  const client = new HttpClient({ maxConnectionsPerOrigin: IN_FLIGHT });
  const RUNS = { n: 10, warmup: 2 };
  const group = `${REQUESTS} GETs of 16 KiB, ${IN_FLIGHT} in flight`;

  Deno.bench("fetch, 100 workers", { group, baseline: true, ...RUNS }, async () => {
    check("fetch", await run(async () => (await (await fetch(server.url)).bytes()).length));
  });

  Deno.bench("examples/http HttpClient (keep-alive), 100 workers", { group, ...RUNS }, async () => {
    check(
      "HttpClient",
      await run(async () => (await (await client.get(server.url)).bytes()).length),
    );
  });

  // The downloader's limits: every phase runs under a deadline and an idle limit.
  const limits = { timeout: 60_000, readTimeout: 30_000 };
  Deno.bench(
    "examples/http HttpClient with timeout and readTimeout",
    { group, ...RUNS },
    async () => {
      check(
        "HttpClient",
        await run(async () => (await (await client.get(server.url, limits)).bytes()).length),
      );
    },
  );

  // deno bench has no "after all" hook: stop when the benches are done.
  globalThis.addEventListener("unload", () => {
    server.stop();
    client.close();
  });
}
