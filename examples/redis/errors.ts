/**
 * The errors of the examples' Redis client: what the server answered with
 * (`RedisError`), a reply that is not valid RESP or breaks a limit
 * (`RedisProtocolError`, `RedisLimitError`), and a connection that is gone
 * (`RedisConnectionError`).
 *
 * @module
 */

/**
 * An error reply from the server (`-WRONGTYPE Operation against a key...`).
 * `code` is its first word: `ERR`, `WRONGTYPE`, `NOAUTH`, `EXECABORT`...
 */
export class RedisError extends Error {
  /** The error's code: the first word of the server's message. */
  readonly code: string;

  /**
   * Creates an error from the server's message.
   *
   * @param message The error line, without the `-` and the `\r\n`.
   */
  constructor(message: string) {
    super(message);
    this.name = "RedisError";
    const space = message.indexOf(" ");
    this.code = space === -1 ? message : message.slice(0, space);
  }
}

/** The server sent something that is not valid RESP; the connection is closed. */
export class RedisProtocolError extends Error {
  /**
   * Creates a protocol error.
   *
   * @param message What was wrong, quoting the offending bytes.
   * @param options Standard error options (`cause`).
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RedisProtocolError";
  }
}

/**
 * A reply broke one of the parser's limits (`maxBulkLength`, `maxDepth`,
 * `maxLineLength`); the connection is closed, since the rest of the reply
 * was not read.
 */
export class RedisLimitError extends RedisProtocolError {
  /** The limit's name, as in the options: `"maxBulkLength"`, `"maxDepth"` or `"maxLineLength"`. */
  readonly limit: string;
  /** The limit's value. */
  readonly max: number;

  /**
   * Creates a limit error.
   *
   * @param limit The limit's option name.
   * @param max The limit's value.
   * @param what What broke it, e.g. `"a bulk string of 600000000 bytes"`.
   */
  constructor(limit: string, max: number, what: string) {
    super(`Cannot parse reply: ${what} exceeds '${limit}' (${max})`);
    this.name = "RedisLimitError";
    this.limit = limit;
    this.max = max;
  }
}

/**
 * The connection to the server failed or ended while a command was in
 * flight, or could not be opened. The command may or may not have run.
 */
export class RedisConnectionError extends Error {
  /**
   * Creates a connection error.
   *
   * @param message What happened, naming the server.
   * @param options Standard error options (`cause`: the underlying error).
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RedisConnectionError";
  }
}
