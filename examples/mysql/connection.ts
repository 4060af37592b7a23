/**
 * One connection to a MySQL or MariaDB server: the protocol v10 handshake
 * (with the TLS upgrade and the authentication exchange), then one command
 * at a time: text queries, prepared statements over the binary protocol,
 * rows streamed as they arrive, ping and quit.
 *
 * A command cancelled (or timed out) while the server works on it does not
 * spoil the connection: a side connection sends `KILL QUERY`, the rest of
 * the response is read and dropped in a task of its own, and only then may
 * the next command start. If that fails the connection is closed.
 *
 * @module
 */

import {
  type Connection,
  createTask,
  InvalidStateError,
  isCancellation,
  Lock,
  openConnection,
  type Permit,
  timeout,
} from "../../mod.ts";
import { AUTH_PLUGINS, authResponse } from "./auth.ts";
import { PacketBuilder, PacketCursor } from "./buffer.ts";
import { MysqlConnectionLostError, MysqlError, MysqlProtocolError } from "./errors.ts";
import { PacketReader, PacketWriter, writePacket } from "./framing.ts";
import { type ColumnCache, type OkInfo, parseError, parseOk, ResponseReader } from "./response.ts";
import { type Column, encodeParams, type Param, parseColumn, type Row } from "./types.ts";

/** Capability flags (the ones this client uses). */
const CLIENT = {
  LONG_PASSWORD: 1,
  LONG_FLAG: 4,
  CONNECT_WITH_DB: 8,
  PROTOCOL_41: 0x200,
  SSL: 0x800,
  TRANSACTIONS: 0x2000,
  SECURE_CONNECTION: 0x8000,
  MULTI_STATEMENTS: 0x10000,
  MULTI_RESULTS: 0x20000,
  PS_MULTI_RESULTS: 0x40000,
  PLUGIN_AUTH: 0x80000,
  PLUGIN_AUTH_LENENC_CLIENT_DATA: 0x200000,
  DEPRECATE_EOF: 0x1000000,
} as const;

/** Command bytes. */
const COM = {
  QUIT: 0x01,
  QUERY: 0x03,
  PING: 0x0e,
  STMT_PREPARE: 0x16,
  STMT_EXECUTE: 0x17,
  STMT_CLOSE: 0x19,
} as const;

/** utf8mb4_general_ci. */
const UTF8MB4 = 45;
const MAX_STATEMENTS = 256;

/** Settings of {@linkcode MysqlConnection.connect}. */
export interface ConnectOptions {
  /** The server's host; default `"127.0.0.1"`. */
  host?: string;
  /** The server's port; default 3306. */
  port?: number;
  /** The user name. */
  user: string;
  /** The password; default empty. */
  password?: string;
  /** The database to use; default none. */
  database?: string;
  /**
   * Upgrade to TLS during the handshake (`SSL_REQUEST`): `true`, or the
   * certificates to trust and the name to verify. The connection fails if
   * the server cannot do TLS. Default: plain TCP.
   */
  tls?: boolean | { caCerts?: string[]; hostname?: string };
  /** Milliseconds the connect, TLS upgrade and authentication may take; default no limit. */
  connectTimeout?: number;
  /** Milliseconds each command may take before it is cancelled with a `TimeoutError`; default no limit. */
  queryTimeout?: number;
  /** The largest packet accepted from the server, in bytes; default 1 GiB. */
  maxPacketSize?: number;
  /** Aborting it cancels the connect. */
  signal?: AbortSignal;
}

/** Options of one command. */
export interface CommandOptions {
  /** Aborting it cancels the command (the server's work is killed; the connection stays usable). */
  signal?: AbortSignal;
  /** Milliseconds this command may take; default the connection's `queryTimeout`. */
  timeout?: number;
}

/** One result set, or the outcome of a statement that returns no rows. */
export interface Result extends OkInfo {
  /** The columns; empty for a statement that returns no rows. */
  columns: Column[];
  /** The rows. */
  rows: Row[];
}

/** The streamed rows of one query: an async iterable that also tells the columns. */
export interface RowStream extends AsyncIterable<Row> {
  /** The result set's columns, known once the first row (or the end) has been read. */
  readonly columns: Column[];
}

