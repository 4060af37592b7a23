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

/** Validates a string option: a non-empty one unless `empty` allows "". Internal. */
export function checkString(value: unknown, name: string, what: string, empty = false): string {
  if (typeof value !== "string" || (value === "" && !empty)) {
    throw new TypeError(
      `Cannot ${what}: '${name}' must be a ${empty ? "" : "non-empty "}string: current value is ${
        describe(value)
      }`,
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

/**
 * Validates an integer: a number (else a `TypeError`), whole and, when `min`
 * is given, at least `min` (else a `RangeError`). Internal.
 *
 * @param value The argument's value.
 * @param name Its name, for the message: "maxsize".
 * @param what What was being done, for the message: "create Queue".
 * @param min The smallest value allowed, if any.
 * @param infinite Whether `Infinity` and `-Infinity` are allowed too.
 * @returns The value.
 */
export function checkInteger(
  value: unknown,
  name: string,
  what: string,
  min?: number,
  infinite = false,
): number {
  if (typeof value !== "number" || Number.isNaN(value)) {
    throw new TypeError(
      `Cannot ${what}: '${name}' must be a number: current value is ${describe(value)}`,
    );
  }
  const whole = Number.isSafeInteger(value) || (infinite && !Number.isFinite(value));
  if (!whole || (min !== undefined && value < min)) {
    const rule = min === undefined
      ? "an integer"
      : min === 0
      ? "a non-negative integer"
      : `an integer >= ${min}`;
    throw new RangeError(`Cannot ${what}: '${name}' must be ${rule}: current value is ${value}`);
  }
  return value;
}

/**
 * Validates an optional non-negative number of milliseconds: a `TypeError`
 * for another type, a `RangeError` for NaN or a negative number. Internal.
 */
export function checkMs(value: unknown, name: string, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || Number.isNaN(value) || value < 0) {
    throw new (typeof value === "number" ? RangeError : TypeError)(
      `Cannot ${what}: '${name}' must be a non-negative number of milliseconds: current value is ${
        describe(value)
      }`,
    );
  }
  return value;
}

/**
 * Validates optional high- and low-water marks `{ high, low }`, filling in
 * the one not given (`low` is a quarter of `high`, `high` four times `low`,
 * else `high` is `defaultHigh`). Internal.
 *
 * @param limits The option's value.
 * @param name The option's name, for the message: "writeBufferLimits".
 * @param what What was being done, for the message: "create StreamWriter".
 * @param defaultHigh The high-water mark when neither is given.
 * @returns `[high, low]`.
 * @throws {TypeError} If `limits` is not an object, or a mark not a number.
 * @throws {RangeError} If a mark is not a non-negative integer, or `low > high`.
 */
export function checkWaterMarks(
  limits: { high?: number; low?: number } | undefined,
  name: string,
  what: string,
  defaultHigh: number,
): [number, number] {
  if (limits !== undefined && (typeof limits !== "object" || limits === null)) {
    throw new TypeError(
      `Cannot ${what}: '${name}' must be an object like { high, low }: current value is ${
        describe(limits)
      }`,
    );
  }
  let high = limits?.high;
  let low = limits?.low;
  if (high !== undefined) checkInteger(high, "high", what, 0);
  if (low !== undefined) checkInteger(low, "low", what, 0);
  if (high === undefined) high = low === undefined ? defaultHigh : 4 * low;
  if (low === undefined) low = Math.floor(high / 4);
  if (low > high) {
    throw new RangeError(
      `Cannot ${what}: 'high' must be >= 'low': current values are high=${high}, low=${low}`,
    );
  }
  return [high, low];
}

/** Validates a function argument or option. Internal. */
export function checkFunction<F>(value: F, name: string, what: string): F {
  if (typeof value !== "function") {
    throw new TypeError(
      `Cannot ${what}: '${name}' must be a function: current value is ${describe(value)}`,
    );
  }
  return value;
}

/** Validates an optional `signal` option. Internal. */
export function checkSignal(value: unknown, what: string): AbortSignal | undefined {
  if (value !== undefined && !(value instanceof AbortSignal)) {
    throw new TypeError(
      `Cannot ${what}: 'signal' must be an AbortSignal: current value is ${describe(value)}`,
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
