/**
 * The fetch loop: `Downloader` runs every URL in a `TaskGroup`, at most
 * `concurrency` at once, retrying with backoff and resuming `.part` files.
 *
 * @module
 */
import {
  ConnectionError,
  InvalidStateError,
  isCancellation,
  Semaphore,
  sleep,
  TaskGroup,
} from "../../mod.ts";
import { join } from "@std/path";
import { HttpClient, toHttpUrl } from "../http/mod.ts";
import { checkNumber } from "../_shared/mod.ts";
import { HttpStatusError, ResumeRefusedError } from "./errors.ts";
import { NameRegistry, safeFileName } from "./names.ts";
import { PartFile } from "./part_file.ts";
import { contentRangeStart, contentRangeTotal, validatorOf } from "./range.ts";
import { describeError, isRetryable, parseRetryAfter, whyNotRetried } from "./retry.ts";
import type { DownloadEvent, DownloadResult } from "./types.ts";

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