interface Statement {
  id: number;
  params: number;
  columns: number;
  /** When it was last used, for evicting the least recently used one. */
  used: number;
  /** Its last result set's columns. */
  current?: ColumnCache;
}

/** What the server said in its handshake. */
interface Greeting {
  serverVersion: string;
  threadId: number;
  capabilities: number;
  scramble: Uint8Array;
  plugin: string;
}

function parseGreeting(payload: Uint8Array): Greeting {
  const c = new PacketCursor(payload);
  if (payload[0] === 0xff) throw parseError(payload);
  const protocol = c.u8();
  if (protocol !== 10) {
    throw new MysqlProtocolError(
      `Cannot connect: the protocol version must be 10: current value is ${protocol}`,
    );
  }
  const serverVersion = c.nulString();
  const threadId = c.u32();
  const part1 = c.bytesN(8);
  c.u8(); // filler
  let capabilities = c.u16();
  let part2: Uint8Array = new Uint8Array();
  let plugin = "mysql_native_password";
  if (c.remaining > 0) {
    c.u8(); // character set
    c.u16(); // status
    capabilities |= c.u16() << 16;
    const authLength = c.u8();
    c.bytesN(10); // reserved (MariaDB: its extended capabilities)
    if (capabilities & CLIENT.SECURE_CONNECTION) {
      part2 = c.bytesN(Math.max(13, authLength - 8)).subarray(0, 12);
    }
    if (capabilities & CLIENT.PLUGIN_AUTH) plugin = c.nulString();
  }
  const scramble = new Uint8Array(part1.length + part2.length);
  scramble.set(part1);
  scramble.set(part2, part1.length);
  return { serverVersion, threadId, capabilities: capabilities >>> 0, scramble, plugin };
}

const REQUIRED = CLIENT.PROTOCOL_41 | CLIENT.SECURE_CONNECTION | CLIENT.PLUGIN_AUTH;

/** Module access to a connection's private row source, for {@linkcode streamRows}. */
let rowSourceOf: (
  connection: MysqlConnection,
  sql: string,
  params: readonly Param[] | undefined,
) => RowSource;

/**
 * A connection to a MySQL or MariaDB server. Commands run one at a time
 * (a command waits for the previous one's response to be read); close it
 * with `await using`, `close()`, or let a {@linkcode MysqlPool} own it.
 *
 * @example
 * ```ts ignore
 * import { MysqlConnection } from "./mod.ts";
 *
 * await using db = await MysqlConnection.connect({ port: 3306, user: "app", password: "pw" });
 * const { rows } = await db.query("SELECT id, name FROM users WHERE id = ?", [1]);
 * for await (const row of db.rows("SELECT * FROM big_table")) console.log(row);
 * ```
 */
export class MysqlConnection implements AsyncDisposable {
  static {
    rowSourceOf = (connection, sql, params) => connection.#rowSource(sql, params);
  }

  readonly #conn: Connection;
  readonly #packets: PacketReader;
  readonly #options: ConnectOptions;
  readonly #capabilities: number;
  readonly #out: PacketWriter;
  /** Above this many buffered bytes a command waits for the writer to drain. */
  readonly #writeHigh: number;
  readonly #lock = new Lock();
  readonly #statements = new Map<string, Statement>();
  #uses = 0;
  #closed = false;
  /** The server's version string, e.g. `"10.11.6-MariaDB"`. */
  readonly serverVersion: string;
  /** The server's id of this connection (what `KILL` takes). */
  readonly threadId: number;

  private constructor(
    conn: Connection,
    packets: PacketReader,
    options: ConnectOptions,
    greeting: Greeting,
    capabilities: number,
  ) {
    this.#conn = conn;
    this.#packets = packets;
    this.#out = new PacketWriter(conn.writer);
    this.#writeHigh = conn.writer.getWriteBufferLimits().high;
    this.#options = options;
    this.#capabilities = capabilities;
    this.serverVersion = greeting.serverVersion;
    this.threadId = greeting.threadId;
  }

