/**
 * Argument checks shared by every layer, in one message style ("Cannot X:
 * 'name' must be Y: current value is Z"), with messages that name the
 * option and show the value. Internal.
 *
 * @module
 */

import { describe } from "./_describe.ts";

/** Validates an options object. Internal. */
export function checkOptions(options: unknown, what: string): void {
  if (options !== undefined && (typeof options !== "object" || options === null)) {
    throw new TypeError(
      `Cannot ${what}: 'options' must be an object: current value is ${describe(options)}`,
    );
  }
}

/** Validates a reader `limit`. Internal. */
export function checkLimit(limit: unknown, what: string): number | undefined {
  if (limit !== undefined && (!Number.isSafeInteger(limit) || (limit as number) <= 0)) {
    throw new RangeError(
      `Cannot ${what}: 'limit' must be a positive integer: current value is ${describe(limit)}`,
    );
  }
  return limit as number | undefined;
}

/** Validates a port: an integer from `min` to 65535. Internal. */
export function checkPort(port: unknown, what: string, min: number): number {
  if (!Number.isInteger(port) || (port as number) < min || (port as number) > 65535) {
    throw new RangeError(
      `Cannot ${what}: 'port' must be an integer from ${min} to 65535: current value is ${
        describe(port)
      }`,
    );
  }
  return port as number;
}

/** Validates a non-empty string option. Internal. */
export function checkString(value: unknown, name: string, what: string): string {
  if (typeof value !== "string" || value === "") {
    throw new TypeError(
      `Cannot ${what}: '${name}' must be a non-empty string: current value is ${describe(value)}`,
    );
  }
  return value;
}

/**
 * Validates an optional list of strings (certificates, ALPN protocols).
 * Internal.
 *
 * @param value The option's value.
 * @param name The option's name, for the message.
 * @param what What was being done, for the message: "start TLS".
 * @returns The list, or `undefined`.
 * @throws {TypeError} If `value` is neither `undefined` nor an array of strings.
 */
export function checkStrings(value: unknown, name: string, what: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((s) => typeof s === "string")) {
    throw new TypeError(
      `Cannot ${what}: '${name}' must be an array of strings: current value is ${describe(value)}`,
    );
  }
  return value;
}

/** Checks a count argument: an integer of at least `min`. Internal. */
export function checkCount(value: unknown, what: string, name: string, min: number): number {
  if (typeof value !== "number" || Number.isNaN(value)) {
    throw new TypeError(
      `Cannot ${what}: '${name}' must be a number: current value is ${describe(value)}`,
    );
  }
  if (!Number.isInteger(value)) {
    throw new RangeError(
      `Cannot ${what}: '${name}' must be an integer: current value is ${value}`,
    );
  }
  if (value < min) {
    throw new RangeError(
      `Cannot ${what}: '${name}' must be at least ${min}: current value is ${value}`,
    );
  }
  return value;
}

/** Validates an optional non-negative number of milliseconds. Internal. */
export function checkMs(value: unknown, name: string, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || Number.isNaN(value) || value < 0) {
    throw new RangeError(
      `Cannot ${what}: '${name}' must be a non-negative number of milliseconds: current value is ${
        describe(value)
      }`,
    );
  }
  return value;
}

/** Validates an optional boolean option. Internal. */
export function checkBoolean(value: unknown, name: string, what: string): boolean | undefined {
  if (value !== undefined && typeof value !== "boolean") {
    throw new TypeError(
      `Cannot ${what}: '${name}' must be a boolean: current value is ${describe(value)}`,
    );
  }
  return value;
}
