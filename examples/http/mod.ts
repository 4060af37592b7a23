/**
 * A small HTTP/1.1 client for the examples, written on aio's streams:
 * `HttpClient` (keep-alive pool per origin, redirects, `https:`, timeouts,
 * cancellation) and its typed errors.
 *
 * @module
 */
export {
  HttpClient,
  type HttpClientOptions,
  HttpResponse,
  type RequestOptions,
  toHttpUrl,
} from "./client.ts";
export {
  explainConnectFailure,
  HeadTooLargeError,
  HttpProtocolError,
  IncompleteBodyError,
  permanentConnectFailure,
  RemoteDisconnectedError,
  TooManyRedirectsError,
} from "./errors.ts";
