/**
 * Memory per idle connection, run on demand: the server's resident set
 * growth over many idle connections, each pinged once.
 *
 *     deno run -A tools/with_std.ts run -A --v8-flags=--expose-gc \
 *       tools/idle_memory.ts [--connections N]
 *
 * An aio `startServer` echo server (handler: `read(102400)`, `write`,
 * `await drain()`) runs in this process; a client in a second process (this
 * script with `--client`) opens N connections (default 10,000), sends 100
 * bytes on each and waits for the echo, then leaves them all open and idle.
 * The server's `Deno.memoryUsage()` is read before the clients connect and
 * once they are all idle (after a garbage collection when `gc` is exposed),
 * and the growth divided by N is printed, for the resident set and for the
 * JavaScript heap. Then the clients close, and the script checks that every
 * handler ended.
 *
 * @module
 */

import { startServer } from "../mod.ts";
import { parseToolArgs } from "./_args.ts";

const PING = 100;
const WAVE = 500;

/** Opens `n` connections, pings each once, then waits for stdin to end and closes them. */
async function runClients(port: number, n: number): Promise<void> {
  const conns: Deno.TcpConn[] = [];
  const ping = new Uint8Array(PING).fill(112);
  for (let i = 0; i < n; i += WAVE) {
    const wave = await Promise.all(
      Array.from(
        { length: Math.min(WAVE, n - i) },
        () => Deno.connect({ hostname: "127.0.0.1", port }),
      ),
    );
    await Promise.all(wave.map(async (conn) => {
      let written = 0;
      while (written < PING) written += await conn.write(ping.subarray(written));
      const echo = new Uint8Array(PING);
      let got = 0;
      while (got < PING) {
        const r = await conn.read(echo.subarray(got));
        if (r === null) throw new Error("the server closed a connection");
        got += r;
      }
    }));
    conns.push(...wave);
  }
  await Deno.stdout.write(new TextEncoder().encode("idle\n"));
  for await (const _ of Deno.stdin.readable) {
    // Wait for the server to be done measuring.
  }
  for (const conn of conns) conn.close();
}

/** Settles the heap and returns the memory usage. */
async function settledUsage(): Promise<Deno.MemoryUsage> {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((r) => setTimeout(r, 200));
  }
  return Deno.memoryUsage();
}

async function runServer(n: number): Promise<number> {
  let live = 0;
  let peakLive = 0;
  const errors: string[] = [];
  const server = await startServer(async (reader, writer) => {
    peakLive = Math.max(peakLive, ++live);
    try {
      for (;;) {
        const data = await reader.read(102400);
        if (data.length === 0) break;
        writer.write(data);
        await writer.drain();
      }
    } finally {
      live--;
    }
  }, {
    host: "127.0.0.1",
    port: 0,
    backlog: 4096,
    onError: (e) => void (errors.length < 10 && errors.push(String(e))),
  });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-lock",
      "--allow-net=127.0.0.1",
      new URL(import.meta.url).pathname,
      "--client",
      "--port",
      String(server.addr.port),
      "--connections",
      String(n),
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const before = await settledUsage();
  const out = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let said = "";
  while (!said.includes("\n")) {
    const { value, done } = await out.read();
    if (done) break;
    said += value;
  }
  if (said.trim() !== "idle") {
    console.error("the client process failed");
    server.close();
    return 1;
  }
  // Every handler is waiting in read() again once its echo was written.
  for (let i = 0; i < 100 && peakLive < n; i++) await new Promise((r) => setTimeout(r, 50));
  const after = await settledUsage();
  await child.stdin.close();
  for (let i = 0; i < 1000 && live > 0; i++) await new Promise((r) => setTimeout(r, 10));
  await out.cancel();
  await child.status;
  server.close();
  await server.waitClosed();
  const per = (a: number, b: number) => `${((b - a) / n / 1000).toFixed(1)} KB`;
  const mib = (x: number) => `${(x / 2 ** 20).toFixed(1)} MiB`;
  console.log(
    `idle connections: ${n} (handlers at once: ${peakLive}), each pinged with ${PING} bytes`,
  );
  console.log(`server RSS:        ${mib(before.rss)} -> ${mib(after.rss)}`);
  console.log(
    `per connection:    RSS ${per(before.rss, after.rss)}, JS heap ${
      per(before.heapUsed, after.heapUsed)
    }, external ${per(before.external, after.external)}`,
  );
  console.log(`left over:         live handlers ${live}, errors ${errors.length}`);
  for (const e of errors) console.log(`  ${e}`);
  const ok = live === 0 && errors.length === 0 && peakLive === n;
  console.log(ok ? "idle memory: ok" : "idle memory: FAILED");
  return ok ? 0 : 1;
}

if (import.meta.main) {
  const options = parseToolArgs(Deno.args, { connections: 10_000, port: 0 });
  if (options.client) await runClients(options.port, options.connections);
  else Deno.exit(await runServer(options.connections));
}
