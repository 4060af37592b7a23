/**
 * What one download's state looks like, live and final, and the events a
 * `Downloader` tells as it goes.
 *
 * @module
 */

/** Where one download stands. */
export type DownloadState = "queued" | "active" | "waiting" | "ok" | "failed" | "cancelled";

/** One URL's download: live while it runs, final once `state` is ok, failed or cancelled. */
export interface DownloadResult {
  /** Its position in the input. */
  readonly index: number;
  /** The URL as given. */
  readonly url: string;
  /** The file name in the output directory (empty for an invalid URL). */
  readonly name: string;
  /** The file's path. */
  readonly path: string;
  /** Where it stands. */
  state: DownloadState;
  /** Bytes of the file so far: kept from before (a resume) plus those of this attempt. */
  bytes: number;
  /** Body bytes received over the network, in all attempts together. */
  received: number;
  /** Bytes an earlier attempt or run left that the last attempt resumed from (0 for none). */
  resumedFrom: number;
  /** Bytes left in `NAME.part` for a later run to resume (`resume` only; 0 for none). */
  kept: number;
  /** The file's whole length when known (`Content-Length`, `Content-Range`), or `null`. */
  total: number | null;
  /** Attempts made so far. */
  attempts: number;
  /** The last response status, if any. */
  status: number | null;
  /** Milliseconds from the first attempt to the end. */
  ms: number;
  /** Why each failed attempt failed, in order. */
  readonly problems: string[];
  /** Why it failed, when it did. */
  error: string | null;
}

/** What a {@linkcode Downloader} tells as it goes. */
export type DownloadEvent =
  | { type: "start"; result: DownloadResult }
  | { type: "retry"; result: DownloadResult; delay: number; reason: string }
  | { type: "done"; result: DownloadResult };
