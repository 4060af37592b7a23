/**
 * HTTP/1.1 message heads: writing a request head, parsing a response head
 * (status line and header fields, RFC 9112 §4–5), and deciding how the body
 * is framed (§6.3).
 *
 * @module
 */

import {
  IncompleteReadError,
  LimitOverrunError,
  type ReadOptions,
  type StreamReader,
} from "../../mod.ts";
import { HeadTooLargeError, HttpProtocolError, RemoteDisconnectedError } from "./errors.ts";

/** A parsed response head. Field names are lower-cased; order is kept. */
export interface ResponseHead {
  /** `"1.0"` or `"1.1"`. */
  version: string;
  /** The three-digit status code. */
  status: number;
  /** The reason phrase (may be empty). */
  statusText: string;
  /** The header fields as `[lower-cased name, value]`, in order. */
  fields: [string, string][];
}

/** How a response body is delimited. */
export type Framing =
  | { kind: "none" }
  | { kind: "length"; length: number }
  | { kind: "chunked" }
  | { kind: "eof" };

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// deno-lint-ignore no-control-regex -- control characters are what these reject
const STATUS_LINE = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: ([^\x00-\x08\x0a-\x1f\x7f]*))?$/;
// deno-lint-ignore no-control-regex -- control characters are what these reject
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;

/** Limits on a response head. */
export interface HeadLimits {
  /** The largest head in bytes (the reader's `limit` bounds each head read). */
  maxHeadSize: number;
  /** The most header fields. */
  maxFields: number;
}

/** Options of {@linkcode readResponseHead}. */
export interface ReadHeadOptions extends ReadOptions {
  /** Called before each wait for the head that follows an interim (1xx) response. */
  onInterim?: () => void;
}

const HEAD_END = [new Uint8Array([13, 10, 13, 10]), new Uint8Array([10, 10])];

/**
 * Reads the final response head off `reader`: interim responses (100
 * Continue, 103 Early Hints) are skipped; a 101 is an error (it was not
 * asked for).
 *
 * @param reader The connection's reader; its `limit` bounds the head.
 * @param url The request URL, for error messages.
 * @param limits The head's limits.
 * @param options `signal` to cancel the waits; `onInterim` hears each interim response.
 * @returns The head; the reader is positioned at the body.
 * @throws {HttpProtocolError} (as a rejection) If the head is malformed, or a 101.
 * @throws {HeadTooLargeError} (as a rejection) If it is over the limits.
 * @throws {RemoteDisconnectedError} (as a rejection) If the stream ends first.
 */
export async function readResponseHead(
  reader: StreamReader,
  url: string,
  limits: HeadLimits,
  options: ReadHeadOptions = {},
): Promise<ResponseHead> {
  let [head, size] = await readOneHead(reader, url, limits, options.signal);
  // Interim responses count toward the head's limit: endless ones would
  // otherwise keep a request waiting forever.
  let interim = 0;
  while (head.status >= 100 && head.status < 200 && head.status !== 101) {
    interim += size;
    if (interim > limits.maxHeadSize) {
      throw new HeadTooLargeError(
        `Response head from ${url} is too large: more than ${limits.maxHeadSize} bytes of ` +
          "interim (1xx) responses",
        url,
        limits.maxHeadSize,
      );
    }
    options.onInterim?.();
    [head, size] = await readOneHead(reader, url, limits, options.signal);
  }
  if (head.status === 101) {
    throw new HttpProtocolError(
      `Unexpected response from ${url}: 101 Switching Protocols was not asked for`,
      url,
    );
  }
  return head;
}

async function readOneHead(
  reader: StreamReader,
  url: string,
  limits: HeadLimits,
  signal: AbortSignal | undefined,
): Promise<[ResponseHead, number]> {
  let bytes: Uint8Array;
  try {
    bytes = await reader.readUntil(HEAD_END, { signal });
  } catch (e) {
    if (e instanceof LimitOverrunError) headTooLarge(url, "head", limits.maxHeadSize, e);
    if (e instanceof IncompleteReadError) {
      throw new RemoteDisconnectedError(url, e.partial.length, { cause: e });
    }
    throw e;
  }
  return [parseResponseHead(bytes, url, limits.maxFields), bytes.length];
}

/** Native and fast, but windows-1252: bytes 0x80-0x9F may become characters above U+00FF. */
const windows1252 = new TextDecoder("latin1");

/**
 * Decodes bytes as ISO-8859-1, one character per byte, as HTTP field values
 * are read (`TextDecoder("latin1")` is windows-1252, which differs for
 * bytes 0x80 to 0x9F: those take the slow path).
 *
 * @param bytes The bytes.
 * @returns The text.
 */
