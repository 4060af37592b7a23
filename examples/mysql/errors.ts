/**
 * The errors of the examples' MySQL/MariaDB client. A server's ERR packet
 * becomes a {@linkcode MysqlError} with its code and SQLSTATE; bytes that
 * break the protocol become a {@linkcode MysqlProtocolError}; a connection
 * that ends or fails under a command becomes a
 * {@linkcode MysqlConnectionLostError}.
 *
 * @module
 */

/**
 * The server answered a command with an ERR packet: a SQL syntax error, a
 * duplicate key, access denied, a query killed... The connection stays
 * usable unless the server closed it.
 */
export class MysqlError extends Error {
  /** The server's error number, e.g. 1064 (syntax error) or 1062 (duplicate entry). */
  readonly code: number;
  /** The five-character SQLSTATE, e.g. `"42000"`, or `"HY000"` when the server sent none. */
  readonly sqlState: string;

  /**
   * Creates a server error.
   *
   * @param message The server's message.
   * @param code The error number.
   * @param sqlState The SQLSTATE.
   */
  constructor(message: string, code: number, sqlState: string) {
    super(`${message} (error ${code}, SQLSTATE ${sqlState})`);
    this.name = "MysqlError";
    this.code = code;
    this.sqlState = sqlState;
  }
}

/**
 * The bytes on the connection do not follow the MySQL protocol: a packet
 * out of sequence, larger than the client accepts, or with a field cut
 * short. The connection is closed, since its framing can no longer be
 * trusted.
 */
export class MysqlProtocolError extends Error {
  /**
   * Creates a protocol error.
   *
   * @param message What was wrong, with the offending value.
   * @param options Standard error options (`cause`).
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "MysqlProtocolError";
  }
}

/**
 * A packet is larger than the client's `maxPacketSize`: the client refuses
 * it before reading its payload.
 */
export class PacketTooLargeError extends MysqlProtocolError {
  /** The size the packet announced so far, in bytes. */
  readonly size: number;
  /** The largest size accepted, in bytes. */
  readonly limit: number;

  /**
   * Creates an oversized-packet error.
   *
   * @param size The announced size.
   * @param limit The limit.
   */
  constructor(size: number, limit: number) {
    super(
      `Cannot read packet: its size must be at most 'maxPacketSize' (${limit} bytes): ` +
        `current value is ${size}`,
    );
    this.name = "PacketTooLargeError";
    this.size = size;
    this.limit = limit;
  }
}

/**
 * The connection ended, or failed, in the middle of a packet or a command:
 * the server went away, or the network broke. The connection is closed; a
 * pool replaces it.
 */
export class MysqlConnectionLostError extends Error {
  /**
   * Creates a connection-lost error.
   *
   * @param message What was being read or written when the connection was lost.
   * @param options Standard error options (`cause`: the underlying error).
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "MysqlConnectionLostError";
  }
}