  /**
   * Connects and authenticates.
   *
   * @param options Where to connect, as whom, and the TLS and timeout settings.
   * @returns The connection.
   * @throws {MysqlError} If the server refuses (e.g. 1045 access denied).
   * @throws {MysqlProtocolError} If the server asks for a plugin this client
   *   does not speak, or cannot do TLS when `tls` is set.
   * @throws {TimeoutError} If `connectTimeout` passes.
   */
  static async connect(options: ConnectOptions): Promise<MysqlConnection> {
    if (typeof options?.user !== "string") {
      throw new TypeError(
        `Cannot connect: 'user' must be a string: current value is ${String(options?.user)}`,
      );
    }
    for (const name of ["connectTimeout", "queryTimeout"] as const) {
      const v = options[name];
      if (v !== undefined && !(typeof v === "number" && v >= 0)) {
        throw new RangeError(
          `Cannot connect: '${name}' must be a number >= 0: current value is ${String(v)}`,
        );
      }
    }
    const run = (signal?: AbortSignal) => MysqlConnection.#connect(options, signal);
    if (options.connectTimeout === undefined) return await run(options.signal);
    return await timeout(options.connectTimeout, (inner) => {
      const signal = options.signal ? AbortSignal.any([inner, options.signal]) : inner;
      return run(signal);
    });
  }

