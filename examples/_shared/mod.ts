/**
 * What the example programs share that is not aio itself: the command line
 * (std's `parseArgs` with checked, typed values), sizes and durations for
 * people, `writeAll`, and the option checks whose messages name the option
 * and show the value. The HTTP, Redis and MySQL clients, the downloader and
 * the echo programs import it from here.
 *
 * @module
 */
export { checkNumber, describe } from "./check.ts";
export {
  formatBytes,
  formatDuration,
  type OptionSpec,
  type ParsedOptions,
  parseOptions,
  UsageError,
  writeAll,
} from "./cli.ts";
