/**
 * Command-line helpers shared by the example programs: std's `parseArgs`
 * with typed, checked values and clear usage errors, and std's size and
 * duration formats with the settings the programs share.
 *
 * @module
 */
import { parseArgs } from "@std/cli/parse-args";
import { format as stdFormatBytes } from "@std/fmt/bytes";
import { format as stdFormatDuration } from "@std/fmt/duration";

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
 * Parses `args` against `specs` with std's `parseArgs` (`--name value`,
 * `--name=value`, `-n value`, flags, `--` to end the options; a repeated
 * option keeps its last value), then checks what it found.
 *
 * @param args The command-line arguments.
 * @param specs The options accepted.
 * @returns The options and positional arguments.
 * @throws {UsageError} For an unknown option, a missing or invalid value.
 */
export function parseOptions(args: readonly string[], specs: readonly OptionSpec[]): ParsedOptions {
  const flags = specs.filter((s) => s.type === "flag").map((s) => s.name);
  const valued = specs.filter((s) => s.type !== "flag").map((s) => s.name);
  const alias: Record<string, string> = {};
  for (const spec of specs) if (spec.short) alias[spec.short] = spec.name;
  const parsed: Record<string, unknown> & { _: unknown[] } = parseArgs([...args], {
    boolean: flags,
    string: valued,
    alias,
    unknown: (arg: string) => {
      if (arg.startsWith("-") && arg !== "-" && !/^-\d/.test(arg)) {
        throw new UsageError(`unknown option '${arg.replace(/=.*$/s, "")}'`);
      }
      return true; // a positional argument
    },
  });
  const end = args.indexOf("--");
  for (const arg of end < 0 ? args : args.slice(0, end)) {
    const eq = arg.indexOf("=");
    if (arg.startsWith("--") && eq > 0 && flags.includes(arg.slice(2, eq))) {
      throw new UsageError(`option '${arg.slice(0, eq)}' takes no value`);
    }
  }
  const options: ParsedOptions["options"] = {};
  for (const spec of specs) {
    const value: unknown = parsed[spec.name];
    if (spec.type === "flag") {
      if (value === true) options[spec.name] = true;
      continue;
    }
    if (value === undefined) continue;
    const text = String(Array.isArray(value) ? value.at(-1) : value);
    if (text === "" && !args.some((a) => a === `--${spec.name}=`)) {
      throw new UsageError(`option '--${spec.name}' needs a value`);
    }
    options[spec.name] = spec.type === "string" ? text : toNumber(spec, text);
  }
  const positional = parsed._.map(String);
  return { options, positional };
}

function toNumber(spec: OptionSpec, value: string): number {
  const n = value.trim() === "" ? NaN : Number(value);
  const integer = spec.type === "integer";
  const min = spec.min ?? 0;
  const key = spec.short ? `-${spec.short}, --${spec.name}` : `--${spec.name}`;
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

/**
 * A byte count for people, in binary units: `512 B`, `16 kiB`, `3.4 MiB`
 * (std's `format` from `@std/fmt/bytes`).
 *
 * @param n A number of bytes.
 * @returns The formatted size.
 */
export function formatBytes(n: number): string {
  return stdFormatBytes(n, { binary: true, maximumFractionDigits: 1 });
}

/**
 * A duration for people, to the millisecond below ten seconds and to the
 * second above: `850ms`, `1s 500ms`, `4m 5s` (std's `format` from
 * `@std/fmt/duration`).
 *
 * @param ms Milliseconds.
 * @returns The formatted duration.
 */
export function formatDuration(ms: number): string {
  const rounded = ms < 10_000 ? Math.round(ms) : Math.round(ms / 1000) * 1000;
  return rounded === 0 ? "0ms" : stdFormatDuration(rounded, { ignoreZero: true });
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