  static async #connect(options: ConnectOptions, signal?: AbortSignal): Promise<MysqlConnection> {
    const host = options.host ?? "127.0.0.1";
    const port = options.port ?? 3306;
    const conn = await openConnection(host, port, { signal });
    try {
      const [reader, writer] = conn;
      const packets = new PacketReader(reader, options.maxPacketSize);
      const greeting = parseGreeting(await packets.read({ signal }));
      if ((greeting.capabilities & REQUIRED) !== REQUIRED) {
        throw new MysqlProtocolError(
          `Cannot connect: the server must support protocol 4.1 with plugin authentication: ` +
            `its capabilities are 0x${greeting.capabilities.toString(16)}`,
        );
      }
      let caps = CLIENT.LONG_PASSWORD | CLIENT.LONG_FLAG | CLIENT.PROTOCOL_41 |
        CLIENT.TRANSACTIONS | CLIENT.SECURE_CONNECTION | CLIENT.MULTI_STATEMENTS |
        CLIENT.MULTI_RESULTS | CLIENT.PS_MULTI_RESULTS | CLIENT.PLUGIN_AUTH |
        CLIENT.PLUGIN_AUTH_LENENC_CLIENT_DATA | CLIENT.DEPRECATE_EOF;
      if (options.database !== undefined) caps |= CLIENT.CONNECT_WITH_DB;
      caps &= greeting.capabilities | CLIENT.CONNECT_WITH_DB;
      let seq = packets.sequenceId;
      const head = (c: number) =>
        new PacketBuilder(128).u32(c >>> 0).u32(1 << 24).u8(UTF8MB4).zeros(23);
      if (options.tls) {
        if (!(greeting.capabilities & CLIENT.SSL)) {
          throw new MysqlProtocolError(
            `Cannot connect over TLS: the server at ${host}:${port} does not offer it`,
          );
        }
        caps |= CLIENT.SSL;
        seq = writePacket(writer, head(caps).finish(), seq);
        await writer.drain({ signal });
        const tls = options.tls === true ? {} : options.tls;
        await writer.startTls({ hostname: tls.hostname, caCerts: tls.caCerts, signal });
      }
      const password = options.password ?? "";
      // A default plugin this client does not speak (MySQL 8's caching_sha2_password): answer
      // with mysql_native_password; the server switches to the user's plugin if it differs.
      const plugin = AUTH_PLUGINS.includes(greeting.plugin)
        ? greeting.plugin
        : "mysql_native_password";
      const response = head(caps).nulString(options.user)
        .lenencBytes(await authResponse(plugin, password, greeting.scramble));
      if (options.database !== undefined) response.nulString(options.database);
      response.nulString(plugin);
      packets.sequenceId = writePacket(writer, response.finish(), seq);
      await MysqlConnection.#authenticate(conn, packets, password, signal);
      return new MysqlConnection(conn, packets, options, greeting, caps);
    } catch (e) {
      conn.writer.close();
      throw e;
    }
  }

  /** Reads the server's answers to the authentication until OK, following auth switch requests. */
  static async #authenticate(
    conn: Connection,
    packets: PacketReader,
    password: string,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    for (let round = 0; round < 4; round++) {
      await conn.writer.drain({ signal });
      const payload = await packets.read({ signal });
      if (payload[0] === 0x00) return;
      if (payload[0] === 0xff) throw parseError(payload);
      if (payload[0] === 0xfe) {
        const c = new PacketCursor(payload, 1);
        const plugin = c.nulString();
        let data = c.bytesN(c.remaining);
        if (data.length > 0 && data[data.length - 1] === 0) data = data.subarray(0, -1);
        const answer = await authResponse(plugin, password, data);
        packets.sequenceId = writePacket(conn.writer, answer, packets.sequenceId);
        continue;
      }
      throw new MysqlProtocolError(
        `Cannot authenticate: the server sent a packet of type 0x${payload[0].toString(16)}, ` +
          `which this client's plugins do not expect`,
      );
    }
    throw new MysqlProtocolError("Cannot authenticate: the server asked for too many rounds");
  }

  /** Whether the connection is closed (by `close()`, or after a failure). */
  get closed(): boolean {
    return this.#closed;
  }

  get #deprecateEof(): boolean {
    return (this.#capabilities & CLIENT.DEPRECATE_EOF) !== 0;
  }

  /** Closes the socket at once (after a failure, or when a recovery could not finish). */
  #destroy(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#conn.writer.close();
  }

  /**
   * Takes the connection for one command (waiting for the one before), and
   * runs `fn` under the command's signal and timeout. `fn` may hand its
   * hold on the connection over (to a recovery task); otherwise it is
   * released when `fn` ends. A lost or garbled connection is closed.
   */
  #command<T>(
    what: string,
    options: CommandOptions | undefined,
    fn: (signal: AbortSignal | undefined, handOff: () => Permit) => Promise<T>,
  ): Promise<T> {
    try {
      this.#checkOpen(what);
    } catch (e) {
      return Promise.reject(e);
    }
    const ms = options?.timeout ?? this.#options.queryTimeout;
    const outer = options?.signal;
    if (ms === undefined) return this.#held(what, outer, fn);
    return this.#timed(what, ms, outer, fn);
  }

  /** `#held` under a timeout of `ms`. */
  async #timed<T>(
    what: string,
    ms: number,
    outer: AbortSignal | undefined,
    fn: (signal: AbortSignal | undefined, handOff: () => Permit) => Promise<T>,
  ): Promise<T> {
    return await timeout(
      ms,
      (inner) => this.#held(what, outer ? AbortSignal.any([inner, outer]) : inner, fn),
    );
  }

  /** Runs `fn` holding the connection (see `#command`). */
  async #held<T>(
    what: string,
    signal: AbortSignal | undefined,
    fn: (signal: AbortSignal | undefined, handOff: () => Permit) => Promise<T>,
  ): Promise<T> {
    const permit = await this.#lock.acquire({ signal });
    let held = false;
    try {
      this.#checkOpen(what);
      return await fn(signal, () => {
        held = true;
        return permit;
      });
    } catch (e) {
      if (e instanceof MysqlConnectionLostError || e instanceof MysqlProtocolError) {
        this.#destroy();
      }
      throw e;
    } finally {
      if (!held) permit.release();
    }
  }

  #checkOpen(what: string): void {
    if (this.#closed) throw new InvalidStateError(`Cannot ${what}: the connection is closed`);
  }

  /** Starts a command's first packet (sequence id 0): the builder to append its payload to. */
  #begin(): PacketBuilder {
    return this.#out.begin();
  }

  /** Sends the packet built since `#begin()`. */
  #send(): void {
    try {
      this.#packets.sequenceId = this.#out.send(0);
    } catch (e) {
      this.#destroy();
      throw new MysqlConnectionLostError(`Cannot send command: ${(e as Error).message}`, {
        cause: e,
      });
    }
  }

  /**
   * Waits, when the writer holds more than its high-water mark, until it
   * has sent enough (a small command goes out without a wait).
   */
  async #flush(signal: AbortSignal | undefined): Promise<void> {
    try {
      await this.#conn.writer.drain({ signal });
    } catch (e) {
      // Cancelled while the command is (maybe partly) on its way: its answer would be read by
      // the next command, so the connection cannot go on.
      this.#destroy();
      if (isCancellation(e)) throw e;
      throw new MysqlConnectionLostError(`Cannot send command: ${(e as Error).message}`, {
        cause: e,
      });
    }
  }

  /** Whether the command just sent must wait for the writer with `#flush`. */
  get #mustFlush(): boolean {
    return this.#conn.writer.getWriteBufferSize() > this.#writeHigh;
  }

  /**
   * Finishes a response a cancelled command left half-read, in a task of
   * its own (so that the cancelled caller need not wait): `KILL QUERY` on a
   * side connection, then the rest of the response dropped. The lock is
   * released only then; if anything fails the connection is closed.
   */
  #recover(response: ResponseReader, permit: Permit): void {
    createTask(async () => {
      try {
        if (!response.done) await this.#killQuery();
        await response.skipAll();
      } catch {
        this.#destroy();
      } finally {
        permit.release();
      }
    }, { name: `mysql recover #${this.threadId}` });
  }

  async #killQuery(): Promise<void> {
    const { signal: _, ...options } = this.#options;
    await using side = await MysqlConnection.connect({
      ...options,
      connectTimeout: options.connectTimeout ?? 10_000,
    });
    await side.query(`KILL QUERY ${this.threadId}`);
  }

  /**
   * After a failure while `response` was being read: a cancellation in the
   * middle hands the rest of the response to a recovery task (which takes
   * over the command's hold on the connection); any other failure that
   * leaves the response half-read closes the connection.
   */
  #abandon(response: ResponseReader, e: unknown, handOff: () => Permit): void {
    if (!response.done && !this.#closed) {
      if (isCancellation(e)) this.#recover(response, handOff());
      else this.#destroy();
    }
  }

  /**
   * Sends a query or an execute, and returns the response reader: at once
   * when nothing has to be waited for (a text query, or a statement already
   * prepared, and a writer below its high-water mark).
   */
  #start(
    sql: string,
    params: readonly Param[] | undefined,
    signal: AbortSignal | undefined,
  ): ResponseReader | Promise<ResponseReader> {
    if (params === undefined) {
      this.#begin().u8(COM.QUERY).string(sql);
      return this.#sent(
        new ResponseReader(this.#packets, {
          deprecateEof: this.#deprecateEof,
          binary: false,
        }),
        signal,
      );
    }
    const statement = this.#statements.get(sql);
    if (statement === undefined) {
      return this.#prepare(sql, signal).then((prepared) => this.#execute(prepared, params, signal));
    }
    return this.#execute(statement, params, signal);
  }

  /** Sends the command built, then hands back `response` (once the writer has drained, if due). */
  #sent(
    response: ResponseReader,
    signal: AbortSignal | undefined,
  ): ResponseReader | Promise<ResponseReader> {
    this.#send();
    if (!this.#mustFlush) return response;
    return this.#flush(signal).then(() => response);
  }

  #execute(
    statement: Statement,
    params: readonly Param[],
    signal: AbortSignal | undefined,
  ): ResponseReader | Promise<ResponseReader> {
    statement.used = ++this.#uses;
    if (params.length !== statement.params) {
      throw new RangeError(
        `Cannot execute statement: it takes ${statement.params} parameters: ` +
          `current count is ${params.length}`,
      );
    }
    const out = this.#begin().u8(COM.STMT_EXECUTE).u32(statement.id).u8(0).u32(1);
    if (params.length > 0) encodeParams(out, params);
    return this.#sent(
      new ResponseReader(this.#packets, {
        deprecateEof: this.#deprecateEof,
        binary: true,
        columnCache: statement,
      }),
      signal,
    );
  }

  async #prepare(sql: string, signal: AbortSignal | undefined): Promise<Statement> {
    this.#begin().u8(COM.STMT_PREPARE).string(sql);
    this.#send();
    await this.#flush(signal);
    try {
      const first = await this.#packets.read({ signal });
      if (first[0] === 0xff) throw parseError(first);
      const c = new PacketCursor(first, 1);
      const statement: Statement = { id: c.u32(), columns: c.u16(), params: c.u16(), used: 0 };
      for (const count of [statement.params, statement.columns]) {
        if (count === 0) continue;
        for (let i = 0; i < count; i++) parseColumn(await this.#packets.read({ signal }));
        if (!this.#deprecateEof) await this.#packets.read({ signal });
      }
      this.#statements.set(sql, statement);
      if (this.#statements.size > MAX_STATEMENTS) this.#evictStatement();
      return statement;
    } catch (e) {
      // A prepare cut short leaves definitions unread: the connection cannot go on.
      if (!(e instanceof MysqlError)) this.#destroy();
      throw e;
    }
  }

  /** Closes the least recently used statement (its close has no answer). */
  #evictStatement(): void {
    let oldest: [string, Statement] | undefined;
    for (const entry of this.#statements) {
      if (oldest === undefined || entry[1].used < oldest[1].used) oldest = entry;
    }
    const [sql, statement] = oldest!;
    this.#statements.delete(sql);
    this.#begin().u8(COM.STMT_CLOSE).u32(statement.id);
    this.#send();
  }

  /**
   * Runs one statement and returns its result: all rows at once. With
   * `params` (even `[]`) the statement is prepared (once per connection)
   * and executed over the binary protocol, the values never entering the
   * SQL text; without, it is sent as text (`COM_QUERY`).
   *
   * @param sql The statement; `?` marks parameters.
   * @param params The parameters' values.
   * @param options `signal` and `timeout`.
   * @returns The result.
   * @throws {MysqlError} The server's error, with `code` and `sqlState`.
   * @throws {TypeError} If the SQL returns several result sets: use {@linkcode queryAll}.
   */
  async query(sql: string, params?: readonly Param[], options?: CommandOptions): Promise<Result> {
    const results = await this.#queryAll("query", sql, params, options);
    if (results.length !== 1) {
      throw new TypeError(
        `Cannot query: the statement must return one result: it returned ${results.length}; ` +
          `use queryAll()`,
      );
    }
    return results[0];
  }

  /**
   * Runs one or several statements (`;`-separated, or a procedure call)
   * and returns every result set.
   *
   * @param sql The statements.
   * @param params The parameters, for a single prepared statement (e.g. `CALL p(?)`).
   * @param options `signal` and `timeout`.
   * @returns The results in order.
   * @throws {MysqlError} The server's error; results before it are lost.
   */
  queryAll(sql: string, params?: readonly Param[], options?: CommandOptions): Promise<Result[]> {
    return this.#queryAll("query", sql, params, options);
  }

  #queryAll(
    what: string,
    sql: string,
    params: readonly Param[] | undefined,
    options: CommandOptions | undefined,
  ): Promise<Result[]> {
    return this.#command(what, options, async (signal, handOff) => {
      let started = this.#start(sql, params, signal);
      if (started instanceof Promise) started = await started;
      const response = started;
      try {
        const results: Result[] = [];
        while (!response.done) {
          const head = await response.nextSet(signal);
          if (head === null) break;
          if (head.ok) {
            results.push({ ...head.ok, columns: [], rows: [] });
            continue;
          }
          const rows: Row[] = [];
          // The rows already received are read without a wait; the rest, as they come.
          if (!response.takeRows(rows)) await response.readRows(rows, signal);
          const ok = response.lastOk!;
          results.push({
            affectedRows: ok.affectedRows,
            insertId: ok.insertId,
            warningCount: ok.warningCount,
            status: ok.status,
            info: ok.info,
            columns: head.columns,
            rows,
          });
        }
        return results;
      } catch (e) {
        this.#abandon(response, e, handOff);
        throw e;
      }
    });
  }

  /**
   * Streams the rows of a query as they arrive: only the row being read is
   * in memory. The connection is held until the iteration ends; leaving
   * the loop early kills the rest of the query on the server.
   *
   * @param sql The query.
   * @param params The parameters (binary protocol), or none (text protocol).
   * @param options `signal` (for the whole iteration).
   * @returns The rows, as an async iterable.
   */
  rows(sql: string, params?: readonly Param[], options?: { signal?: AbortSignal }): RowStream {
    const lease = { connection: this as MysqlConnection, release() {} };
    return streamRows(() => Promise.resolve(lease), sql, params, options);
  }

  /** How a {@linkcode RowIterator} streams `sql` on this connection. */
  #rowSource(sql: string, params: readonly Param[] | undefined): RowSource {
    return {
      open: async (signal) => {
        this.#checkOpen("stream rows");
        const permit = await this.#lock.acquire({ signal });
        try {
          this.#checkOpen("stream rows");
          return { response: await this.#start(sql, params, signal), permit };
        } catch (e) {
          permit.release();
          throw e;
        }
      },
      failed: (e) => {
        if (e instanceof MysqlConnectionLostError || e instanceof MysqlProtocolError) {
          this.#destroy();
        }
      },
      close: (response, permit) => {
        if (!response.done && !this.#closed) {
          // Cancelled, or the loop was left early: the rest is killed and skipped in the background.
          this.#recover(response, permit);
        } else {
          permit.release();
        }
      },
    };
  }

  /**
   * Sends `COM_PING`.
   *
   * @param options `signal` and `timeout`.
   * @throws {MysqlConnectionLostError} If the server is gone.
   */
  async ping(options?: CommandOptions): Promise<void> {
    await this.#command("ping", options, async (signal) => {
      this.#begin().u8(COM.PING);
      this.#send();
      await this.#flush(signal);
      try {
        const payload = await this.#packets.read({ signal });
        if (payload[0] === 0xff) throw parseError(payload);
        parseOk(payload);
      } catch (e) {
        if (isCancellation(e)) this.#destroy();
        throw e;
      }
    });
  }

  /**
   * Sends `COM_QUIT` (after the command in progress) and closes the
   * connection. Closing twice does nothing.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    let permit: Permit | undefined;
    try {
      permit = await this.#lock.acquire({ signal: AbortSignal.timeout(5_000) });
    } catch {
      // A command that never ends: close anyway.
    }
    if (!this.#closed) {
      this.#closed = true;
      try {
        writePacket(this.#conn.writer, new Uint8Array([COM.QUIT]), 0);
      } catch {
        // already failed: nothing to say goodbye to
      }
      await this.#conn[Symbol.asyncDispose]().catch(() => {});
    }
    permit?.release();
  }

  /** Same as {@linkcode close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** A connection lent for one streamed query, and how to give it back. */
