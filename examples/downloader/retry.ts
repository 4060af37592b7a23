/**
 * Which failures the downloader retries, how long a server asks it to wait,
 * and why an attempt failed, in a few words.
 *
 * @module
 */
import { ConnectionError, TimeoutError } from "../../mod.ts";
import {
  explainConnectFailure,
  HttpProtocolError,
  IncompleteBodyError,
  permanentConnectFailure,
  RemoteDisconnectedError,
} from "../http/mod.ts";
import { HttpStatusError, ResumeRefusedError, UnsafeFileError } from "./errors.ts";

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
