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
import {
  CancelledError,
  ConnectionError,
  InvalidStateError,
  isCancellation,
  Semaphore,
  sleep,
  TaskGroup,
  TimeoutError,
} from "../mod.ts";
import { unicodeWidth } from "@std/cli/unicode-width";
import { join } from "@std/path";
import {
  explainConnectFailure,
  HttpClient,
  HttpProtocolError,
  type HttpResponse,
  IncompleteBodyError,
  permanentConnectFailure,
  RemoteDisconnectedError,
  toHttpUrl,
} from "./http/mod.ts";
import { checkNumber } from "./http/check.ts";
import { formatBytes, formatDuration, parseOptions, UsageError, writeAll } from "./http/cli.ts";

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

// ------------------------------------------------------------ file names

/** Device names Windows reserves, with any extension (`NUL.txt` is `NUL`); `¹²³` count as digits. */
const WINDOWS_RESERVED =
  /^(con|prn|aux|nul|com[0-9\u00b9\u00b2\u00b3]|lpt[0-9\u00b9\u00b2\u00b3]|conin\$|conout\$) *(\..*)?$/i;
/**
 * Replaced by `_`: control characters (C0 and C1), what Windows forbids,
 * line and paragraph separators, and the bidirectional controls that make
 * a name display as another one.
 */
