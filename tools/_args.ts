/**
 * Command-line parsing shared by the on-demand tools.
 *
 * @module
 */

/**
 * Parses `--name value` pairs (positive integers) and `--client`, starting
 * from `defaults`.
 *
 * @param args The command-line arguments.
 * @param defaults The numeric options and their defaults.
 * @returns The options, with `client` set when `--client` was given.
 * @throws {RangeError} If a value is not a positive integer.
 * @throws {TypeError} If an argument is unknown.
 */
export function parseToolArgs<T extends Record<string, number>>(
  args: string[],
  defaults: T,
): T & { client: boolean } {
  const options: Record<string, number | boolean> = { ...defaults, client: false };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--client") {
      options.client = true;
      continue;
    }
    const name = arg.startsWith("--") ? arg.slice(2) : "";
    if (!(name in defaults)) throw new TypeError(`unknown argument ${arg}`);
    const v = Number(args[++i]);
    if (!Number.isSafeInteger(v) || v <= 0) {
      throw new RangeError(`${arg} needs a positive integer: got ${args[i]}`);
    }
    options[name] = v;
  }
  return options as T & { client: boolean };
}
