/**
 * `HttpClient`: a small HTTP/1.1 client written on aio's `openConnection`,
 * `StreamReader` and `StreamWriter`, with keep-alive connections pooled per
 * origin, redirects, timeouts and cancellation.
 *
 * @module
 */

import { type StreamReader, time, type Timeout, timeoutAt, TimeoutError } from "../../mod.ts";
import { BodyReader } from "./body.ts";
import { checkNumber, describe } from "../_shared/mod.ts";
import { HttpProtocolError, RemoteDisconnectedError, TooManyRedirectsError } from "./errors.ts";
import {
  encodeBody,
  fieldValue,
  type Framing,
  framingOf,
  parseContentLength,
  quote,
  readResponseHead,
  requestHead,
  type ResponseHead,
} from "./head.ts";
import { ConnectionPool, type PooledConnection } from "./pool.ts";

/** Settings of an {@linkcode HttpClient}. */
export interface HttpClientOptions {
  /** The most connections open to one origin at once; default 16. */
  maxConnectionsPerOrigin?: number;
  /** The most idle keep-alive connections kept per origin; default `maxConnectionsPerOrigin`. */
  maxIdlePerOrigin?: number;
  /** Idle connections older than this many milliseconds are not reused; default 30 000. */
  idleTimeout?: number;
  /** The largest response head (status line and fields) in bytes; default 64 KiB. */
  maxHeadSize?: number;
  /** The most header (or trailer) fields in a response; default 100. */
  maxHeaderFields?: number;
  /** The most redirects followed per request; default 5. */
  maxRedirects?: number;
  /** Extra root certificates (PEM) to trust for `https:`, e.g. a test certificate. */
  caCerts?: string[];
  /** Milliseconds a connect (and TLS handshake) may take; default no limit. */
  connectTimeout?: number;
  /** The `User-Agent` sent; default `"aio-http/0.1"`. */
  userAgent?: string;
}

/** Options of one request. */
export interface RequestOptions {
  /** The method; default `"GET"`. */
  method?: string;
  /**
   * Header fields to send. `Host` comes from the URL and `Content-Length`
   * from the body (given ones are ignored); `User-Agent` and `Accept` are
   * added unless given.
   */
  headers?: HeadersInit;
  /** A request body, sent with `Content-Length`. */
  body?: string | Uint8Array;
  /** Aborting it cancels the request, or the body read in progress. */
  signal?: AbortSignal;
  /**
   * Milliseconds the whole exchange may take, from the connect to the last
   * body byte; past it, waits reject with a `TimeoutError`.
   */
  timeout?: number;
  /**
   * Milliseconds any single wait for data (connect, response head, each
   * body read) may take: an idle timeout that a slow but live download
   * never hits.
   */
  readTimeout?: number;
  /** `"follow"` (default) follows redirects; `"manual"` returns them. */
  redirect?: "follow" | "manual";
  /** The most redirects to follow for this request; default the client's. */
  maxRedirects?: number;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);
const METHOD = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const NORMALIZED = new Set(["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"]);
const utf8 = new TextDecoder();

/**
 * A host (name, IPv4 or bracketed IPv6), an optional port, then a path or
 * nothing, without `scheme://`: `localhost:8000/x`, `127.0.0.1/x`,
 * `example.com`. (`localhost:8000/x` alone parses as a URL of scheme
 * `localhost:`.)
 */
