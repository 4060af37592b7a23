/**
 * The downloader's command line: options, the URL list, Ctrl-C, the live
 * progress and the summary, and the exit status.
 *
 * @module
 */
import { CancelledError, isCancellation } from "../../mod.ts";
import { HttpClient } from "../http/mod.ts";
import { parseOptions, UsageError } from "../_shared/mod.ts";
import { Downloader } from "./downloader.ts";
import { ProgressReporter } from "./progress.ts";
import { describeError } from "./retry.ts";
import { summaryTable } from "./summary.ts";
import { terminalColumns } from "./terminal.ts";

const HELP =
  `Usage: downloader.ts [-c N] [-o DIR] [--continue] [--retries N] [--timeout S] [-i FILE] URL...

Downloads files over HTTP/1.1 (http: or https:), several at once.

  URL...          the URLs to download
  -i FILE         also read URLs from FILE, one per line ('-' for stdin;
                  empty lines and lines starting with # are skipped)
  -o DIR          the directory to write to (default: the current one;
                  created if missing)
  -c N            download at most N files at once (default 4)
  --continue      resume the NAME.part files an earlier run left (like
                  'wget -c'), and keep them when a download fails or is
                  interrupted
  --retries N     retry a download up to N times after a network error (a
                  refused, reset or silent connection) or a 5xx, 408 or 429
                  response (default 3), waiting longer each time (0.5 s, 1 s,
                  2 s... with jitter), or as long as the server's Retry-After
                  asks (at most a minute); an unknown host, a TLS or
                  certificate failure and other 4xx responses are not retried
  --timeout S     fail an attempt when no data arrives for S seconds (default 30)
  --cacert FILE   also trust the CA certificate(s) in FILE (PEM), for https:
  -q, --quiet     print only the summary
  -h, --help      show this help

Each file is named after the last segment of its URL path (made safe: it
never leaves DIR) and written to NAME.part, then renamed to NAME when
complete; an existing regular file NAME is replaced, a link or directory is
not. Two URLs with the same name get NAME, NAME-1, ... A retry resumes where
the attempt stopped, with a Range request validated by If-Range (the ETag
or Last-Modified the server sent); a server that ignores ranges, or whose
file changed, sends it all again and the file starts over. With --continue
the validator is kept in NAME.part.meta, so that a later run can resume
too. Ctrl-C stops every download and removes the .part files (keeps them,
with --continue).

Exit status: 0 when every file was downloaded, 1 when any failed, 2 for a
bad command line, 130 when interrupted.
`;

async function readUrlList(path: string): Promise<string[]> {
  const text = path === "-"
    ? await new Response(Deno.stdin.readable).text()
    : await Deno.readTextFile(path);
  return text.split(/\r?\n/).map((line) => line.trim()).filter((line) =>
    line !== "" && !line.startsWith("#")
  );
}

/**
 * Runs the program.
 *
 * @param args The command-line arguments.
 * @returns The exit status.
 */
export async function main(args: string[]): Promise<number> {
  let urls: string[];
  let dir: string;
  let concurrency: number;
  let retries: number;
  let readTimeout: number;
  let quiet: boolean;
  let resume: boolean;
  let caCerts: string[] | undefined;
  try {
    const { options, positional } = parseOptions(args, [
      { name: "concurrency", short: "c", type: "integer", min: 1 },
      { name: "output", short: "o", type: "string" },
      { name: "retries", type: "integer", min: 0 },
      { name: "timeout", type: "number", min: 0.001 },
      { name: "input", short: "i", type: "string" },
      { name: "cacert", type: "string" },
      { name: "quiet", short: "q", type: "flag" },
      { name: "continue", type: "flag" },
      { name: "help", short: "h", type: "flag" },
    ]);
    if (options.help) {
      console.log(HELP);
      return 0;
    }
    urls = [...positional];
    if (options.input !== undefined) urls.push(...await readUrlList(options.input as string));
    if (urls.length === 0) throw new UsageError("no URLs given");
    dir = (options.output as string | undefined) ?? ".";
    concurrency = (options.concurrency as number | undefined) ?? 4;
    retries = (options.retries as number | undefined) ?? 3;
    readTimeout = ((options.timeout as number | undefined) ?? 30) * 1000;
    quiet = options.quiet === true;
    resume = options.continue === true;
    if (options.cacert !== undefined) {
      caCerts = [await Deno.readTextFile(options.cacert as string)];
    }
  } catch (e) {
    if (!(e instanceof UsageError) && !(e instanceof Deno.errors.NotFound)) throw e;
    console.error(`downloader: ${e.message}\nTry 'downloader.ts --help' for more.`);
    return 2;
  }
  try {
    await Deno.mkdir(dir, { recursive: true });
  } catch (e) {
    console.error(`downloader: cannot create the output directory ${dir}: ${describeError(e)}`);
    return 1;
  }

  const started = performance.now();
  await using client = new HttpClient({ caCerts, maxConnectionsPerOrigin: concurrency });
  const downloader = new Downloader(urls, {
    dir,
    concurrency,
    retries,
    readTimeout,
    client,
    resume,
  });
  const reporter = new ProgressReporter(downloader.results, { quiet });
  const interrupt = new AbortController();
  const onSigint = () => {
    if (interrupt.signal.aborted) Deno.exit(130); // a second Ctrl-C: leave now
    interrupt.abort(new CancelledError("interrupted by Ctrl-C"));
  };
  Deno.addSignalListener("SIGINT", onSigint);
  let interrupted = false;
  reporter.start();
  try {
    await downloader.run({ signal: interrupt.signal, onEvent: reporter.onEvent });
  } catch (e) {
    if (!isCancellation(e)) throw e;
    interrupted = true;
  } finally {
    reporter.stop();
    Deno.removeSignalListener("SIGINT", onSigint);
  }
  const columns = terminalColumns(Deno.stdout);
  console.log(summaryTable(downloader.results, performance.now() - started, columns));
  if (interrupted) {
    console.error(
      resume
        ? "downloader: interrupted; run it again with --continue to resume the .part files"
        : "downloader: interrupted; unfinished downloads were removed",
    );
    return 130;
  }
  return downloader.results.every((r) => r.state === "ok") ? 0 : 1;
}
