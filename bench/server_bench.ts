/**
 * Echo servers under ping-pong load, side by side in one run: aio's
 * `startServer` with the handler `read(102400)` → `write` → `await drain()`,
 * and a bare `Deno.listen` loop that reads into one 100 KiB buffer and
 * writes it back. The load comes from a client in its own process
 * (`_echo_client.ts`): each connection sends a message, waits for the whole
 * echo, and sends the next; connecting is outside the timed section.
 *
 *     deno task bench bench/server_bench.ts
 *
 * Groups: 100 connections × 1 KiB messages, 10 connections × 64 KiB.
 * After the run, requests per second of every contender and the ratio to
 * the bare loop are printed.
 */
import { startServer } from "../mod.ts";

const client = new Deno.Command(Deno.execPath(), {
  args: ["run", "--allow-net=127.0.0.1", new URL("./_echo_client.ts", import.meta.url).href],
  stdin: "piped",
  stdout: "piped",
  stderr: "inherit",
}).spawn();
client.unref();
const commands = client.stdin.getWriter();
const answers = client.stdout.pipeThrough(new TextDecoderStream()).getReader();
const encoder = new TextEncoder();
let pending = "";

/** Sends one command to the client and returns its one-line answer. */
async function ask(command: string): Promise<string> {
  await commands.write(encoder.encode(command + "\n"));
  let nl: number;
  while ((nl = pending.indexOf("\n")) < 0) {
    const { value, done } = await answers.read();
    if (done) throw new Error("The echo client exited");
    pending += value;
  }
  const line = pending.slice(0, nl);
  pending = pending.slice(nl + 1);
  return line;
}

// ---------------------------------------------------------------- servers

const aio = await startServer(async (reader, writer) => {
  for (;;) {
    const data = await reader.read(102400);
    if (data.length === 0) break;
    writer.write(data);
    await writer.drain();
  }
}, { host: "127.0.0.1", port: 0 });

const bareListener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
(async () => {
  for await (const conn of bareListener) {
    conn.setNoDelay(true);
    (async () => {
      const buf = new Uint8Array(102400);
      try {
        for (;;) {
          const n = await conn.read(buf);
          if (n === null) break;
          let written = 0;
          while (written < n) written += await conn.write(buf.subarray(written, n));
        }
      } catch {
        // The client went away.
      } finally {
        conn.close();
      }
    })();
  }
})();

const servers = {
  "bare Deno.listen: read into one 100 KiB buffer, write it back": bareListener.addr.port,
  "aio startServer: read(102400), write, await drain()": aio.addr.port,
};

// ------------------------------------------------------------------ benches

const RUNS = { n: 10, warmup: 3 };
/** Requests per second of every measured iteration, by group and name. */
const rates = new Map<string, Map<string, number[]>>();

function group(label: string, conns: number, size: number, rounds: number): void {
  const byName = new Map<string, number[]>();
  rates.set(label, byName);
  let first = true;
  for (const [name, port] of Object.entries(servers)) {
    const seen: number[] = [];
    byName.set(name, seen);
    Deno.bench(name, { group: label, baseline: first, ...RUNS }, async (b) => {
      if (await ask(`open ${port} ${conns} ${size}`) !== "ready") throw new Error("open failed");
      b.start();
      const t0 = performance.now();
      const answer = await ask(`go ${rounds}`);
      const elapsed = performance.now() - t0;
      b.end();
      await ask("close");
      if (answer !== `done ${conns * rounds}`) throw new Error(`unexpected: ${answer}`);
      seen.push(conns * rounds / (elapsed / 1000));
    });
    first = false;
  }
}

group("100 conns × 1 KiB ping-pong", 100, 1024, 100);
group("10 conns × 64 KiB ping-pong", 10, 64 * 1024, 200);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[s.length >> 1];
};

globalThis.addEventListener("unload", () => {
  for (const [label, byName] of rates) {
    const [bare, ...others] = [...byName];
    const base = median(bare[1]);
    console.log(`${label}: ${bare[0]}: ${Math.round(base)} req/s (median)`);
    for (const [name, seen] of others) {
      const rate = median(seen);
      console.log(
        `${label}: ${name}: ${Math.round(rate)} req/s (median), ${(rate / base).toFixed(2)}× bare`,
      );
    }
  }
});