export interface RowsLease {
  /** The connection. */
  readonly connection: MysqlConnection;
  /** Gives it back, once the stream is done with it. */
  release(): void;
}

/**
 * Streams a query's rows on a connection taken by `take` when the
 * iteration starts, and released when it ends (after the connection's own
 * hold is handed to a recovery, if the rows were left unfinished). What
 * {@linkcode MysqlConnection.rows} and `MysqlPool.rows` both return.
 *
 * @param take Gives the connection (e.g. from a pool), cancellably.
 * @param sql The query.
 * @param params The parameters (binary protocol), or none (text protocol).
 * @param options `signal` (for the whole iteration).
 * @returns The rows, as an async iterable.
 *
 * @example
 * ```ts ignore
 * import { MysqlPool } from "./mod.ts";
 * import { streamRows } from "./connection.ts";
 *
 * await using pool = new MysqlPool({ port: 3306, user: "app", password: "pw" });
 * for await (const row of streamRows((signal) => pool.acquire({ signal }), "SELECT 1 AS n", [], {})) {
 *   console.log(row.n);
 * }
 * ```
 */
export function streamRows(
  take: (signal: AbortSignal | undefined) => Promise<RowsLease>,
  sql: string,
  params: readonly Param[] | undefined,
  options: { signal?: AbortSignal } | undefined,
): RowStream {
  let columns: Column[] = [];
  const signal = options?.signal;
  return {
    get columns() {
      return columns;
    },
    [Symbol.asyncIterator]: () => {
      let lease: RowsLease | undefined;
      let source: RowSource | undefined;
      return new RowIterator(
        {
          open: async (signal) => {
            lease = await take(signal);
            try {
              source = rowSourceOf(lease.connection, sql, params);
              return await source.open(signal);
            } catch (e) {
              lease.release();
              throw e;
            }
          },
          failed: (e) => source!.failed(e),
          close: (response, permit) => {
            source!.close(response, permit);
            lease!.release();
          },
        },
        signal,
        (c) => columns = c,
      );
    },
  };
}

