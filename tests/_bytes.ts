/**
 * Test helpers for bytes: text to bytes and back, arrays joined into one,
 * and a recognisable pattern. Loading this module does nothing else.
 *
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** `s` encoded as UTF-8. */
export function bytes(s: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(s);
}

/** `b` decoded as UTF-8 (malformed sequences become U+FFFD). */
export function str(b: Uint8Array): string {
  return decoder.decode(b);
}

/** The bytes of `parts`, one after the other, in a new array. */
export function concat(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * `size` bytes where byte i is `(offset + i) % 251`: a body whose content
 * shows a missing or repeated slice.
 *
 * @param size The length.
 * @param offset The position of the first byte in the whole.
 * @returns The bytes.
 */
export function pattern(size: number, offset = 0): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (offset + i) % 251;
  return bytes;
}
