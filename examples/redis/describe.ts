/**
 * How values appear in the Redis client's error messages.
 *
 * @module
 */

/**
 * A value as the messages show it: strings quoted, bytes by length.
 *
 * @param value Any value.
 * @returns Its description.
 */
export function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (value instanceof Uint8Array) return `Uint8Array(${value.length})`;
  if (typeof value === "bigint") return `${value}n`;
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object" && value !== null) return "an object";
  return String(value);
}
