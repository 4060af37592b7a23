/**
 * Soak test, run on demand (not in CI): many concurrent connections and a
 * million echoed messages against `startServer`, every message checked.
 *
 *     deno run -A tools/with_std.ts run -A tools/soak.ts \
 *       [--connections N] [--messages M] [--window W]
 *
 * Defaults: 10,000 connections, 1,000,000 messages, 10 messages in flight per
 * connection. Every connection is opened before any message is sent, so all
 * of them are open at once; then each sends its share of the messages, W at
 * a time, and checks each echo; then it half-closes and waits for the
 * server's end of stream.
 *
 * The server runs in this process and the clients in a second one (this
 * script with `--client`): 10,000 connections need 10,000 descriptors on
 * each side, and one process with both would need 20,000, the hard limit
 * of many machines. Both processes sample `Deno.memoryUsage().rss` every
 * 100 ms.
 *
 * Open resources at the end, which must all be zero: descriptors over the
 * baseline in each process (the entries of `/proc/self/fd`, Linux; Deno 2
 * has no `Deno.resources()`), and the server's live connections (handlers
 * still running, counted by the handler itself). Each baseline is taken once
 * the runtime has settled (Deno opens a Unix socket pair for itself about
 * 0.4 s after start). The script exits with 1 if
 * any is not zero, or if a message came back wrong. Deno lets a script read
 * `/proc/self` only with all permissions (`-A`); with fewer (e.g.
 * `--allow-net=127.0.0.1 --allow-read --allow-run`) the soak runs and the
 * descriptor counts read "n/a".
 *
 * @module
 */

import { openConnection, startServer, type StreamReader, type StreamWriter } from "../mod.ts";
import { parseToolArgs } from "./_args.ts";

interface Options {
  connections: number;
  messages: number;
  window: number;
  client: boolean;
  port: number;
}

function parseArgs(args: string[]): Options {
  return parseToolArgs(args, { connections: 10_000, messages: 1_000_000, window: 10, port: 0 });
}

/**
 * The open descriptors of this process and what each points at (Linux), or
 * `undefined` where `/proc/self` cannot be read.
 */
function openFds(): Map<string, string> | undefined {
  try {
    const fds = new Map<string, string>();
    for (const entry of Deno.readDirSync("/proc/self/fd")) {
      let target = "?";
      try {
        target = Deno.readLinkSync(`/proc/self/fd/${entry.name}`);
      } catch {
        // Closed while listing: the directory's own descriptor.
      }
      fds.set(entry.name, target);
    }
    return fds;
  } catch {
    return undefined;
  }
}

/**
 * The descriptors once the runtime has settled: Deno opens a Unix socket
 * pair for itself about 0.4 s after it starts, whatever the script does, so
 * the baseline is taken once the count has held still for half a second.
 */
async function baselineFds(): Promise<Map<string, string> | undefined> {
  let fds = openFds();
  if (fds === undefined) return undefined;
  for (let still = 0, waited = 0; still < 500 && waited < 3000; waited += 100) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const now = openFds()!;
    still = now.size === fds.size ? still + 100 : 0;
    fds = now;
  }
  return fds;
}

/** Descriptors open now that were not in `before`, as "fd -> target". */
function newFds(
  before: Map<string, string> | undefined,
  after: Map<string, string> | undefined,
): string[] | null {
  if (before === undefined || after === undefined) return null;
  return [...after].filter(([fd, target]) => before.get(fd) !== target).map(([fd, target]) =>
    `${fd} -> ${target}`
  );
}

/** The soft limit on open files, from `/proc/self/limits` (Linux). */
function fdLimit(): string {
  try {
    const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(Deno.readTextFileSync("/proc/self/limits"));
    return m ? `${m[1]} soft, ${m[2]} hard` : "unknown";
  } catch {
    return "unknown";
  }
}

/** Samples the resident set size until stopped; `peak` is the largest seen. */
function rssSampler(): { peak: () => number; stop: () => void } {
  let peak = Deno.memoryUsage().rss;
  const id = setInterval(() => peak = Math.max(peak, Deno.memoryUsage().rss), 100);
  return {
    peak: () => Math.max(peak, Deno.memoryUsage().rss),
    stop: () => clearInterval(id),
  };
}

const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

/** The message `seq` of connection `conn`: its bytes are all checked on the way back. */
function message(conn: number, seq: number): string {
  return `msg ${conn} ${seq} ${"abcdefghijklmnopqrstuvwxyz".slice(0, (conn + seq) % 27)}\n`;
}

interface ClientReport {
  connections: number;
  peakOpen: number;
  messages: number;
  bytes: number;
  mismatches: number;
  errors: string[];
  connectMs: number;
  echoMs: number;
  peakRss: number;
  /** Descriptors open at the end that were not at the start, or null if unknown. */
  newFds: string[] | null;
}

