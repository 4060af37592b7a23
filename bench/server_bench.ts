/**
 * Echo servers under ping-pong load, side by side in one run: aio's
 * `startServer` with the handler `read(102400)` → `write` → `await drain()`,
 * and a bare `Deno.listen` loop that reads into one 100 KiB buffer and
 * writes it back. Every server runs in a process of its own
 * (`_echo_server.ts`), as a server is deployed: in one shared process, what
 * one server did to the heap and to the C allocator's free lists changed
 * what the next one cost (aio's 64 KiB echo made 2–3× the requests per
 * second beside the others that it makes alone). The load comes from a
 * client in its own process too (`_echo_client.ts`): each connection sends
 * a message, waits for the whole echo, and sends the next; connecting is
 * outside the timed section.
 *
 *     deno task bench bench/server_bench.ts
 *
 * Groups: 100 connections × 1 KiB messages, 10 connections × 64 KiB.
 * After the run, the median requests per second of every contender are
 * printed, and for the others their ratio to the bare loop: each measured
 * round is paired with an untimed bare round run just before it, so that the
 * ratio compares the two under the same machine load. Beside it, the
 * server's CPU time per request, a figure the machine's load hardly moves.
 *
 * A third contender is a bare loop that reads into a fresh buffer every
 * time: what any reader that returns bytes its caller owns (asyncio's
 * `bytes`, aio's `read()`) must at least pay.
 */
import { TextLineStream } from "@std/streams";

const encoder = new TextEncoder();

/** A helper process that answers each command line with one line. */
class Helper {
  readonly #commands: WritableStreamDefaultWriter<Uint8Array>;
  readonly #answers: ReadableStreamDefaultReader<string>;

  constructor(script: string, args: string[]) {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-lock",
        "--allow-net=127.0.0.1",
        new URL(script, import.meta.url).href,
        ...args,
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    // It exits when its stdin ends, i.e. with this process.
    this.#commands = child.stdin.getWriter();
    this.#answers = child.stdout
      .pipeThrough(new TextDecoderStream())
      .pipeThrough<string>(new TextLineStream())
      .getReader();
  }

  /** The next line the helper prints. */
  async line(): Promise<string> {
    const { value, done } = await this.#answers.read();
    if (done) throw new Error("A bench helper process exited");
    return value;
  }

  /** Sends one command and returns its one-line answer. */
  async ask(command: string): Promise<string> {
    await this.#commands.write(encoder.encode(command + "\n"));
    return await this.line();
  }
}

// ---------------------------------------------------------------- servers

/** A server process: its port, and a way to read its CPU time. */
interface Server {
  port: number;
  /** The CPU time (user + system) the server's process has used, in µs. */
  cpu(): Promise<number>;
}

async function server(kind: "aio" | "bare" | "fresh"): Promise<Server> {
  const helper = new Helper("./_echo_server.ts", [kind]);
  const port = Number((await helper.line()).split(" ")[1]);
  return {
    port,
    cpu: async () => Number((await helper.ask("cpu")).split(" ")[1]),
  };
}

const client = new Helper("./_echo_client.ts", []);
const bare = await server("bare");
const servers: Record<string, Server> = {
  "bare Deno.listen: read into one 100 KiB buffer, write it back": bare,
  "bare Deno.listen, a fresh 100 KiB buffer per read": await server("fresh"),
  "aio startServer: read(102400), write, await drain()": await server("aio"),
};

// ------------------------------------------------------------------ benches

const RUNS = { n: 10, warmup: 3 };

/** What one round of ping-pongs measured. */
interface Round {
  /** Requests per second. */
  rate: number;
  /**
   * CPU time (user + system) of the server's process per request, in
   * microseconds: unlike the rate, it hardly moves with the machine's load.
   */
  cpu: number;
}

/** One round of ping-pongs against `server`. */
async function round(
  server: Server,
  conns: number,
  size: number,
  rounds: number,
  b?: Deno.BenchContext,
): Promise<Round> {
  if (await client.ask(`open ${server.port} ${conns} ${size}`) !== "ready") {
    throw new Error("open failed");
  }
  const cpu0 = await server.cpu();
  b?.start();
  const t0 = performance.now();
  const answer = await client.ask(`go ${rounds}`);
  const elapsed = performance.now() - t0;
  b?.end();
  const cpu = await server.cpu() - cpu0;
  await client.ask("close");
  if (answer !== `done ${conns * rounds}`) throw new Error(`unexpected: ${answer}`);
  const requests = conns * rounds;
  return { rate: requests / (elapsed / 1000), cpu: cpu / requests };
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
  for (const [name, server] of Object.entries(servers)) {
    const seen: Seen = { rates: [], cpus: [], ratios: [] };
    byName.set(name, seen);
    const baseline = server === bare;
    Deno.bench(name, { group: label, baseline, ...RUNS }, async (b) => {
      // The machine's load swings: a bare round right before each measured
      // one gives a ratio that compares the two under the same load.
      const bareRate = baseline ? 0 : (await round(bare, conns, size, rounds)).rate;
      const { rate, cpu } = await round(server, conns, size, rounds, b);
      seen.rates.push(rate);
      seen.cpus.push(cpu);
      if (!baseline) seen.ratios.push(rate / bareRate);
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