const SCHEMELESS =
  /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(?::\d+)?(?:[/?#].*)?$/is;

/**
 * Parses and checks a request URL; one without a scheme
 * (`localhost:8000/x`) is refused with a suggestion of `http://`.
 *
 * @param input A URL string or object.
 * @returns The URL.
 * @throws {TypeError} If it is not a valid `http:` or `https:` URL.
 */
export function toHttpUrl(input: string | URL): URL {
  if (typeof input === "string" && SCHEMELESS.test(input)) {
    throw new TypeError(
      `Cannot send a request: ${quote(input)} has no scheme: did you mean ` +
        `${quote(`http://${input}`)}?`,
    );
  }
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new TypeError(`Cannot send a request: invalid URL ${quote(String(input))}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError(
      `Cannot send a request to ${url.href}: only http: and https: URLs are supported, ` +
        `not ${url.protocol}`,
    );
  }
  return url;
}

/** Around each wait for data in a phase: `arm` before it, `disarm` after. */
interface Waits {
  arm(): void;
  disarm(): void;
}

const NO_WAITS: Waits = { arm() {}, disarm() {} };

/**
 * The time limits of one request: its deadline (`timeout`, from the start
 * to the last body byte, across redirects) and the idle limit of each wait
 * for data (`readTimeout`), with the caller's signal. Each phase of the
 * request (sending it and reading the head, each body read) runs in an aio
 * `timeoutAt` block whose deadline is the request's; a wait for data moves
 * it closer with `reschedule()` and moves it back when data came. No timer
 * outlives a phase, so a response that is never read holds none.
 */
class Control {
  readonly signal: AbortSignal | undefined;
  readonly #timeout: number | undefined;
  readonly #readTimeout: number | undefined;
  /** The request's deadline on aio's `time()` clock, or `null`. */
  readonly #end: number | null;
  readonly #what: string;

  constructor(what: string, options: RequestOptions) {
    this.#timeout = checkNumber(options.timeout, "send a request", "timeout", 0, "ms");
    this.#readTimeout = checkNumber(options.readTimeout, "send a request", "readTimeout", 0, "ms");
    this.#end = this.#timeout === undefined ? null : time() + this.#timeout;
    this.#what = what;
    this.signal = options.signal;
  }

  /** The idle limit of each wait for data, if any. */
  get readTimeout(): number | undefined {
    return this.#readTimeout;
  }

  /**
   * Runs one phase of the request under its limits.
   *
   * @param fn The phase: gets the signal to pass to each wait, and the
   * `arm`/`disarm` pair to call around each wait for data.
   * @param wait Whether the whole phase is one wait for data (armed from the start).
   * @returns What `fn` returns.
   * @throws {TimeoutError} Naming the limit that passed.
   */
  async run<T>(
    fn: (signal: AbortSignal | undefined, waits: Waits) => Promise<T>,
    wait = false,
  ): Promise<T> {
    if (this.#timeout === undefined && this.#readTimeout === undefined) {
      return await fn(this.signal, NO_WAITS);
    }
    const end = this.#end;
    const idle = this.#readTimeout;
    let block: Timeout | undefined;
    /** Whether the deadline set is a wait's idle limit rather than the request's. */
    let waiting = false;
    /** The deadline of a wait for data starting now. */
    const armed = (): number | null => {
      if (idle === undefined) return end;
      const at = time() + idle;
      waiting = end === null || at < end;
      return waiting ? at : end;
    };
    try {
      return await timeoutAt(wait ? armed() : end, (signal, deadline) => {
        block = deadline;
        const waits: Waits = idle === undefined ? NO_WAITS : {
          arm() {
            if (!deadline.expired()) deadline.reschedule(armed());
          },
          disarm() {
            if (deadline.expired() || !waiting) return;
            waiting = false;
            deadline.reschedule(end);
          },
        };
        return fn(signal, waits);
      }, { signal: this.signal });
    } catch (e) {
      // Ours when this block's deadline passed (before `fn` even ran, when
      // `block` is unset); a connect timeout inside is passed on as it is.
      if (!(e instanceof TimeoutError) || (block !== undefined && !block.expired())) throw e;
      throw new TimeoutError(
        waiting
          ? `${this.#what}: no data received for ${idle} ms`
          : `${this.#what}: timed out after ${this.#timeout} ms`,
        { cause: e },
      );
    }
  }
}

/** The reason a probe is stopped with: made once (a `DOMException` per abort is costly). */
const PROBE_DONE = new Error("probe done");

/** Reading one byte past a finished body: `true` when nothing is there (yet). */
async function isClean(reader: StreamReader): Promise<boolean> {
  if (reader.atEof() || reader.exception() !== undefined) return false;
  const stop = new AbortController();
  const probe = reader.read(1, { signal: stop.signal });
  stop.abort(PROBE_DONE);
  try {
    await probe; // bytes after the body, or the end of the stream
    return false;
  } catch {
    return true; // the probe had to wait: the buffer is empty
  }
}

interface ResponseInit {
  url: string;
  redirects: readonly string[];
  head: ResponseHead;
  framing: Framing;
  keepAlive: boolean;
  connection: PooledConnection;
  pool: ConnectionPool;
  control: Control;
  limits: { maxHeadSize: number; maxFields: number };
}

/**
 * A response: status, header fields, and a body read once, either all at
 * once (`bytes()`, `text()`, `json()`), chunk by chunk (`read()`,
 * `for await`), or as a `ReadableStream` (`body`). Reading the body to its
 * end gives the connection back to the client's pool; close the response
 * (`await using`, or `close()`) to drop a body you do not read.
 */
export class HttpResponse implements AsyncDisposable, AsyncIterable<Uint8Array> {
  /** The URL of this response: the last one, after redirects. */
  readonly url: string;
  /** The URLs redirected to, in order (empty without redirects). */
  readonly redirects: readonly string[];
  /** The status code. */
  readonly status: number;
  /** The reason phrase. */
  readonly statusText: string;
  /** The HTTP version of the response, `"1.1"` or `"1.0"`. */
  readonly version: string;
  /** The header fields as `[lower-cased name, value]`, in the order received. */
  readonly fields: readonly [string, string][];

  readonly #body: BodyReader;
  readonly #keepAlive: boolean;
  readonly #connection: PooledConnection;
  readonly #pool: ConnectionPool;
  readonly #control: Control;
  #state: "open" | "done" | "closed" = "open";
  #reading = false;
  #headers: Headers | undefined;
  #stream: ReadableStream<Uint8Array> | undefined;

  /**
   * Made by {@linkcode HttpClient.request}.
   *
   * @param init The exchange's state.
   */
  constructor(init: ResponseInit) {
    this.url = init.url;
    this.redirects = init.redirects;
    this.status = init.head.status;
    this.statusText = init.head.statusText;
    this.version = init.head.version;
    this.fields = init.head.fields;
    this.#keepAlive = init.keepAlive;
    this.#connection = init.connection;
    this.#pool = init.pool;
    this.#control = init.control;
    this.#body = new BodyReader(init.connection.reader, init.framing, init.url, init.limits);
    if (this.#body.done) this.#end(init.keepAlive);
  }

  /** Whether the status is 2xx. */
  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  /**
   * The value of a header field, several joined with `", "`.
   *
   * @param name The field name (any case).
   * @returns Its value, or `null` when absent.
   */
  header(name: string): string | null {
    return fieldValue(this.fields, name.toLowerCase());
  }

  /** The header fields as a `Headers` object. */
  get headers(): Headers {
    return this.#headers ??= new Headers(this.fields as [string, string][]);
  }

  /** The trailer fields of a chunked body; empty until the body was read to its end. */
  get trailers(): Headers {
    return new Headers(this.#body.trailers as [string, string][]);
  }

  /**
   * The body length from `Content-Length` (`"5, 5"` is 5), or `null` when
   * not given or not valid (chunked, until close).
   */
  get contentLength(): number | null {
    const cl = this.header("content-length");
    return cl === null || this.header("transfer-encoding") !== null ? null : parseContentLength(cl);
  }

  /** How many body bytes were read so far. */
  get received(): number {
    return this.#body.received;
  }

  /** Whether the body was read to its end. */
  get complete(): boolean {
    return this.#body.done;
  }

  /**
   * Reads the next part of the body.
   *
   * @returns The next bytes, or `null` at the end of the body.
   * @throws {IncompleteBodyError} (as a rejection) If the connection ends first.
   * @throws {HttpProtocolError} (as a rejection) If the chunked framing is invalid.
   * @throws {TimeoutError} (as a rejection) If the request's timeout passes.
   */
  async read(): Promise<Uint8Array | null> {
    if (this.#state === "done") return null;
    this.#startRead();
    try {
      const part = await this.#control.run((signal) => this.#body.next({ signal }), true);
      if (this.#body.done) await this.#finish();
      return part;
    } catch (e) {
      this.close();
      throw e;
    } finally {
      this.#reading = false;
    }
  }

  /**
   * Iterates over the body's parts. Breaking out of the loop closes the
   * response.
   *
   * @returns An async iterator of byte chunks.
   */
  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    try {
      for (let part = await this.read(); part !== null; part = await this.read()) yield part;
    } finally {
      if (this.#state === "open") this.close();
    }
  }

  /**
   * Reads the whole (remaining) body.
   *
   * @returns The bytes.
   */
  async bytes(): Promise<Uint8Array> {
    this.#startRead();
    try {
      const control = this.#control;
      // With an idle limit, each part is a wait of its own.
      const all = await control.run((signal, waits) =>
        this.#body.rest({ signal }, control.readTimeout !== undefined ? waits : undefined)
      );
      await this.#finish();
      return all;
    } catch (e) {
      this.close();
      throw e;
    } finally {
      this.#reading = false;
    }
  }

  /**
   * Reads the whole (remaining) body as UTF-8 text.
   *
   * @returns The text.
   */
  async text(): Promise<string> {
    return utf8.decode(await this.bytes());
  }

  /**
   * Reads the whole (remaining) body as JSON.
   *
   * @returns The parsed value.
   */
  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }

  /** The body as a `ReadableStream` (created on first use); cancelling it closes the response. */
  get body(): ReadableStream<Uint8Array> {
    return this.#stream ??= new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        const part = await this.read();
        if (part === null) controller.close();
        else controller.enqueue(part);
      },
      cancel: () => this.close(),
    }, { highWaterMark: 0 });
  }

  /**
   * Reads and drops the rest of the body, so that the connection can be
   * reused; closes the connection instead when more than `maxBytes` remain.
   *
   * @param maxBytes The most bytes worth reading to keep the connection.
   */
  async discard(maxBytes = 64 * 1024): Promise<void> {
    if (this.#state !== "open") return;
    try {
      while (!this.#body.done) {
        if (this.#body.received > maxBytes) return this.close();
        await this.read();
      }
    } catch {
      // read() closed the connection.
    }
  }

  /**
   * Closes the response. A body not read to its end closes the connection
   * (it cannot carry another request); a finished one is already back in
   * the pool. Calling it again does nothing.
   */
  close(): void {
    if (this.#state !== "open") return;
    this.#state = "closed";
    this.#pool.release(this.#connection, false);
  }

  /**
   * `close()`, for `await using`.
   *
   * @returns A resolved promise.
   */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  #startRead(): void {
    if (this.#state === "closed") {
      throw new TypeError(`Cannot read the body of ${this.url}: the response is closed`);
    }
    if (this.#reading) {
      throw new TypeError(`Cannot read the body of ${this.url}: another read is in progress`);
    }
    this.#reading = true;
  }

  async #finish(): Promise<void> {
    if (this.#state !== "open") return;
    this.#state = "done";
    const reusable = this.#keepAlive && await isClean(this.#connection.reader);
    this.#end(reusable);
  }

  #end(reusable: boolean): void {
    this.#state = "done";
    this.#pool.release(this.#connection, reusable);
  }
}

/**
 * An HTTP/1.1 client over aio streams. Connections are kept alive and
 * reused per origin (at most `maxConnectionsPerOrigin` open at once;
 * requests beyond wait for one). Close it with `await using` or `close()`.
 *
 * @example
 * ```ts ignore
 * await using client = new HttpClient();
 * await using res = await client.get("http://127.0.0.1:8000/");
 * console.log(res.status, await res.text());
 * ```
 */
export class HttpClient implements AsyncDisposable {
  readonly #pool: ConnectionPool;
  readonly #maxRedirects: number;
  readonly #limits: { maxHeadSize: number; maxFields: number };
  readonly #userAgent: string;

  /**
   * Creates a client.
   *
   * @param options Limits, TLS roots and timeouts; see {@linkcode HttpClientOptions}.
   * @throws {RangeError} If a limit is not a positive integer or a time is negative.
   */
  constructor(options: HttpClientOptions = {}) {
    const maxConnections = checkNumber(
      options.maxConnectionsPerOrigin,
      "create HttpClient",
      "maxConnectionsPerOrigin",
      1,
      "integer",
    ) ??
      16;
    const maxHeadSize =
      checkNumber(options.maxHeadSize, "create HttpClient", "maxHeadSize", 64, "integer") ??
        64 * 1024;
    this.#limits = {
      maxHeadSize,
      maxFields: checkNumber(
        options.maxHeaderFields,
        "create HttpClient",
        "maxHeaderFields",
        1,
        "integer",
      ) ?? 100,
    };
    this.#maxRedirects =
      checkNumber(options.maxRedirects, "create HttpClient", "maxRedirects", 0, "integer") ?? 5;
    this.#userAgent = options.userAgent ?? "aio-http/0.1";
    this.#pool = new ConnectionPool({
      maxConnectionsPerOrigin: maxConnections,
      maxIdlePerOrigin: checkNumber(
        options.maxIdlePerOrigin,
        "create HttpClient",
        "maxIdlePerOrigin",
        0,
        "integer",
      ) ??
        maxConnections,
      idleTimeout: checkNumber(options.idleTimeout, "create HttpClient", "idleTimeout", 0, "ms") ??
        30_000,
      maxHeadSize,
      caCerts: options.caCerts,
      connectTimeout: checkNumber(
        options.connectTimeout,
        "create HttpClient",
        "connectTimeout",
        0,
        "ms",
      ),
    });
  }

  /** How many idle keep-alive connections the pool holds. */
  get idleConnections(): number {
    return this.#pool.idleCount;
  }

  /**
   * Sends a GET request.
   *
   * @param url The URL.
   * @param options Request options (the method is GET).
   * @returns The response, once its head has arrived.
   */
  get(
    url: string | URL,
    options: Omit<RequestOptions, "method" | "body"> = {},
  ): Promise<HttpResponse> {
    return this.request(url, { ...options, method: "GET" });
  }

  /**
   * Sends a request and resolves with the response once its head has
   * arrived; the body is read from the response. Follows redirects (301,
   * 302, 303, 307, 308) up to the limit.
   *
   * @param input The URL (`http:` or `https:`).
   * @param options Method, header fields, body, signal, timeouts, redirect policy.
   * @returns The response.
   * @throws {TypeError} (as a rejection) For an invalid URL, method or header field.
   * @throws {ConnectionError} (as a rejection) If the connection cannot be opened.
   * @throws {HttpProtocolError} (as a rejection) If the response head is malformed.
   * @throws {HeadTooLargeError} (as a rejection) If it is over the size limits.
   * @throws {TooManyRedirectsError} (as a rejection) After too many redirects.
   * @throws {TimeoutError} (as a rejection) If a timeout passes.
   */
  async request(input: string | URL, options: RequestOptions = {}): Promise<HttpResponse> {
    let url = toHttpUrl(input);
    let method = options.method ?? "GET";
    if (typeof method !== "string" || !METHOD.test(method)) {
      throw new TypeError(`Cannot send a request: invalid method ${describe(method)}`);
    }
    if (NORMALIZED.has(method.toUpperCase())) method = method.toUpperCase();
    let fields = this.#fields(options.headers);
    let body = options.body === undefined ? undefined : encodeBody(options.body);
    const maxRedirects = options.maxRedirects === undefined
      ? this.#maxRedirects
      : checkNumber(options.maxRedirects, "send a request", "maxRedirects", 0, "integer")!;
    const first = url.href;
    const control = new Control(`${method} ${first}`, options);
    const redirects: string[] = [];
    for (;;) {
      const res = await this.#send(url, method, fields, body, control, redirects);
      const location = res.header("location");
      if (options.redirect === "manual" || !REDIRECTS.has(res.status) || location === null) {
        return res;
      }
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        res.close();
        throw new HttpProtocolError(
          `Invalid redirect from ${url.href}: Location ${quote(location)} is not a URL`,
          url.href,
        );
      }
      if (next.protocol !== "http:" && next.protocol !== "https:") {
        res.close();
        throw new HttpProtocolError(
          `Invalid redirect from ${url.href}: cannot follow a redirect to ${next.protocol} URLs`,
          url.href,
        );
      }
      await res.discard();
      res.close();
      if (redirects.length === maxRedirects) {
        throw new TooManyRedirectsError(first, [...redirects, next.href], maxRedirects);
      }
      redirects.push(next.href);
      if (
        (res.status === 303 && method !== "HEAD") ||
        ((res.status === 301 || res.status === 302) && method === "POST")
      ) {
        method = "GET";
        body = undefined;
        fields = fields.filter(([name]) => !name.startsWith("content-"));
      }
      if (next.origin !== url.origin) {
        fields = fields.filter(([name]) => name !== "authorization" && name !== "cookie");
      }
      url = next;
    }
  }

  /**
   * Closes the idle connections (and each busy one once its response is
   * done) and waits until they are closed.
   *
   * @returns A promise that resolves once they are closed.
   */
  close(): Promise<void> {
    return this.#pool.close();
  }

  /**
   * `close()`, for `await using`.
   *
   * @returns A promise that resolves once the connections are closed.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #fields(init: HeadersInit | undefined): [string, string][] {
    const fields: [string, string][] = [];
    let agent = false;
    let accept = false;
    if (init !== undefined) {
      for (const [name, value] of new Headers(init)) {
        if (name === "user-agent") agent = true;
        if (name === "accept") accept = true;
        // The URL sets Host, and the body its length.
        if (name === "host" || name === "content-length" || name === "transfer-encoding") continue;
        fields.push([name, value]);
      }
    }
    if (!agent) fields.push(["user-agent", this.#userAgent]);
    if (!accept) fields.push(["accept", "*/*"]);
    return fields;
  }

  async #send(
    url: URL,
    method: string,
    fields: [string, string][],
    body: Uint8Array | undefined,
    control: Control,
    redirects: readonly string[],
  ): Promise<HttpResponse> {
    const href = url.href;
    let fresh = false;
    for (;;) {
      let connection: PooledConnection | undefined;
      try {
        return await control.run(async (signal, waits) => {
          // A connect may take readTimeout too; the wait for a free slot is not limited.
          connection = await this.#pool.acquire(url, signal, fresh, control.readTimeout);
          waits.arm();
          const { reader, writer } = connection;
          const sent = body === undefined ? fields : [
            ...fields,
            ["content-length", String(body.length)] as [string, string],
          ];
          writer.write(requestHead(method, url, sent));
          if (body !== undefined && body.length > 0) {
            writer.write(body);
            await writer.drain({ signal });
          }
          // Interim responses (100 Continue, 103 Early Hints) precede the real one.
          const head = await readResponseHead(reader, href, this.#limits, {
            signal,
            onInterim: () => waits.arm(),
          });
          waits.disarm();
          const { framing, keepAlive } = framingOf(method, head, href);
          return new HttpResponse({
            url: href,
            redirects: [...redirects],
            head,
            framing,
            keepAlive,
            connection,
            pool: this.#pool,
            control,
            limits: this.#limits,
          });
        });
      } catch (e) {
        // A failed acquire has nothing to give back.
        if (connection === undefined) throw e;
        this.#pool.release(connection, false);
        // A kept-alive connection the server has closed meanwhile: try
        // once more on a new connection, when repeating is safe.
        if (connection.reused && !fresh && IDEMPOTENT.has(method) && isStale(e)) {
          fresh = true;
          continue;
        }
        throw e;
      }
    }
  }
}

/** Whether `e` says a reused connection was closed by the server before answering. */
function isStale(e: unknown): boolean {
  return (e instanceof RemoteDisconnectedError && e.received === 0) ||
    e instanceof Deno.errors.ConnectionReset || e instanceof Deno.errors.BrokenPipe ||
    e instanceof Deno.errors.ConnectionAborted;
}
