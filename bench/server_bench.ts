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
 * After the run, the median requests per second of every contender are
 * printed, and for the others their ratio to the bare loop: each measured
 * round is paired with an untimed bare round run just before it, so that the
 * ratio compares the two under the same machine load. Beside it, the
 * servers' CPU time per request, a figure the machine's load hardly moves.
 *
 * A third contender is a bare loop that reads into a fresh buffer every
 * time: what any reader that returns bytes its caller owns (asyncio's
 * `bytes`, aio's `read()`) must at least pay.
 */
import process from "node:process";
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

/**
 * A bare echo loop over `Deno.listen`. `fresh`: a new 100 KiB buffer for
 * every read, as a reader that hands out bytes its caller owns must have:
 * near the floor of what aio's `read()` can cost.
 */
function bareServer(fresh: boolean): Deno.TcpListener {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  (async () => {
    for await (const conn of listener) {
      conn.setNoDelay(true);
      (async () => {
        let buf = new Uint8Array(102400);
        try {
          for (;;) {
            if (fresh) buf = new Uint8Array(102400);
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
  return listener;
}
const bareListener = bareServer(false);
const freshListener = bareServer(true);

const servers = {
  "bare Deno.listen: read into one 100 KiB buffer, write it back": bareListener.addr.port,
  "bare Deno.listen, a fresh 100 KiB buffer per read": freshListener.addr.port,
  "aio startServer: read(102400), write, await drain()": aio.addr.port,
};

// ------------------------------------------------------------------ benches

const RUNS = { n: 10, warmup: 3 };
const BARE = Object.values(servers)[0];

/** What one round of ping-pongs measured. */
interface Round {
  /** Requests per second. */
  rate: number;
  /**
   * CPU time (user + system) of this process, i.e. of the servers, per
   * request, in microseconds: unlike the rate, it hardly moves with the
   * machine's load.
   */
  cpu: number;
}

/** One round of ping-pongs against the server at `port`. */
async function round(
  port: number,
  conns: number,
  size: number,
  rounds: number,
  b?: Deno.BenchContext,
): Promise<Round> {
  if (await ask(`open ${port} ${conns} ${size}`) !== "ready") throw new Error("open failed");
  b?.start();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const answer = await ask(`go ${rounds}`);
  const elapsed = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  b?.end();
  await ask("close");
  if (answer !== `done ${conns * rounds}`) throw new Error(`unexpected: ${answer}`);
  const requests = conns * rounds;
  return { rate: requests / (elapsed / 1000), cpu: (cpu.user + cpu.system) / requests };
}

interface Seen {
  rates: number[];
  cpus: number[];
  /** Each measured round's rate over that of a bare round run just before it. */
  ratios: number[];
}
const results = new Map<string, Map<string, Seen>>();

function group(label: string, conns: number, size: number, rounds: number): void {
  const byName = new Map<string, Seen>();
  results.set(label, byName);
  for (const [name, port] of Object.entries(servers)) {
    const seen: Seen = { rates: [], cpus: [], ratios: [] };
    byName.set(name, seen);
    const baseline = port === BARE;
    Deno.bench(name, { group: label, baseline, ...RUNS }, async (b) => {
      // The machine's load swings: a bare round right before each measured
      // one gives a ratio that compares the two under the same load.
      const bare = baseline ? 0 : (await round(BARE, conns, size, rounds)).rate;
      const { rate, cpu } = await round(port, conns, size, rounds, b);
      seen.rates.push(rate);
      seen.cpus.push(cpu);
      if (!baseline) seen.ratios.push(rate / bare);
    });
  }
}

group("100 conns × 1 KiB ping-pong", 100, 1024, 100);
group("10 conns × 64 KiB ping-pong", 10, 64 * 1024, 200);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[s.length >> 1];
};

globalThis.addEventListener("unload", () => {
  for (const [label, byName] of results) {
    for (const [name, { rates, cpus, ratios }] of byName) {
      const ratio = ratios.length === 0
        ? ""
        : `, ${median(ratios).toFixed(2)}× bare (median of ${ratios.length} paired rounds, ` +
          `${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`;
      console.log(
        `${label}: ${name}: ${Math.round(median(rates))} req/s (median)${ratio}; ` +
          `server CPU ${median(cpus).toFixed(1)} µs per request (median)`,
      );
    }
  }
});
