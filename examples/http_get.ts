/**
 * http_get: an HTTP GET written on aio's streams — the asyncio tutorials'
 * `open_connection` example, grown into a usable tool. With `--count N` it
 * makes N requests at once and prints each result as it completes
 * (`asCompleted`), with its index and timing.
 *
 *     deno run --allow-net examples/http_get.ts http://example.com/
 *     deno run --allow-net examples/http_get.ts --count 10 http://example.com/
 *
 * Permissions: `--allow-net` (or `--allow-net=HOST`), plus `--allow-read`
 * for `--cacert FILE`.
 *
 * @module
 */
import { asCompleted, createTask, isCancellation, type Task, TaskGroup } from "../mod.ts";
import { createHash } from "node:crypto";
import { ConnectionError } from "../mod.ts";
import { explainConnectFailure, HttpClient, type HttpResponse, toHttpUrl } from "./http/mod.ts";
import { formatBytes, formatDuration, parseOptions, UsageError, writeAll } from "./_shared/mod.ts";

const HELP = `Usage: http_get.ts URL [--count N] [--include] [--timeout S] [--cacert FILE]

Sends GET requests over HTTP/1.1 (http: or https:) and prints the result.

  URL             the http:// or https:// URL to get
  --count N       send N requests at once and print each result as it
                  completes, with its index, size, SHA-256 and time (default 1:
                  print the body); the bodies are hashed as they arrive,
                  never held
  --include, -i   print the status line and the header fields
  --timeout S     give up a request after S seconds (default 30)
  --cacert FILE   also trust the CA certificate(s) in FILE (PEM), for https:
  --help, -h      show this help

Redirects are followed (at most 5). Without --count, the status line goes to
stderr and the body to stdout, so 'http_get.ts URL > file' saves the body;
with --include, the head goes to stdout before the body, like 'curl -i'.

Exit status: 0 when every request got a response with a status below 400,
1 when a request failed or got a status of 400 or more, 2 for a bad command
line, 130 when interrupted (Ctrl-C).
`;

const encoder = new TextEncoder();

/** What one of the `--count` requests ended with: a response, or an error. */
type Outcome =
  | {
    ok: true;
    status: string;
    good: boolean;
    head: string;
    bytes: number;
    sha256: string;
    ms: number;
  }
  | { ok: false; error: unknown; ms: number };

function statusLine(res: HttpResponse): string {
  return `HTTP/${res.version} ${res.status} ${res.statusText}`.trimEnd();
}

function headText(res: HttpResponse): string {
  const lines = [statusLine(res), ...res.fields.map(([name, value]) => `${name}: ${value}`)];
  return lines.join("\n") + "\n\n";
}

function describeError(e: unknown): string {
  if (e instanceof ConnectionError) return `${e.name}: ${explainConnectFailure(e.message)}`;
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}

async function getOnce(client: HttpClient, url: URL, include: boolean, timeout: number) {
  await using res = await client.get(url, { timeout });
  if (include) await writeAll(Deno.stdout, encoder.encode(headText(res)));
  else console.error(statusLine(res));
  for await (const chunk of res) await writeAll(Deno.stdout, chunk);
  return res.status;
}

async function getMany(
  client: HttpClient,
  url: URL,
  count: number,
  include: boolean,
  timeout: number,
): Promise<boolean> {
  const start = performance.now();
  const width = String(count - 1).length;
  let good = 0;
  // The group owns the requests: Ctrl-C (cancelling this task) cancels them
  // all. Each request reports its own failure instead of failing the group.
  await TaskGroup.run(async (tg) => {
    const tasks: Task<Outcome>[] = [];
    for (let i = 0; i < count; i++) {
      tasks.push(tg.createTask(async (): Promise<Outcome> => {
        try {
          await using res = await client.get(url, { timeout });
          // Counted and hashed as it streams: no body is held whole.
          const hash = createHash("sha256");
          let bytes = 0;
          for await (const chunk of res) {
            hash.update(chunk);
            bytes += chunk.length;
          }
          return {
            ok: true,
            status: statusLine(res),
            good: res.status < 400,
            head: include ? headText(res) : "",
            bytes,
            sha256: hash.digest("hex"),
            ms: performance.now() - start,
          };
        } catch (error) {
          if (isCancellation(error)) throw error;
          return { ok: false, error, ms: performance.now() - start };
        }
      }, { name: `get-${i}` }));
    }
    for await (const { awaitable: task, index } of asCompleted(tasks)) {
      const r = await task;
      const label = `#${String(index).padStart(width)}`;
      if (r.ok) {
        if (r.good) good++;
        console.log(
          `${label}  ${r.status}  ${formatBytes(r.bytes)}  sha256 ${r.sha256.slice(0, 16)}  ` +
            `after ${formatDuration(r.ms)}`,
        );
        if (r.head) console.log(r.head.trimEnd().replace(/^/gm, "    "));
      } else {
        console.log(`${label}  failed after ${formatDuration(r.ms)}: ${describeError(r.error)}`);
      }
    }
  });
  const total = formatDuration(performance.now() - start);
  console.log(
    `${count} requests in ${total}: ${good} ok, ${count - good} failed or got a status >= 400`,
  );
  return good === count;
}

/**
 * Runs the program.
 *
 * @param args The command-line arguments.
 * @returns The exit status.
 */
export async function main(args: string[]): Promise<number> {
  let url: URL;
  let count: number;
  let include: boolean;
  let timeout: number;
  let caCerts: string[] | undefined;
  try {
    const { options, positional } = parseOptions(args, [
      { name: "count", short: "n", type: "integer", min: 1 },
      { name: "include", short: "i", type: "flag" },
      { name: "timeout", type: "number", min: 0.001 },
      { name: "cacert", type: "string" },
      { name: "help", short: "h", type: "flag" },
    ]);
    if (options.help) {
      console.log(HELP);
      return 0;
    }
    if (positional.length !== 1) {
      throw new UsageError(positional.length === 0 ? "missing URL" : "expected one URL");
    }
    try {
      url = toHttpUrl(positional[0]);
    } catch (e) {
      throw new UsageError((e as Error).message.replace(/^Cannot send a request( to )?:?\s*/, ""));
    }
    count = (options.count as number | undefined) ?? 1;
    include = options.include === true;
    timeout = ((options.timeout as number | undefined) ?? 30) * 1000;
    if (options.cacert !== undefined) {
      caCerts = [await Deno.readTextFile(options.cacert as string)];
    }
  } catch (e) {
    if (!(e instanceof UsageError) && !(e instanceof Deno.errors.NotFound)) throw e;
    console.error(`http_get: ${e.message}\nTry 'http_get.ts --help' for more.`);
    return 2;
  }

  await using client = new HttpClient({ caCerts });
  const task = createTask(async () => {
    if (count > 1) return await getMany(client, url, count, include, timeout);
    return (await getOnce(client, url, include, timeout)) < 400;
  });
  const onSigint = () => task.cancel("interrupted");
  Deno.addSignalListener("SIGINT", onSigint);
  try {
    return (await task) ? 0 : 1;
  } catch (e) {
    if (isCancellation(e)) {
      console.error("http_get: interrupted");
      return 130;
    }
    // The reader of stdout left (`http_get URL | head`): end quietly, with
    // the status of a program that SIGPIPE ended, as coreutils do.
    if (e instanceof Deno.errors.BrokenPipe) return 141;
    console.error(`http_get: ${describeError(e)}`);
    return 1;
  } finally {
    Deno.removeSignalListener("SIGINT", onSigint);
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
