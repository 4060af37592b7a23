/** Payload sizes shared by `streams_bench.ts` and its sender. */

/** Lines of 64 bytes (63 + `\n`) in the line benchmarks. */
export const LINES = 2_000_000;
/** Bytes in the bulk benchmarks: 1 GiB. */
export const BULK = 1024 * 1024 * 1024;
/** Frames (4-byte length + 100 bytes) in the frame benchmarks. */
export const FRAMES = 1_000_000;