async function runClients(options: Options): Promise<ClientReport> {
  const { connections: n, messages: total, window, port } = options;
  const fdsBefore = await baselineFds();
  const rss = rssSampler();
  const errors: string[] = [];
  let open = 0;
  let peakOpen = 0;
  let messages = 0;
  let bytes = 0;
  let mismatches = 0;
  const started = performance.now();
  // Connect in waves: a burst larger than the accept backlog costs SYN retries.
  const conns: { reader: StreamReader; writer: StreamWriter }[] = [];
  const WAVE = 500;
  for (let i = 0; i < n; i += WAVE) {
    const wave = await Promise.all(
      Array.from({ length: Math.min(WAVE, n - i) }, () => openConnection("127.0.0.1", port)),
    );
    for (const c of wave) conns.push(c);
    open += wave.length;
    peakOpen = Math.max(peakOpen, open);
  }
  const connected = performance.now();
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  await Promise.all(conns.map(async ({ reader, writer }, c) => {
    // This connection's share: total / n, the remainder spread over the first ones.
    const share = Math.floor(total / n) + (c < total % n ? 1 : 0);
    try {
      for (let seq = 0; seq < share; seq += window) {
        const batch = Math.min(window, share - seq);
        for (let k = 0; k < batch; k++) writer.write(message(c, seq + k));
        await writer.drain();
        for (let k = 0; k < batch; k++) {
          const expected = message(c, seq + k);
          const got = decoder.decode(await reader.readLine());
          if (got !== expected) {
            mismatches++;
            if (errors.length < 10) errors.push(`conn ${c} msg ${seq + k}: got ${got}`);
          }
          messages++;
          bytes += encoder.encode(expected).length;
        }
      }
      writer.writeEof();
      const rest = await reader.read();
      if (rest.length !== 0) throw new Error(`conn ${c}: ${rest.length} bytes after the echoes`);
    } catch (e) {
      if (errors.length < 10) errors.push(`conn ${c}: ${e}`);
    } finally {
      writer.close();
      await writer.waitClosed().catch(() => {});
      open--;
    }
  }));
  const done = performance.now();
  rss.stop();
  const fdsAfter = openFds();
  return {
    connections: conns.length,
    peakOpen,
    messages,
    bytes,
    mismatches,
    errors,
    connectMs: connected - started,
    echoMs: done - connected,
    peakRss: rss.peak(),
    newFds: newFds(fdsBefore, fdsAfter),
  };
}

async function runServer(options: Options): Promise<number> {
  const fdsBefore = await baselineFds();
  const rss = rssSampler();
  let live = 0;
  let peakLive = 0;
  let served = 0;
  const serverErrors: string[] = [];
  const server = await startServer(async (reader, writer) => {
    peakLive = Math.max(peakLive, ++live);
    try {
      for await (const line of reader) {
        writer.write(line);
        served++;
        await writer.drain();
      }
    } finally {
      live--;
    }
  }, {
    host: "127.0.0.1",
    port: 0,
    backlog: 4096,
    onError: (e) => void (serverErrors.length < 10 && serverErrors.push(String(e))),
  });
  console.log(
    `soak: ${options.connections} connections, ${options.messages} messages, window ` +
      `${options.window}; open files limit ${fdLimit()}`,
  );
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-lock",
      // Counting its descriptors needs all permissions, like this process.
      ...(fdsBefore === undefined ? ["--allow-net=127.0.0.1"] : ["--allow-all"]),
      new URL(import.meta.url).pathname,
      "--client",
      "--port",
      String(server.addr.port),
      "--connections",
      String(options.connections),
      "--messages",
      String(options.messages),
      "--window",
      String(options.window),
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const output = await child.output();
  const elapsed = performance.now() - started;
  let report: ClientReport;
  try {
    report = JSON.parse(new TextDecoder().decode(output.stdout));
  } catch {
    console.error(`the client process failed (exit ${output.code})`);
    server.close();
    return 1;
  }
  // Every handler ends once its client's EOF is read and its writer closed.
  for (let i = 0; i < 1000 && live > 0; i++) await new Promise((r) => setTimeout(r, 10));
  server.close();
  await server.waitClosed();
  rss.stop();
  const fdsAfter = openFds();
  const serverNew = newFds(fdsBefore, fdsAfter);
  const echoS = report.echoMs / 1000;
  const lines = [
    `connections:        ${report.connections} (all ${report.peakOpen} open at once; ` +
    `server handlers at once: ${peakLive})`,
    `messages:           ${report.messages} echoed and checked, ${report.mismatches} wrong ` +
    `(server handled ${served})`,
    `connect:            ${(report.connectMs / 1000).toFixed(2)} s for ${report.connections} ` +
    `connections (${(report.connections / (report.connectMs / 1000)).toFixed(0)} conn/s)`,
    `throughput:         ${(report.messages / echoS).toFixed(0)} msg/s, ` +
    `${(report.bytes / echoS / 1e6).toFixed(2)} MB/s each way (${report.bytes} bytes in ` +
    `${echoS.toFixed(2)} s)`,
    `elapsed:            ${(elapsed / 1000).toFixed(2)} s in all`,
    `peak RSS:           server ${mib(rss.peak())}, clients ${mib(report.peakRss)}`,
    `open at the end:    server fds over baseline ${serverNew?.length ?? "n/a"}, client fds ` +
    `over baseline ${report.newFds?.length ?? "n/a"}, live server connections ${live}`,
    `errors:             client ${report.errors.length}, server ${serverErrors.length}`,
  ];
  for (const line of lines) console.log(line);
  for (const fd of serverNew ?? []) console.log(`  server fd ${fd}`);
  for (const fd of report.newFds ?? []) console.log(`  client fd ${fd}`);
  for (const e of [...report.errors, ...serverErrors]) console.log(`  ${e}`);
  const leaked = (serverNew?.length ?? 0) !== 0 || (report.newFds?.length ?? 0) !== 0 ||
    live !== 0;
  const ok = !leaked && report.mismatches === 0 && report.errors.length === 0 &&
    serverErrors.length === 0 && report.messages === options.messages &&
    report.peakOpen === options.connections;
  console.log(ok ? "soak: ok" : "soak: FAILED");
  return ok ? 0 : 1;
}

if (import.meta.main) {
  const options = parseArgs(Deno.args);
  if (options.client) {
    const report = await runClients(options);
    console.log(JSON.stringify(report));
  } else {
    Deno.exit(await runServer(options));
  }
}