/** What a {@linkcode RowIterator} needs from its connection. */
interface RowSource {
  /** Takes the connection and sends the query. */
  open(signal: AbortSignal | undefined): Promise<{ response: ResponseReader; permit: Permit }>;
  /** Told of a failure while the response was read (before `close`). */
  failed(e: unknown): void;
  /** Gives the connection back; the response may be unfinished. */
  close(response: ResponseReader, permit: Permit): void;
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * The iterator of a streamed query: sends it at the first `next()`, then
 * serves each row already received at once (a resolved promise, no task or
 * generator step in between), and waits for the connection only when the
 * next row has not arrived. Calls made while one waits are served in turn.
 */
class RowIterator implements AsyncIterator<Row> {
  readonly #source: RowSource;
  readonly #signal: AbortSignal | undefined;
  readonly #onColumns: (columns: Column[]) => void;
  #response: ResponseReader | undefined;
  #permit: Permit | undefined;
  #finished = false;
  /** The call that waits, after which the next one runs. */
  #waiting: Promise<unknown> | undefined;

  constructor(
    source: RowSource,
    signal: AbortSignal | undefined,
    onColumns: (columns: Column[]) => void,
  ) {
    this.#source = source;
    this.#signal = signal;
    this.#onColumns = onColumns;
  }

