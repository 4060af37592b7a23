/**
 * How error messages show a value they reject. Internal.
 *
 * @module
 */

/**
 * A value as error messages show it: strings quoted, bigints with their
 * `n`, functions by name, arrays and objects by kind and class, anything
 * else as `String` does.
 *
 * @param value Any value.
 * @returns A short description.
 */
export function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "function") return `function ${value.name || "(anonymous)"}`;
  if (typeof value === "object" && value !== null) {
    return Array.isArray(value)
      ? "an array"
      : `an instance of ${value.constructor?.name ?? "Object"}`;
  }
  return String(value);
}