export function latin1(bytes: Uint8Array): string {
  const fast = windows1252.decode(bytes);
  if (!/[\u0100-\uffff]/.test(fast)) return fast;
  let text = "";
  for (let i = 0; i < bytes.length; i += 4096) {
    text += String.fromCharCode(...bytes.subarray(i, i + 4096));
  }
  return text;
}

/** Quotes at most 60 characters of `text` for an error message. */
export function quote(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}...` : text);
}

/**
 * Parses a response head: the bytes up to and including the empty line.
 *
 * @param bytes The head, as read.
 * @param url The request URL, for error messages.
 * @param maxFields The most header fields accepted.
 * @returns The status line's parts and the header fields.
 * @throws {HttpProtocolError} If the status line or a field is malformed.
 * @throws {HeadTooLargeError} If there are more than `maxFields` fields.
 */
export function parseResponseHead(bytes: Uint8Array, url: string, maxFields: number): ResponseHead {
  const lines = latin1(bytes).split("\n");
  // The head ends with an empty line: drop it and the split's empty tail.
  lines.length -= 2;
  const statusLine = stripCr(lines[0]);
  const match = STATUS_LINE.exec(statusLine);
  if (match === null) {
    const what = /^HTTP\/\d/.test(statusLine)
      ? "unsupported HTTP version or malformed status line"
      : "malformed status line";
    throw new HttpProtocolError(
      `Invalid response from ${url}: ${what}: ${quote(statusLine)}`,
      url,
    );
  }
  const fields = parseFields(lines, 1, url, maxFields, "header");
  return { version: `1.${match[1]}`, status: Number(match[2]), statusText: match[3] ?? "", fields };
}

/**
 * Parses header (or trailer) field lines `lines[from..]`; an obsolete line
 * folding (a line starting with a space or tab) continues the previous
 * value, as RFC 9112 §5.2 allows.
 *
 * @param lines The field lines, without their line ends.
 * @param from The index of the first field line.
 * @param url The request URL, for error messages.
 * @param maxFields The most fields accepted.
 * @param what `"header"` or `"trailer"`, for error messages.
 * @returns The fields as `[lower-cased name, value]`.
 */
export function parseFields(
  lines: string[],
  from: number,
  url: string,
  maxFields: number,
  what: string,
): [string, string][] {
  const fields: [string, string][] = [];
  // The last field's value and its continuation lines, joined once at its end:
  // joining line by line is quadratic in the number of folded lines.
  let folded: string[] | null = null;
  const join = () => {
    if (folded !== null) fields[fields.length - 1][1] = folded.filter((v) => v !== "").join(" ");
    folded = null;
  };
  for (let i = from; i < lines.length; i++) {
    const line = stripCr(lines[i]);
    const first = line.charCodeAt(0);
    if (first === 0x20 || first === 0x09) {
      const last = fields.at(-1);
      if (last === undefined) {
        throw new HttpProtocolError(
          `Invalid response from ${url}: a ${what} field starts with whitespace: ${quote(line)}`,
          url,
        );
      }
      (folded ??= [last[1]]).push(checkValue(trimOws(line), line, url, what));
      continue;
    }
    join();
    const colon = line.indexOf(":");
    const name = colon > 0 ? line.slice(0, colon) : "";
    if (!TOKEN.test(name)) {
      throw new HttpProtocolError(
        `Invalid response from ${url}: malformed ${what} field: ${quote(line)}`,
        url,
      );
    }
    if (fields.length === maxFields) {
      throw new HeadTooLargeError(
        `Response ${what} from ${url} is too large: more than ${maxFields} fields`,
        url,
        maxFields,
      );
    }
    const value = trimOws(line.slice(colon + 1));
    fields.push([name.toLowerCase(), checkValue(value, line, url, what)]);
  }
  join();
  return fields;
}

/**
 * `text` without leading and trailing spaces and tabs, the only whitespace
 * HTTP allows around a value (`trim()` also drops form feeds, vertical tabs,
 * CRs and U+00A0, letting control characters through and changing values).
 *
 * @param text The text.
 * @returns The text without its optional whitespace.
 */
export function trimOws(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && (text.charCodeAt(start) === 0x20 || text.charCodeAt(start) === 0x09)) {
    start++;
  }
  while (end > start && (text.charCodeAt(end - 1) === 0x20 || text.charCodeAt(end - 1) === 0x09)) {
    end--;
  }
  return text.slice(start, end);
}

function stripCr(line: string): string {
  return line.charCodeAt(line.length - 1) === 0x0d ? line.slice(0, -1) : line;
}

function checkValue(value: string, line: string, url: string, what: string): string {
  if (BAD_VALUE.test(value)) {
    throw new HttpProtocolError(
      `Invalid response from ${url}: a ${what} field holds a control character: ${quote(line)}`,
      url,
    );
  }
  return value;
}

/**
 * The value of the field `name` (lower-case), several fields joined with
 * `", "`, or `null`.
 *
 * @param fields The fields.
 * @param name The lower-cased field name.
 * @returns The combined value, or `null` if absent.
 */
export function fieldValue(fields: readonly [string, string][], name: string): string | null {
  let value: string | null = null;
  for (const [n, v] of fields) {
    if (n === name) value = value === null ? v : `${value}, ${v}`;
  }
  return value;
}

/** Whether a comma-separated field value lists `token` (case-insensitive). */
export function hasToken(value: string | null, token: string): boolean {
  if (value === null) return false;
  for (const part of value.split(",")) {
    if (part.trim().toLowerCase() === token) return true;
  }
  return false;
}

/**
 * How the body of a response is framed (RFC 9112 §6.3), and whether the
 * connection may carry another request afterwards.
 *
 * @param method The request method.
 * @param head The response head.
 * @param url The request URL, for error messages.
 * @returns The framing and whether the connection stays usable.
 * @throws {HttpProtocolError} If `Content-Length` is invalid or conflicting.
 */
export function framingOf(
  method: string,
  head: ResponseHead,
  url: string,
): { framing: Framing; keepAlive: boolean } {
  const connection = fieldValue(head.fields, "connection");
  let keepAlive = head.version === "1.1"
    ? !hasToken(connection, "close")
    : hasToken(connection, "keep-alive");
  const status = head.status;
  if (method === "HEAD" || status < 200 || status === 204 || status === 304) {
    return { framing: { kind: "none" }, keepAlive };
  }
  const te = fieldValue(head.fields, "transfer-encoding");
  if (te !== null) {
    const codings = te.split(",").map((c) => c.trim().toLowerCase()).filter((c) => c !== "");
    // With Transfer-Encoding, a Content-Length is ignored and the
    // connection is not reused (§6.3 item 3).
    if (fieldValue(head.fields, "content-length") !== null) keepAlive = false;
    if (codings.at(-1) === "chunked") return { framing: { kind: "chunked" }, keepAlive };
    return { framing: { kind: "eof" }, keepAlive: false };
  }
  const cl = fieldValue(head.fields, "content-length");
  if (cl !== null) {
    const length = parseContentLength(cl);
    if (length === null) {
      throw new HttpProtocolError(
        `Invalid response from ${url}: invalid Content-Length ${quote(cl)}`,
        url,
      );
    }
    return { framing: { kind: "length", length }, keepAlive };
  }
  return { framing: { kind: "eof" }, keepAlive: false };
}

/**
 * The length a `Content-Length` value declares: digits, repeated any number
 * of times in a list (`"5, 5"`, RFC 9110 §8.6).
 *
 * @param value The combined field value.
 * @returns The length, or `null` if the value is invalid or conflicting.
 */
export function parseContentLength(value: string): number | null {
  const values = new Set(value.split(",").map(trimOws));
  const [only] = values;
  if (values.size !== 1 || !/^\d+$/.test(only) || !Number.isSafeInteger(Number(only))) return null;
  return Number(only);
}

const encoder = new TextEncoder();

/**
 * Writes a request head: request line, `Host`, the given fields, and the
 * empty line.
 *
 * @param method The method, e.g. `"GET"`.
 * @param url The target URL (its path and query form the request target).
 * @param fields The header fields to send, besides `Host`.
 * @returns The head as text (it is ASCII: the URL is already percent-encoded).
 */
export function requestHead(method: string, url: URL, fields: Iterable<[string, string]>): string {
  let head = `${method} ${url.pathname}${url.search} HTTP/1.1\r\nhost: ${url.host}\r\n`;
  for (const [name, value] of fields) head += `${name}: ${value}\r\n`;
  return head + "\r\n";
}

/** Encodes a request body given as text. */
export function encodeBody(body: string | Uint8Array): Uint8Array {
  return typeof body === "string" ? encoder.encode(body) : body;
}

/** Throws a `HeadTooLargeError` for a head over `limit` bytes. */
export function headTooLarge(url: string, what: string, limit: number, cause?: unknown): never {
  throw new HeadTooLargeError(
    `Response ${what} from ${url} is too large: more than ${limit} bytes`,
    url,
    limit,
    cause === undefined ? undefined : { cause },
  );
}
