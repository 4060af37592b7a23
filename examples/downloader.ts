/**
 * downloader: fetch many files at once — the asyncio tutorials' concurrent
 * image downloader, grown into a usable tool on aio's `TaskGroup`,
 * `Semaphore` and streams.
 *
 *     deno run --allow-net --allow-read --allow-write examples/downloader.ts -o out URL...
 *
 * - at most `-c N` downloads at once (a `Semaphore`), all owned by one
 *   `TaskGroup`: Ctrl-C cancels the group, and every task removes its
 *   `.part` file on the way out;
 * - network errors, 5xx, 408 and 429 responses are retried with
 *   exponential backoff and jitter, honouring `Retry-After`; failures that
 *   cannot succeed (an unknown host, TLS, other 4xx) are not;
 * - each file is written to `NAME.part` and renamed to `NAME` only once
 *   complete, so a failed or interrupted download never leaves a partial
 *   file under its final name; neither name is followed as a link;
 * - a retry, and with `--continue` a later run, resumes a `.part` with a
 *   `Range` request validated by `If-Range`, as `wget -c` does;
 * - file names come from the URL path, sanitised so that they never leave
 *   the output directory; duplicates get distinct names;
 * - a live progress line on a terminal, plain log lines otherwise, and a
 *   summary table at the end. Exit status 1 if any download failed.
 *
 * Permissions: `--allow-net` (or `--allow-net=HOST,...`), `--allow-write`
 * and `--allow-read` for the output directory (`--allow-read` also for
 * `-i FILE` and `--cacert FILE`).
 *
 * @module
 */

import { main } from "./downloader/mod.ts";

if (import.meta.main) Deno.exit(await main(Deno.args));
