/**
 * The HTTP side of a resume: the validator `If-Range` carries, and the
 * `Content-Range` of a 206 or 416 response.
 *
 * @module
 */
import { HttpProtocolError, type HttpResponse } from "../http/mod.ts";

/** A strong ETag, or else Last-Modified: what `If-Range` may carry (RFC 9110 §13.1.5). */
export function validatorOf(res: HttpResponse): string | null {
  const etag = res.header("etag");
  if (etag !== null && /^"[^"]*"$/.test(etag.trim())) return etag.trim();
  return res.header("last-modified");
}

const CONTENT_RANGE = /^\s*bytes\s+(?:(\d+)-(\d+)|\*)\/(\d+|\*)\s*$/i;

/** The complete length in a `Content-Range` value, or `null`. */
export function contentRangeTotal(value: string | null): number | null {
  const total = CONTENT_RANGE.exec(value ?? "")?.[3];
  return total === undefined || total === "*" ? null : Number(total);
}

/** The first byte position of a 206 response, which must be where the .part ends. */
export function contentRangeStart(value: string | null, expected: number, url: string): number {
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
