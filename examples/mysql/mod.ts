/**
 * A MySQL/MariaDB client for the examples, written on aio's streams:
 * `MysqlConnection` (handshake with TLS upgrade, `mysql_native_password`
 * and MariaDB's `client_ed25519`, text queries, prepared statements over
 * the binary protocol, streamed rows, cancellation with `KILL QUERY`),
 * `MysqlPool`, and the typed errors.
 *
 * @module
 */
export {
  type CommandOptions,
  type ConnectOptions,
  MysqlConnection,
  type Result,
  type RowStream,
} from "./connection.ts";
export { MysqlPool, type PoolOptions } from "./pool.ts";
export {
  MysqlConnectionLostError,
  MysqlError,
  MysqlProtocolError,
  PacketTooLargeError,
} from "./errors.ts";
export { type Column, ColumnType, type Param, type Row, type Value } from "./types.ts";
export type { OkInfo } from "./response.ts";
