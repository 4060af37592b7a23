/**
 * The downloader's own errors: a status that is not a success, a file it
 * cannot safely write, a resume the server refused.
 *
 * @module
 */

/** A response with a status that is not a success. */
export class HttpStatusError extends Error {
  /** The status code. */
  readonly status: number;
  /** Milliseconds the server asked to wait (`Retry-After`), or `null`. */
  readonly retryAfter: number | null;

  /**
   * Creates a status error.
   *
   * @param status The status code.
   * @param statusText The reason phrase.
   * @param retryAfter The wait the server asked for, in milliseconds.
   */
  constructor(status: number, statusText: string, retryAfter: number | null) {
    super(`${status} ${statusText}`.trimEnd());
    this.name = "HttpStatusError";
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

/** The download stopped where it cannot safely write: NAME or NAME.part is not a regular file. */
export class UnsafeFileError extends Error {
  /**
   * Creates the error.
   *
   * @param message What is in the way.
   */
  constructor(message: string) {
    super(message);
    this.name = "UnsafeFileError";
  }
}

/** A server refused to resume (416 Range Not Satisfiable); the next attempt starts over. */
export class ResumeRefusedError extends Error {
  /**
   * Creates the error.
   *
   * @param message What was refused.
   */
  constructor(message: string) {
    super(message);
    this.name = "ResumeRefusedError";
  }
}
