/**
 * The option checks of the example clients and programs, with messages
 * that name the option and show the value, and how values appear in the
 * examples' messages.
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

/**
 * Checks an optional numeric option.
 *
 * @param value The option's value; `undefined` passes.
 * @param what What was being done, for the message: `"create HttpClient"`.
 * @param name The option's name.
 * @param min The smallest accepted value.
 * @param kind `"integer"`, `"number"`, or `"ms"` (a number of milliseconds, at least `min`).
 * @returns The value.
 * @throws {RangeError} If the value is not a number of that kind, at least `min`.
 */
export function checkNumber(
  value: unknown,
  what: string,
  name: string,
  min: number,
  kind: "integer" | "number" | "ms",
): number | undefined {
  if (value === undefined) return undefined;
  if (
    typeof value !== "number" || !(value >= min) ||
    (kind === "integer" && !Number.isSafeInteger(value))
  ) {
    const expected = kind === "ms" && min === 0
      ? "a non-negative number of milliseconds"
      : `${kind === "integer" ? "an integer" : "a number"} >= ${min}`;
    throw new RangeError(
      `Cannot ${what}: '${name}' must be ${expected}: current value is ${describe(value)}`,
    );
  }
  return value;
}