const UNSAFE = /[\p{Cc}<>:"|?*\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;
const MAX_NAME_BYTES = 200;
const encoder = new TextEncoder();

/**
 * A file name for `url`, safe to join to a directory: the last non-empty
 * segment of the URL path, percent-decoded, with everything up to its last
 * `/` or `\` dropped, control and reserved characters replaced by `_`,
 * leading dots and trailing dots and spaces removed, and at most 200 bytes
 * long. `index.html` for a directory URL, `download` when nothing is left.
 *
 * @param url The URL.
 * @returns A name without path separators that is neither `.` nor `..`.
 */
export function safeFileName(url: URL): string {
  const segments = url.pathname.split("/");
  const last = segments.at(-1) ?? "";
  if (last === "") return "index.html";
  let name: string;
  try {
    name = decodeURIComponent(last);
  } catch {
    name = last;
  }
  name = sanitize(name);
  // A name whose compatibility form (NFKC) is unsafe — `‥` is `..`, `／` is
  // `/` — is made of that form instead, for any tool that normalises it.
  const compatible = name.normalize("NFKC");
  if (compatible !== name && sanitize(compatible) !== compatible) name = sanitize(compatible);
  return name === "" ? "download" : name;
}

/** The rules of {@linkcode safeFileName} on a decoded name; `""` when nothing is left. */
function sanitize(decoded: string): string {
  let name = decoded.slice(Math.max(decoded.lastIndexOf("/"), decoded.lastIndexOf("\\")) + 1);
  name = name.replace(UNSAFE, "_");
  // Trimmed again after the cut, which may end the name with a dot or space;
  // one byte is kept for the `_` a reserved name gets.
  name = trimName(truncateName(trimName(name), MAX_NAME_BYTES - 1));
  return WINDOWS_RESERVED.test(name) ? `_${name}` : name;
}

const TRIMMED = /[.\s]/;

/** Without leading dots and spaces and trailing ones (a loop: `/[.\s]+$/` is quadratic). */
function trimName(name: string): string {
  let start = 0;
  let end = name.length;
  while (start < end && TRIMMED.test(name[start])) start++;
  while (end > start && TRIMMED.test(name[end - 1])) end--;
  return name.slice(start, end);
}

/** At most `max` bytes of UTF-8, keeping a short extension; whole code points only. */
function truncateName(name: string, max: number): string {
  if (encoder.encode(name).length <= max) return name;
  const dot = name.lastIndexOf(".");
  const ext = dot > 0 && name.length - dot <= 16 ? name.slice(dot) : "";
  let room = max - encoder.encode(ext).length;
  let stem = "";
  for (const c of name.slice(0, name.length - ext.length)) {
    const size = encoder.encode(c).length;
    if (size > room) break;
    room -= size;
    stem += c;
  }
  return stem + ext;
}

/**
 * The file a name stands for where names are compared without case and
 * without Unicode normalisation (macOS, Windows): `Café`, `cafe\u0301` and
 * `CAFÉ` are one file. Lower, upper, then lower case again folds `ẞ`, `ß`
 * and `SS` together, and `ς` with `σ`.
 */
function fileKey(name: string): string {
  return name.normalize("NFC").toLowerCase().toUpperCase().toLowerCase().normalize("NFC");
}

/**
 * Hands out distinct file names: a name already given (compared without
 * case or Unicode normalisation, as on macOS and Windows), or one that
 * would collide with another download's `.part` or `.part.meta` file, becomes
 * `stem-1.ext`, `stem-2.ext`, ...
 */
export class NameRegistry {
  #taken = new Set<string>();

  /**
   * Reserves a distinct name based on `name`.
   *
   * @param name The wanted name.
   * @returns `name`, or a numbered variant of it.
   */
  reserve(name: string): string {
    const dot = name.lastIndexOf(".");
    const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ""];
    for (let n = 0;; n++) {
      const candidate = n === 0 ? name : `${stem}-${n}${ext}`;
      const key = fileKey(candidate);
      const own = [key, `${key}.part`, `${key}.part.meta`];
      if (own.every((k) => !this.#taken.has(k))) {
        for (const k of own) this.#taken.add(k);
        return candidate;
      }
    }
  }
}

// ------------------------------------------------------------- retrying

/** A response with a status that is not a success. */
export class HttpStatusError extends Error {
  /** The status code. */
  readonly status: number;
  /** Milliseconds the server asked to wait (`Retry-After`), or `null`. */
  readonly retryAfter: number | null;

  /**
   * Creates a status error.
   *
   * @param status The status code.
   * @param statusText The reason phrase.
   * @param retryAfter The wait the server asked for, in milliseconds.
   */
  constructor(status: number, statusText: string, retryAfter: number | null) {
    super(`${status} ${statusText}`.trimEnd());
    this.name = "HttpStatusError";
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

/**
 * Milliseconds to wait from a `Retry-After` value: delay-seconds or an
 * HTTP date (RFC 9110 §10.2.3).
 *
 * @param value The field value, or `null`.
 * @param now The current time (ms since the epoch).
 * @returns The wait, at least 0, or `null` when absent or invalid.
 */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (value === null) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

const NETWORK_ERRORS = [
  ConnectionError,
  TimeoutError,
  IncompleteBodyError,
  RemoteDisconnectedError,
  Deno.errors.ConnectionReset,
  Deno.errors.ConnectionAborted,
  Deno.errors.BrokenPipe,
  Deno.errors.UnexpectedEof,
  Deno.errors.NotConnected,
  Deno.errors.TimedOut,
];

/**
 * Whether a failed attempt is worth repeating: a network error (the
 * connection was refused, cut, or went silent), or a 5xx, 429 or 408
 * response. Not a host name that does not exist, a TLS or certificate
 * failure, another 4xx, or a local problem: see {@linkcode whyNotRetried}.
 *
 * @param e What the attempt failed with.
 * @returns `true` when another attempt may succeed.
 */
export function isRetryable(e: unknown): boolean {
  if (e instanceof HttpStatusError) {
    return e.status >= 500 || e.status === 429 || e.status === 408;
  }
  if (e instanceof ConnectionError) return permanentConnectFailure(e.message) === null;
  if (e instanceof ResumeRefusedError) return true;
  return NETWORK_ERRORS.some((type) => e instanceof type);
}

/**
 * Why a failure that {@linkcode isRetryable} refuses is not tried again,
 * for the summary.
 *
 * @param e What the attempt failed with.
 * @returns The reason, or `null` for a retryable failure.
 */
export function whyNotRetried(e: unknown): string | null {
  if (isRetryable(e)) return null;
  if (e instanceof HttpStatusError) return `a ${e.status} response does not change by retrying`;
  if (e instanceof ConnectionError) return permanentConnectFailure(e.message);
  return "not a network failure";
}

// ------------------------------------------------------------ downloading

/** Where one download stands. */
export type DownloadState = "queued" | "active" | "waiting" | "ok" | "failed" | "cancelled";

/** One URL's download: live while it runs, final once `state` is ok, failed or cancelled. */
export interface DownloadResult {
  /** Its position in the input. */
  readonly index: number;
  /** The URL as given. */
  readonly url: string;
  /** The file name in the output directory (empty for an invalid URL). */
  readonly name: string;
  /** The file's path. */
  readonly path: string;
  /** Where it stands. */
  state: DownloadState;
  /** Bytes of the file so far: kept from before (a resume) plus those of this attempt. */
  bytes: number;
  /** Body bytes received over the network, in all attempts together. */
  received: number;
  /** Bytes an earlier attempt or run left that the last attempt resumed from (0 for none). */
  resumedFrom: number;
  /** Bytes left in `NAME.part` for a later run to resume (`resume` only; 0 for none). */
  kept: number;
  /** The file's whole length when known (`Content-Length`, `Content-Range`), or `null`. */
  total: number | null;
  /** Attempts made so far. */
  attempts: number;
  /** The last response status, if any. */
  status: number | null;
  /** Milliseconds from the first attempt to the end. */
  ms: number;
  /** Why each failed attempt failed, in order. */
  readonly problems: string[];
  /** Why it failed, when it did. */
  error: string | null;
}

/** What a {@linkcode Downloader} tells as it goes. */
export type DownloadEvent =
  | { type: "start"; result: DownloadResult }
  | { type: "retry"; result: DownloadResult; delay: number; reason: string }
  | { type: "done"; result: DownloadResult };

/** Settings of a {@linkcode Downloader}. */
export interface DownloaderOptions {
  /** The directory to write to (it must exist). */
  dir: string;
  /** The most downloads at once; default 4. */
  concurrency?: number;
  /** Retries after a retryable failure; default 3. */
  retries?: number;
  /** Milliseconds without data before an attempt fails; default 30 000. */
  readTimeout?: number;
  /** The HTTP client to use; default a new one (closed by `run`). */
  client?: HttpClient;
  /** The first backoff delay in ms; default 500. Each retry doubles it, with jitter. */
  backoffBase?: number;
  /** The longest backoff delay (and the longest `Retry-After` honoured) in ms; default 60 000. */
  backoffMax?: number;
  /** How to wait between attempts; default aio's `sleep` (cancellable). For tests. */
  sleep?: (ms: number) => Promise<void>;
  /** The jitter source, uniform in [0, 1); default `Math.random`. For tests. */
  random?: () => number;
  /**
   * Resume like `wget -c`: a `NAME.part` an earlier run left is continued
   * with a `Range` request validated by `If-Range`, and a failed or
   * cancelled download keeps its `.part` for the next run. Default `false`:
   * a stale `.part` is removed, and so is the `.part` of a failure. Retries
   * within a run resume either way.
   */
  resume?: boolean;
}

/** Options of {@linkcode Downloader.run}. */
export interface RunOptions {
  /** Aborting it cancels every download. */
  signal?: AbortSignal;
  /** Called on each start, retry and end of a download. */
  onEvent?: (event: DownloadEvent) => void;
}

/**
 * Why an attempt failed, in a few words: the file and URL are known from
 * where the reason is shown, so the messages that repeat the URL are
 * shortened.
 *
 * @param e What the attempt failed with.
 * @returns The reason.
 */
export function describeError(e: unknown): string {
  if (e instanceof IncompleteBodyError) {
    return `connection closed after ${e.received} of ${e.expected ?? "?"} bytes`;
  }
  if (e instanceof RemoteDisconnectedError) {
    return e.received === 0
      ? "connection closed before the response"
      : `connection closed after ${e.received} bytes of the response head`;
  }
  if (e instanceof HttpProtocolError) return e.message.replace(` from ${e.url}`, "");
  if (e instanceof TimeoutError) return e.message.replace(/^[A-Z]+ \S+: /, "");
  if (e instanceof ConnectionError) return explainConnectFailure(e.message);
  if (e instanceof HttpStatusError || e instanceof UnsafeFileError) return e.message;
  if (e instanceof TypeError && e.message.startsWith("Cannot send a request")) {
    return e.message.replace(/^Cannot send a request(?: to \S+)?: /, ""); // a bad URL
  }
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}

async function removeQuietly(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

/**
 * Downloads a list of URLs into a directory: `run()` starts them all in a
 * `TaskGroup`, at most `concurrency` at a time, and ends when all have
 * ended; `results` holds each one's live state, in input order.
 *
 * Cancelling `run()` (its `signal`, or the task running it) cancels every
 * download; each removes its `.part` file, and `run()` rejects with the
 * cancellation once all have stopped.
 */
export class Downloader {
  /** Each URL's download, in input order. */
  readonly results: DownloadResult[];
  readonly #dir: string;
  readonly #concurrency: number;
  readonly #retries: number;
  readonly #readTimeout: number;
  readonly #client: HttpClient | undefined;
  readonly #base: number;
  readonly #max: number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #random: () => number;
  readonly #resume: boolean;
  #onEvent: (event: DownloadEvent) => void = () => {};
  #ran = false;

  /**
   * Prepares the downloads: checks the URLs and gives each a distinct name.
   *
   * @param urls The URLs; an invalid one fails at once when run.
   * @param options The output directory, limits, retry policy and hooks.
   */
  constructor(urls: readonly string[], options: DownloaderOptions) {
    if (typeof options?.dir !== "string") {
      throw new TypeError(
        `Cannot create Downloader: 'dir' must be a string: current value is ${options?.dir}`,
      );
    }
    this.#dir = options.dir === "" ? "." : options.dir;
    this.#concurrency =
      checkNumber(options.concurrency, "create Downloader", "concurrency", 1, "integer") ?? 4;
    this.#retries = checkNumber(options.retries, "create Downloader", "retries", 0, "integer") ?? 3;
    this.#readTimeout =
      checkNumber(options.readTimeout, "create Downloader", "readTimeout", 1, "number") ?? 30_000;
    this.#client = options.client;
    this.#base =
      checkNumber(options.backoffBase, "create Downloader", "backoffBase", 0, "number") ?? 500;
    this.#max = checkNumber(options.backoffMax, "create Downloader", "backoffMax", 0, "number") ??
      60_000;
    this.#sleep = options.sleep ?? ((ms) => sleep(ms));
    this.#random = options.random ?? Math.random;
    this.#resume = options.resume ?? false;
    const names = new NameRegistry();
    this.results = urls.map((url, index) => {
      let name = "";
      try {
        name = names.reserve(safeFileName(toHttpUrl(url)));
      } catch {
        // Reported when run.
      }
      return {
        index,
        url,
        name,
        path: name === "" ? "" : join(this.#dir, name),
        state: "queued",
        bytes: 0,
        received: 0,
        resumedFrom: 0,
        kept: 0,
        total: null,
        attempts: 0,
        status: null,
        ms: 0,
        problems: [],
        error: null,
      };
    });
  }

  /**
   * Runs every download and waits for all of them.
   *
   * @param options `signal` cancels every download; `onEvent` hears each
   * start, retry and end.
   * @returns The results, in input order.
   * @throws The cancellation, once every download has stopped and cleaned up.
   */
  async run(options: RunOptions = {}): Promise<DownloadResult[]> {
    if (this.#ran) throw new InvalidStateError("Cannot run a Downloader twice");
    this.#ran = true;
    this.#onEvent = options.onEvent ?? (() => {});
    const client = this.#client ?? new HttpClient({
      maxConnectionsPerOrigin: this.#concurrency,
    });
    const limit = new Semaphore(this.#concurrency);
    try {
      await TaskGroup.run((tg) => {
        for (const result of this.results) {
          tg.createTask(() => this.#download(result, client, limit), {
            name: `download ${result.url}`,
          });
        }
      }, { signal: options.signal });
    } finally {
      for (const result of this.results) {
        if (result.state !== "ok" && result.state !== "failed") result.state = "cancelled";
      }
      if (this.#client === undefined) await client.close();
    }
    return this.results;
  }

  /** One URL: attempts until success, a final failure, or cancellation. Never throws otherwise. */
  async #download(result: DownloadResult, client: HttpClient, limit: Semaphore): Promise<void> {
    // Timed from the first attempt, not from the wait for a slot.
    let started: number | undefined;
    const end = (state: "ok" | "failed", error: unknown = null) => {
      result.state = state;
      result.error = error === null ? null : describeError(error);
      // A status says enough; a connect failure says why it was not retried.
      const why = error instanceof ConnectionError ? whyNotRetried(error) : null;
      if (why !== null) result.error += `; not retried: ${why}`;
      result.ms = started === undefined ? 0 : performance.now() - started;
      this.#onEvent({ type: "done", result });
    };
    let url: URL;
    try {
      url = toHttpUrl(result.url);
    } catch (e) {
      return end("failed", e);
    }
    const part = new PartFile(result.path);
    try {
      for (;;) {
        let delay: number;
        {
          // Hold a slot only while downloading, not while backing off.
          using _permit = await limit.acquire();
          if (started === undefined) {
            started = performance.now();
            // What an earlier run left: resumed with --continue, removed otherwise.
            if (this.#resume) await part.load();
            else await part.discard();
          }
          result.attempts++;
          result.state = "active";
          this.#onEvent({ type: "start", result });
          try {
            await this.#attempt(result, url, client, part);
            return end("ok");
          } catch (e) {
            if (isCancellation(e)) throw e;
            const reason = describeError(e);
            result.problems.push(reason);
            if (!isRetryable(e) || result.attempts > this.#retries) return end("failed", e);
            delay = this.#delay(result.attempts, e);
            result.state = "waiting";
            this.#onEvent({ type: "retry", result, delay, reason });
          }
        }
        await this.#sleep(delay);
      }
    } finally {
      if (started !== undefined) result.ms = performance.now() - started;
      // A finished file has no .part left; an unfinished one keeps it only
      // to be resumed by a later run.
      if (result.state !== "ok" && !(this.#resume && part.resumable)) await part.discard();
      part.close();
      result.kept = result.state === "ok" ? 0 : part.size;
    }
  }

  /** Exponential backoff with jitter; a server's Retry-After wins when it asks for longer. */
  #delay(attempt: number, e: unknown): number {
    const exponential = Math.min(this.#max, this.#base * 2 ** (attempt - 1));
    const jittered = exponential / 2 + (exponential / 2) * this.#random();
    const asked = e instanceof HttpStatusError ? e.retryAfter : null;
    return asked === null ? jittered : Math.min(this.#max, Math.max(asked, jittered));
  }

  /**
   * One attempt: GET into NAME.part — from where the .part ends when it
   * can be resumed (`Range` with `If-Range`), else from zero — then rename
   * it to NAME.
   */
  async #attempt(
    result: DownloadResult,
    url: URL,
    client: HttpClient,
    part: PartFile,
  ): Promise<void> {
    result.total = null;
    result.resumedFrom = 0;
    if (!part.resumable) await part.discard();
    const from = part.size;
    result.bytes = from;
    const headers: Record<string, string> = from > 0
      ? { range: `bytes=${from}-`, "if-range": part.validator! }
      : {};
    await using res = await client.get(url, { readTimeout: this.#readTimeout, headers });
    result.status = res.status;
    if (res.status === 416 && from > 0) {
      // The range starts at or past the end: the file changed, or the
      // .part already holds all of it.
      const whole = contentRangeTotal(res.header("content-range"));
      await res.discard();
      if (whole === from) return await this.#finish(result, part);
      await part.discard();
      throw new ResumeRefusedError(`the server refused the range from byte ${from} (416)`);
    }
    if (!res.ok) {
      await res.discard(); // a short error page: keep the connection
      throw new HttpStatusError(
        res.status,
        res.statusText,
        parseRetryAfter(res.header("retry-after")),
      );
    }
    let offset = 0;
    if (res.status === 206 && from > 0) {
      offset = contentRangeStart(res.header("content-range"), from, url.href);
      result.total = contentRangeTotal(res.header("content-range"));
      result.resumedFrom = from;
    } else {
      // A server that ignores ranges, or whose validator changed, sends
      // all of it (200): start the file over.
      result.total = res.contentLength;
    }
    await part.open(offset, validatorOf(res), result.total, this.#resume);
    result.bytes = offset;
    try {
      for await (const chunk of res) {
        await part.write(chunk);
        result.bytes += chunk.length;
        result.received += chunk.length;
      }
    } finally {
      part.close();
    }
    await this.#finish(result, part);
  }

  /** Renames the finished .part to NAME, over a regular file only. */
  async #finish(result: DownloadResult, part: PartFile): Promise<void> {
    result.bytes = part.size;
    result.total ??= part.size;
    await part.commit();
  }
}

/** The download stopped where it cannot safely write: NAME or NAME.part is not a regular file. */
export class UnsafeFileError extends Error {
  /**
   * Creates the error.
   *
   * @param message What is in the way.
   */
  constructor(message: string) {
    super(message);
    this.name = "UnsafeFileError";
  }
}

/** A server refused to resume (416 Range Not Satisfiable); the next attempt starts over. */
export class ResumeRefusedError extends Error {
  /**
   * Creates the error.
   *
   * @param message What was refused.
   */
  constructor(message: string) {
    super(message);
    this.name = "ResumeRefusedError";
  }
}

/** A strong ETag, or else Last-Modified: what `If-Range` may carry (RFC 9110 §13.1.5). */
function validatorOf(res: HttpResponse): string | null {
  const etag = res.header("etag");
  if (etag !== null && /^"[^"]*"$/.test(etag.trim())) return etag.trim();
  return res.header("last-modified");
}

const CONTENT_RANGE = /^\s*bytes\s+(?:(\d+)-(\d+)|\*)\/(\d+|\*)\s*$/i;

/** The complete length in a `Content-Range` value, or `null`. */
function contentRangeTotal(value: string | null): number | null {
  const total = CONTENT_RANGE.exec(value ?? "")?.[3];
  return total === undefined || total === "*" ? null : Number(total);
}

/** The first byte position of a 206 response, which must be where the .part ends. */
function contentRangeStart(value: string | null, expected: number, url: string): number {
  const start = CONTENT_RANGE.exec(value ?? "")?.[1];
  if (start === undefined || Number(start) !== expected) {
    throw new HttpProtocolError(
      `Invalid 206 response: Content-Range ${JSON.stringify(value)} does not start at byte ` +
        `${expected}, where the .part file ends`,
      url,
    );
  }
  return expected;
}

/** What `NAME.part.meta` holds: how to validate a resume of `NAME.part`. */
interface PartMeta {
  validator: string;
  total: number | null;
}

/**
 * `NAME.part` and, when it may be resumed by a later run, `NAME.part.meta`
 * (the validator to send in `If-Range`). Neither is ever followed as a
 * link: a new one is created exclusively (`createNew`) after removing what
 * was there; an existing one is reused only when it is a regular file,
 * checked again on the open file.
 */
class PartFile {
  readonly #final: string;
  readonly #path: string;
  readonly #meta: string;
  #file: Deno.FsFile | undefined;
  /** The bytes in the .part file. */
  size = 0;
  /** The validator of the response those bytes came from, or `null`. */
  validator: string | null = null;

  constructor(final: string) {
    this.#final = final;
    this.#path = `${final}.part`;
    this.#meta = `${final}.part.meta`;
  }

  /** Whether a next request may ask for the rest (`Range` from `size`, `If-Range`). */
  get resumable(): boolean {
    return this.size > 0 && this.validator !== null;
  }

  /** Reads what an earlier run left; anything unusable is removed. */
  async load(): Promise<void> {
    try {
      const info = await Deno.lstat(this.#path);
      const metaInfo = await Deno.lstat(this.#meta);
      if (info.isFile && metaInfo.isFile) {
        const meta = JSON.parse(await Deno.readTextFile(this.#meta)) as Partial<PartMeta>;
        if (typeof meta.validator === "string" && meta.validator !== "") {
          this.size = info.size;
          this.validator = meta.validator;
          return;
        }
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound) && !(e instanceof SyntaxError)) throw e;
    }
    await this.discard();
  }

  /**
   * Opens the .part for writing at `offset`: appending to the regular file
   * already there, or, from 0, a new one made exclusively.
   */
  async open(
    offset: number,
    validator: string | null,
    total: number | null,
    keep: boolean,
  ): Promise<void> {
    this.close();
    if (offset === 0) {
      await this.discard();
      this.#file = await Deno.open(this.#path, { write: true, createNew: true });
      this.validator = validator;
      if (keep && validator !== null) {
        const meta: PartMeta = { validator, total };
        using file = await Deno.open(this.#meta, { write: true, createNew: true });
        await writeAll(file, encoder.encode(JSON.stringify(meta)));
      }
    } else {
      const file = await Deno.open(this.#path, { write: true, append: true });
      // Opening follows a link that may have replaced the file since it was
      // checked: the open file must be the regular file at that name.
      const [opened, named] = await Promise.all([file.stat(), Deno.lstat(this.#path)]);
      if (!named.isFile || opened.ino !== named.ino || opened.dev !== named.dev) {
        file.close();
        throw new UnsafeFileError(`Cannot resume ${this.#path}: it is not a regular file`);
      }
      if (opened.size !== offset) {
        file.close();
        throw new UnsafeFileError(`Cannot resume ${this.#path}: it changed meanwhile`);
      }
      this.#file = file;
    }
    this.size = offset;
  }

  /** Appends bytes. */
  async write(bytes: Uint8Array): Promise<void> {
    await writeAll(this.#file!, bytes);
    this.size += bytes.length;
  }

  /** Renames the .part to the final name, which must be absent or a regular file. */
  async commit(): Promise<void> {
    this.close();
    try {
      const info = await Deno.lstat(this.#final);
      if (!info.isFile) {
        const what = info.isSymlink
          ? "a symbolic link"
          : info.isDirectory
          ? "a directory"
          : "special";
        throw new UnsafeFileError(
          `Cannot save ${this.#final}: it exists and is not a regular file (${what}); not replaced`,
        );
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    await Deno.rename(this.#path, this.#final);
    await removeQuietly(this.#meta);
    this.size = 0;
    this.validator = null;
  }

  /** Removes the .part and its meta file (links themselves, never their targets). */
  async discard(): Promise<void> {
    this.close();
    await removeQuietly(this.#path);
    await removeQuietly(this.#meta);
    this.size = 0;
    this.validator = null;
  }

  /** Closes the open file, if any. */
  close(): void {
    this.#file?.close();
    this.#file = undefined;
  }
}

// -------------------------------------------------------------- reporting

/** How far back the rate shown looks: long enough to be steady, short enough to follow changes. */
const RATE_WINDOW_MS = 5000;

/**
 * Shows progress: on a terminal, one status line redrawn ten times a
 * second (files done/total, bytes, the rate over the last few seconds, the
 * time left at that rate, the active downloads), with retries and failures
 * printed above it; otherwise one plain line per event.
 */
export class ProgressReporter {
  readonly #results: readonly DownloadResult[];
  readonly #tty: boolean;
  readonly #quiet: boolean;
  readonly #out: (line: string) => void;
  readonly #now: () => number;
  /** `[time, bytes received]` samples of the last {@linkcode RATE_WINDOW_MS}. */
  readonly #samples: [number, number][] = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  #drawn = false;

  /**
   * Creates a reporter.
   *
   * @param results The downloads' live results.
   * @param options `tty`: draw a live line (default: whether stderr is a
   * terminal); `quiet`: print nothing; `out`: where lines go (default
   * stderr); `now`: the clock in ms (default `performance.now`), for tests.
   */
  constructor(
    results: readonly DownloadResult[],
    options: {
      tty?: boolean;
      quiet?: boolean;
      out?: (line: string) => void;
      now?: () => number;
    } = {},
  ) {
    this.#results = results;
    this.#tty = options.tty ?? Deno.stderr.isTerminal();
    this.#quiet = options.quiet ?? false;
    this.#out = options.out ?? ((line) => console.error(line));
    this.#now = options.now ?? (() => performance.now());
    this.sample();
  }

  /** Starts the live line (on a terminal). */
  start(): void {
    if (this.#tty && !this.#quiet) this.#timer = setInterval(() => this.#draw(), 100);
  }

  /** Stops the live line and erases it. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#clear();
  }

  /**
   * Reports one event.
   *
   * @param event What happened.
   */
  onEvent = (event: DownloadEvent): void => {
    if (this.#quiet) return;
    const r = event.result;
    let line: string | undefined;
    if (event.type === "retry") {
      line = `retry  ${r.name}: ${event.reason}; attempt ${r.attempts + 1} in ${
        formatDuration(event.delay)
      }`;
    } else if (event.type === "done" && r.state === "failed") {
      line = `FAILED ${r.name || r.url}: ${r.error}`;
    } else if (event.type === "done" && !this.#tty) {
      line = `done   ${r.name}  ${formatBytes(r.bytes)}  ${formatDuration(r.ms)}`;
    }
    if (line === undefined) return;
    this.#clear();
    this.#out(line);
    if (this.#timer !== undefined) this.#draw();
  };

  /** Records how many bytes have arrived by now, for the rate; the live line does it each redraw. */
  sample(): void {
    const now = this.#now();
    const received = this.#results.reduce((sum, r) => sum + r.received, 0);
    this.#samples.push([now, received]);
    while (this.#samples.length > 2 && now - this.#samples[1][0] >= RATE_WINDOW_MS) {
      this.#samples.shift();
    }
  }

  /** Bytes per second over the last few seconds (since the first sample when younger). */
  rate(): number {
    const [t0, b0] = this.#samples[0];
    const [t1, b1] = this.#samples[this.#samples.length - 1];
    return t1 > t0 ? ((b1 - b0) * 1000) / (t1 - t0) : 0;
  }

  /**
   * The status line: files done/total, bytes, the recent rate, the time
   * left at that rate (`?` while a size is unknown or nothing arrives),
   * then each active download's share, or its bytes when its size is
   * unknown.
   */
  statusLine(): string {
    const results = this.#results;
    let done = 0;
    let bytes = 0;
    let left = 0;
    let unknown = false;
    const active: string[] = [];
    for (const r of results) {
      const finished = r.state === "ok" || r.state === "failed" || r.state === "cancelled";
      if (finished) done++;
      bytes += r.bytes;
      if (!finished) {
        if (r.total === null) unknown = true;
        else left += Math.max(0, r.total - r.bytes);
      }
      if (r.state === "active") {
        active.push(
          r.total
            ? `${r.name} ${Math.floor((100 * r.bytes) / r.total)}%`
            : `${r.name} ${formatBytes(r.bytes)}`,
        );
      }
    }
    const rate = this.rate();
    // To the second: a countdown in milliseconds only flickers.
    const eta = unknown || rate <= 0 ? "?" : formatDuration(1000 * Math.ceil(left / rate));
    const width = String(results.length).length;
    return `[${String(done).padStart(width)}/${results.length}] ${formatBytes(bytes)}  ` +
      `${formatBytes(Math.round(rate))}/s  ETA ${eta}  ${active.join(", ")}`.trimEnd();
  }

  #draw(): void {
    this.sample();
    const text = fitWidth(this.statusLine(), terminalColumns(Deno.stderr) - 1, "end");
    Deno.stderr.writeSync(encoder.encode(`\r\x1b[2K${text}`));
    this.#drawn = true;
  }

  #clear(): void {
    if (!this.#drawn) return;
    Deno.stderr.writeSync(encoder.encode("\r\x1b[2K"));
    this.#drawn = false;
  }
}

/** The width of the terminal `stream` is, or 80 when it is not one. */
function terminalColumns(stream: { isTerminal(): boolean }): number {
  try {
    if (stream.isTerminal()) return Deno.consoleSize().columns || 80;
  } catch {
    // Not a terminal after all.
  }
  return 80;
}

/**
 * `text` cut to at most `columns` terminal columns (wide characters count
 * two, marks none): at the end, or in the middle for names, whose ends tell
 * them apart; `…` marks the cut.
 *
 * @param text The text.
 * @param columns The most columns it may take (at least 1).
 * @param where `"end"` or `"middle"`.
 * @returns The text, cut when needed.
 */
export function fitWidth(text: string, columns: number, where: "end" | "middle"): string {
  if (unicodeWidth(text) <= columns) return text;
  const chars = [...text];
  const take = (from: string[], room: number) => {
    let out = "";
    for (const c of from) {
      const w = unicodeWidth(c);
      if (w > room) break;
      room -= w;
      out += c;
    }
    return out;
  };
  const room = Math.max(0, columns - 1);
  if (where === "end") return `${take(chars, room)}…`;
  const head = take(chars, Math.ceil(room / 2));
  const tail = [...take([...chars].reverse(), Math.floor(room / 2))].reverse().join("");
  return `${head}…${tail}`;
}

/**
 * The final table: one row per URL (result, file, size, time, attempts,
 * and what went wrong), then the totals. Names longer than the room left
 * on a line of `columns` are shortened in the middle.
 *
 * @param results The downloads' results.
 * @param elapsed Milliseconds the whole run took.
 * @param columns The line width to fit the name column to; default 100.
 * @returns The table as text.
 */
export function summaryTable(
  results: readonly DownloadResult[],
  elapsed: number,
  columns = 100,
): string {
  const rows = results.map((r) => [
    String(r.index + 1),
    r.state === "ok" ? "ok" : r.state.toUpperCase(),
    r.name || "-",
    r.state === "ok" ? formatBytes(r.bytes) : "-",
    formatDuration(r.ms),
    String(r.attempts),
    [
      r.resumedFrom > 0 ? `resumed from ${formatBytes(r.resumedFrom)}` : "",
      r.kept > 0 ? `${formatBytes(r.kept)} kept in .part for --continue` : "",
      r.state === "ok"
        ? (r.problems.length ? `retried (${r.problems.join("; ")})` : "")
        : (r.error ?? ""),
    ].filter(Boolean).join("; "),
  ]);
  const header = ["#", "result", "file", "size", "time", "tries", "notes"];
  const widthOf = (i: number) =>
    Math.max(header[i].length, ...rows.map((row) => unicodeWidth(row[i])));
  // The name column gets what the other columns leave (of the notes, their
  // header), at least 12.
  const others = [0, 1, 3, 4, 5].reduce((sum, i) => sum + widthOf(i) + 2, 0);
  const nameRoom = Math.max(12, columns - others - 2 - header[6].length);
  for (const row of rows) row[2] = fitWidth(row[2], nameRoom, "middle");
  const widths = header.map((_, i) => widthOf(i));
  const right = new Set([0, 3, 4, 5]);
  const pad = (cell: string, i: number) => {
    const fill = " ".repeat(Math.max(0, widths[i] - unicodeWidth(cell)));
    return right.has(i) ? fill + cell : cell + fill;
  };
  const format = (row: string[]) => row.map(pad).join("  ").trimEnd();
  const ok = results.filter((r) => r.state === "ok");
  const failed = results.filter((r) => r.state === "failed").length;
  const cancelled = results.length - ok.length - failed;
  const bytes = ok.reduce((sum, r) => sum + r.bytes, 0);
  // The rate of what this run fetched: resumed bytes came earlier.
  const fetched = ok.reduce((sum, r) => sum + r.received, 0);
  const rate = elapsed > 0 ? formatBytes(Math.round((fetched * 1000) / elapsed)) : "?";
  const totals = [
    `${ok.length} of ${results.length} files downloaded`,
    failed ? `${failed} failed` : "",
    cancelled ? `${cancelled} cancelled` : "",
  ].filter(Boolean).join(", ");
  return [
    format(header),
    ...rows.map(format),
    `${totals}: ${formatBytes(bytes)} in ${formatDuration(elapsed)} (${rate}/s)`,
  ].join("\n");
}

// ------------------------------------------------------------ the program

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

if (import.meta.main) Deno.exit(await main(Deno.args));
