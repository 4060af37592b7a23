/**
 * The downloader example's public face: `Downloader` (the fetch loop), its
 * file naming, retry policy, progress line and summary table, and `main`,
 * the command line that `examples/downloader.ts` runs.
 *
 * @module
 */
export { Downloader, type DownloaderOptions, type RunOptions } from "./downloader.ts";
export { HttpStatusError, ResumeRefusedError, UnsafeFileError } from "./errors.ts";
export { main } from "./main.ts";
export { NameRegistry, safeFileName } from "./names.ts";
export { ProgressReporter } from "./progress.ts";
export { describeError, isRetryable, parseRetryAfter, whyNotRetried } from "./retry.ts";
export { summaryTable } from "./summary.ts";
export { fitWidth } from "./terminal.ts";
export type { DownloadEvent, DownloadResult, DownloadState } from "./types.ts";
