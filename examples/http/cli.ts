/**
 * Command-line helpers shared by the example programs: a small option
 * parser with clear errors, and human-readable sizes, durations and rates.
 *
 * @module
 */

/** A command line the program cannot run with; the message says why. */
export class UsageError extends Error {
  /**
   * Creates a usage error.
   *
   * @param message What was wrong with the command line.
   */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** One option a program accepts. */
export interface OptionSpec {
  /** The long name, without `--`. */
  name: string;
  /** A one-letter alias, without `-`. */
  short?: string;
  /** `flag` takes no value; `string` takes any; `number`/`integer` are checked. */
  type: "flag" | "string" | "number" | "integer";
  /** The smallest accepted value, for numbers; default 0. */
  min?: number;
  /** The largest accepted value, for numbers. */
  max?: number;
}

/** What {@linkcode parseOptions} found. */
export interface ParsedOptions {
  /** Option values by long name: `true` for flags, strings or numbers otherwise. */
  options: Record<string, string | number | boolean | undefined>;
  /** The arguments that are not options, in order. */
  positional: string[];
}

/**
 * Parses `args` against `specs`: `--name value`, `--name=value`, `-n value`,
 * `-nvalue`, flags, and `--` to end the options. A repeated option keeps its
 * last value.
 *
 * @param args The command-line arguments.
 * @param specs The options accepted.
 * @returns The options and positional arguments.
 * @throws {UsageError} For an unknown option, a missing or invalid value.
 */
export function parseOptions(args: readonly string[], specs: readonly OptionSpec[]): ParsedOptions {
  const options: ParsedOptions["options"] = {};
  const positional: string[] = [];
  const byName = new Map<string, OptionSpec>();
  for (const spec of specs) {
    byName.set(`--${spec.name}`, spec);
    if (spec.short) byName.set(`-${spec.short}`, spec);
  }
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      positional.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positional.push(arg);
      continue;
    }
    let key = arg;
    let value: string | undefined;
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      if (eq > 0) [key, value] = [arg.slice(0, eq), arg.slice(eq + 1)];
    } else if (arg.length > 2) {
      [key, value] = [arg.slice(0, 2), arg.slice(2)];
    }
    const spec = byName.get(key);
    if (spec === undefined) throw new UsageError(`unknown option '${key}'`);
    if (spec.type === "flag") {
      if (value !== undefined) throw new UsageError(`option '--${spec.name}' takes no value`);
      options[spec.name] = true;
      continue;
    }
    if (value === undefined) {
      if (i + 1 >= args.length) throw new UsageError(`option '${key}' needs a value`);
      value = args[++i];
    }
    options[spec.name] = spec.type === "string" ? value : toNumber(spec, key, value);
  }
  return { options, positional };
}

function toNumber(spec: OptionSpec, key: string, value: string): number {
  const n = value.trim() === "" ? NaN : Number(value);
  const integer = spec.type === "integer";
  const min = spec.min ?? 0;
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min) {
    throw new UsageError(
      `option '${key}' must be ${integer ? "an integer" : "a number"} >= ${min}: got '${value}'`,
    );
  }
  if (spec.max !== undefined && n > spec.max) {
    throw new UsageError(`option '${key}' must be at most ${spec.max}: got '${value}'`);
  }
  return n;
}

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

/**
 * A byte count for people: `512 B`, `16.0 KiB`, `3.4 MiB`.
 *
 * @param n A number of bytes.
 * @returns The formatted size.
 */
export function formatBytes(n: number): string {
  let unit = 0;
  while (n >= 1024 && unit < UNITS.length - 1) {
    n /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${n.toFixed(1)} ${UNITS[unit]}`;
}

/**
 * A duration for people: `850 ms`, `12.3 s`, `4m05s`.
 *
 * @param ms Milliseconds.
 * @returns The formatted duration.
 */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
}

/**
 * Writes all of `bytes` to a Deno writer (`write` may write only part).
 *
 * @param writer `Deno.stdout`, a file...
 * @param bytes The bytes to write.
 */
export async function writeAll(
  writer: { write(p: Uint8Array): Promise<number> },
  bytes: Uint8Array,
): Promise<void> {
  for (let at = 0; at < bytes.length;) at += await writer.write(bytes.subarray(at));
}