  next(): Promise<IteratorResult<Row>> {
    if (this.#waiting !== undefined) return this.#after(() => this.next());
    if (this.#finished) return Promise.resolve(DONE);
    // An aborted signal ends the iteration even while rows are buffered.
    if (this.#signal?.aborted) return Promise.reject(this.#fail(this.#signal.reason));
    const response = this.#response;
    if (response !== undefined) {
      try {
        const row = response.tryRow();
        if (row !== undefined) {
          if (row !== null) return Promise.resolve({ done: false, value: row });
          this.#complete();
          return Promise.resolve(DONE);
        }
      } catch (e) {
        return Promise.reject(this.#fail(e));
      }
    }
    return this.#wait(this.#slowNext());
  }

  return(): Promise<IteratorResult<Row>> {
    if (this.#waiting !== undefined) return this.#after(() => this.return());
    this.#end();
    return Promise.resolve(DONE);
  }

  /** Runs `call` once the waiting call has settled. */
  #after<T>(call: () => Promise<T>): Promise<T> {
    const settled = () => call();
    return this.#waiting!.then(settled, settled);
  }

  #wait<T>(promise: Promise<T>): Promise<T> {
    const waiting = promise.finally(() => {
      if (this.#waiting === waiting) this.#waiting = undefined;
    });
    this.#waiting = waiting;
    return waiting;
  }

  async #slowNext(): Promise<IteratorResult<Row>> {
    try {
      let response = this.#response;
      if (response === undefined) {
        const opened = await this.#source.open(this.#signal);
        this.#response = response = opened.response;
        this.#permit = opened.permit;
        const head = await response.nextSet(this.#signal);
        if (head === null) {
          this.#complete();
          return DONE;
        }
        this.#onColumns(head.columns);
      }
      let row = response.tryRow();
      if (row === undefined) row = await response.nextRow(this.#signal);
      if (row !== null) return { done: false, value: row };
      this.#complete();
      return DONE;
    } catch (e) {
      throw this.#fail(e);
    }
  }

  /** The end of the rows: the response must be over too. */
  #complete(): void {
    if (!this.#response!.done) {
      throw this.#fail(
        new TypeError(
          "Cannot stream rows: the statement must return one result: it returned more; use queryAll()",
        ),
      );
    }
    this.#end();
  }

  #fail(e: unknown): unknown {
    if (this.#response !== undefined && !this.#finished) this.#source.failed(e);
    this.#end();
    return e;
  }

  /** Ends the iteration: gives the connection back (once). */
  #end(): void {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#response !== undefined) this.#source.close(this.#response, this.#permit!);
  }
}
