/**
 * The errors of the examples' HTTP client. Network failures keep their own
 * types (`ConnectionError` from aio, `Deno.errors.ConnectionReset`, ...);
 * these name what went wrong with HTTP itself.
 *
 * @module
 */

/**
 * The server's response is not valid HTTP/1.x: a malformed status line or
 * header field, a bad chunk size, conflicting `Content-Length` values... The
 * message names the URL and quotes the offending text.
 */
export class HttpProtocolError extends Error {
  /** The URL of the request whose response was malformed. */
  readonly url: string;

  /**
   * Creates a protocol error.
   *
   * @param message What was wrong, naming the URL and the offending value.
   * @param url The URL of the request.
   * @param options Standard error options (`cause`).
   */
  constructor(message: string, url: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "HttpProtocolError";
    this.url = url;
  }
}

/**
 * The response head (status line and header fields, or the trailer
 * fields) is larger than the client accepts: more than `limit` bytes, or
 * more than the allowed number of fields.
 */
export class HeadTooLargeError extends HttpProtocolError {
  /** The limit that was exceeded (bytes, or fields when the message says so). */
  readonly limit: number;

  /**
   * Creates an oversized-head error.
   *
   * @param message What exceeded which limit, naming the URL.
   * @param url The URL of the request.
   * @param limit The limit exceeded.
   * @param options Standard error options (`cause`).
   */
  constructor(message: string, url: string, limit: number, options?: ErrorOptions) {
    super(message, url, options);
    this.name = "HeadTooLargeError";
    this.limit = limit;
  }
}

/**
 * The connection ended before the whole body arrived: fewer bytes than
 * `Content-Length` said, or a chunked body cut before its last chunk.
 */
export class IncompleteBodyError extends HttpProtocolError {
  /** The body bytes received before the end. */
  readonly received: number;
  /** The body length announced by `Content-Length`, or `null` (chunked). */
  readonly expected: number | null;

  /**
   * Creates an incomplete-body error.
   *
   * @param url The URL of the request.
   * @param received The body bytes received.
   * @param expected The announced length, or `null`.
   * @param options Standard error options (`cause`).
   */
  constructor(url: string, received: number, expected: number | null, options?: ErrorOptions) {
    super(
      expected === null
        ? `Incomplete response body from ${url}: the connection closed after ${received} bytes, ` +
          "before the last chunk"
        : `Incomplete response body from ${url}: the connection closed after ${received} of ` +
          `${expected} bytes`,
      url,
      options,
    );
    this.name = "IncompleteBodyError";
    this.received = received;
    this.expected = expected;
  }
}

/**
 * The connection ended before a complete response head arrived (Python's
 * `http.client.RemoteDisconnected`).
 */
export class RemoteDisconnectedError extends HttpProtocolError {
  /** The bytes of the head received before the end. */
  readonly received: number;

  /**
   * Creates a remote-disconnected error.
   *
   * @param url The URL of the request.
   * @param received The bytes of the head received.
   * @param options Standard error options (`cause`).
   */
  constructor(url: string, received: number, options?: ErrorOptions) {
    super(
      received === 0
        ? `The server closed the connection without a response to ${url}`
        : `The server closed the connection in the middle of the response head from ${url} ` +
          `(after ${received} bytes)`,
      url,
      options,
    );
    this.name = "RemoteDisconnectedError";
    this.received = received;
  }
}

/** A request was redirected more times than allowed. */
export class TooManyRedirectsError extends Error {
  /** The URL first requested. */
  readonly url: string;
  /** Every URL redirected to, in order. */
  readonly redirects: readonly string[];

  /**
   * Creates a too-many-redirects error.
   *
   * @param url The URL first requested.
   * @param redirects The URLs redirected to.
   * @param limit The redirect limit.
   */
  constructor(url: string, redirects: readonly string[], limit: number) {
    super(
      `Too many redirects: ${url} was redirected more than ${limit} times ` +
        `(last to ${redirects.at(-1)})`,
    );
    this.name = "TooManyRedirectsError";
    this.url = url;
    this.redirects = redirects;
  }
}

/** What rustls's certificate verdicts mean, for people. */
const CERTIFICATE_PROBLEMS: [RegExp, string][] = [
  [
    /CaUsedAsEndEntity/,
    "the server's certificate is marked as a CA (basicConstraints CA:TRUE, what a plain " +
    "'openssl req -x509' makes) and is used as the server's own; make it with " +
    "'-addext basicConstraints=critical,CA:FALSE' and a subjectAltName, or sign a server " +
    "certificate with that CA",
  ],
  [/UnknownIssuer/, "the certificate is not signed by a CA this program trusts (see --cacert)"],
  [/NotValidForName/, "the certificate is not valid for this host name (see its subjectAltName)"],
  [/Expired/, "the certificate has expired"],
  [/NotValidYet/, "the certificate is not valid yet"],
  [/BadSignature|InvalidSignature/, "the certificate's signature is invalid"],
  [/Revoked/, "the certificate was revoked"],
];

/**
 * A connect failure's message, with what it most likely means: `https:` to
 * a server that speaks plain HTTP, or which rule a certificate breaks.
 *
 * @param message The failure's message.
 * @returns The message, with the explanation appended when one applies.
 */
export function explainConnectFailure(message: string): string {
  if (/corrupt message|InvalidContentType|wrong version number|record overflow/i.test(message)) {
    return `${message}: the server probably does not speak TLS on this port (try http://)`;
  }
  for (const [pattern, meaning] of CERTIFICATE_PROBLEMS) {
    if (pattern.test(message)) return `${message}: ${meaning}`;
  }
  return message;
}

/**
 * Why a connect failure cannot succeed by trying again, or `null` when it
 * may: a host name that does not exist (not a temporary resolver failure),
 * or a TLS handshake or certificate failure.
 *
 * @param message The failure's message.
 * @returns The reason, or `null`.
 */
export function permanentConnectFailure(message: string): string | null {
  if (/TLS handshake failed/.test(message)) return "a TLS failure does not go away by retrying";
  if (
    /cannot resolve the host name/.test(message) &&
    /not known|ENOTFOUND|No address associated|nodename nor servname|does not exist|NXDOMAIN/i
      .test(message)
  ) {
    return "the host name does not exist";
  }
  return null;
}
