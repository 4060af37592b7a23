/**
 * The network layer: {@linkcode openConnection} and
 * {@linkcode startServer} (and their Unix-socket twins) turn sockets into a
 * {@linkcode StreamReader} and {@linkcode StreamWriter} pair.
 *
 * @example
 * ```ts
 * import { openConnection, startServer } from "@aio/asyncio/net";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = await startServer(async (reader, writer) => {
 *   writer.write(await reader.readLine());
 *   await writer.drain();
 * }, { host: "127.0.0.1", port: 0 });
 * await using conn = await openConnection("127.0.0.1", server.addr.port);
 * conn.writer.write("ping\n");
 * assertEquals(await conn.reader.readLine(), new TextEncoder().encode("ping\n"));
 * ```
 *
 * @module
 */
export {
  type Connection,
  ConnectionError,
  openConnection,
  type OpenConnectionOptions,
  openUnixConnection,
  type OpenUnixConnectionOptions,
  type TlsOptions,
} from "./connection.ts";
export {
  type BaseServerOptions,
  type ClientHandler,
  type Server,
  type ServerErrorContext,
  startServer,
  type StartServerOptions,
  startUnixServer,
  type StartUnixServerOptions,
} from "./server.ts";
