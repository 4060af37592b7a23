/**
 * UTF-8 text to and from bytes, with a fast path for the short ASCII strings
 * that most Redis keys and values are.
 *
 * @module
 */

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/**
 * Decodes UTF-8 bytes (invalid sequences become U+FFFD).
 *
 * @param bytes The bytes.
 * @returns The text.
 */
export function decodeText(bytes: Uint8Array): string {
  const n = bytes.length;
  if (n > 24) return decoder.decode(bytes);
  let s = "";
  for (let i = 0; i < n; i++) {
    const b = bytes[i];
    if (b >= 0x80) return decoder.decode(bytes);
    s += String.fromCharCode(b);
  }
  return s;
}

/**
 * Encodes text as UTF-8.
 *
 * @param text The text.
 * @returns Its bytes.
 */
export function encodeText(text: string): Uint8Array {
  return encoder.encode(text);
}
