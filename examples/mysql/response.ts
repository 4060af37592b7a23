/**
 * Reading the response to `COM_QUERY` and `COM_STMT_EXECUTE` one packet at
 * a time: OK or ERR, or a result set (column count, column definitions,
 * rows, the closing EOF/OK), possibly followed by more result sets.
 *
 * The reader's state moves only once a whole packet has been read, so a
 * cancelled read leaves it where it was, and the rest of the response can
 * still be read (or skipped) afterwards.
 *
 * @module
 */

import { PacketCursor } from "./buffer.ts";
import { MysqlError, MysqlProtocolError } from "./errors.ts";
import { MAX_PACKET_PART, type PacketReader } from "./framing.ts";
import {
  binaryRowDecoder,
  type Column,
  parseColumn,
  type Row,
  type RowDecoder,
  textRowDecoder,
} from "./types.ts";

/** The server status flag: another result set follows. */
export const MORE_RESULTS = 0x0008;

/** What an OK packet (or the end of a result set) reports. */
export interface OkInfo {
  /** Rows changed, deleted or inserted by the statement. */
  affectedRows: number;
  /** The AUTO_INCREMENT id the statement generated, or 0. */
  insertId: number;
  /** How many warnings the statement raised. */
  warningCount: number;
  /** The server status flags. */
  status: number;
  /** The server's human-readable info, e.g. "Records: 3  Duplicates: 0  Warnings: 0". */
  info: string;
}

/**
 * Reads an ERR packet into a {@linkcode MysqlError}.
 *
 * @param payload The packet (starting with 0xFF).
 * @returns The error.
 *
 * @example
 * ```ts
 * import { parseError } from "./response.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const e = parseError(new Uint8Array([0xff, 0x28, 0x04, 0x23, ...new TextEncoder().encode("42000oops")]));
 * assertEquals([e.code, e.sqlState], [1064, "42000"]);
 * ```
 */
export function parseError(payload: Uint8Array): MysqlError {
  const c = new PacketCursor(payload, 1);
  const code = c.u16();
  let sqlState = "HY000";
  if (c.remaining >= 6 && c.bytes[c.pos] === 0x23) {
    c.pos++;
    sqlState = new TextDecoder().decode(c.bytesN(5));
  }
  return new MysqlError(c.restString(), code, sqlState);
}

/**
 * Reads an OK packet (0x00, or 0xFE when it closes a result set).
 *
 * @param payload The packet.
 * @returns What it reports.
 *
 * @example
 * ```ts
 * import { parseOk } from "./response.ts";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(parseOk(new Uint8Array([0, 1, 5, 2, 0, 0, 0])).insertId, 5);
 * ```
 */
export function parseOk(payload: Uint8Array): OkInfo {
  const c = new PacketCursor(payload, 1);
  const affectedRows = c.lenencInt();
  const insertId = c.lenencInt();
  const status = c.remaining >= 2 ? c.u16() : 0;
  const warningCount = c.remaining >= 2 ? c.u16() : 0;
  let info = "";
  if (c.remaining > 0) {
    // A length-encoded string when session tracking is on, else the rest.
    info = c.restString();
  }
  return { affectedRows, insertId, warningCount, status, info };
}

/** Row decoders by the columns they decode, shared by every connection. */
const decoders = new Map<string, RowDecoder>();
const MAX_DECODERS = 512;

/**
 * The row decoder for these columns: made once for each set of columns
 * (a prepared statement's result gets the same one at every execution).
 */
function rowDecoder(columns: Column[], binary: boolean): RowDecoder {
  let key = binary ? "b" : "t";
  for (const c of columns) {
    key += `\0${c.name}\0${c.type}.${c.flags}.${c.charset}.${c.decimals}`;
  }
  let decode = decoders.get(key);
  if (decode === undefined) {
    decode = binary ? binaryRowDecoder(columns) : textRowDecoder(columns);
    if (decoders.size >= MAX_DECODERS) decoders.delete(decoders.keys().next().value!);
    decoders.set(key, decode);
  }
  return decode;
}

/**
 * What a prepared statement remembers of its last result set's columns:
 * the definition packets as they came, and what was made of them. When
 * the next execution sends the same packets, the columns and the row
 * decoder are reused instead of parsed and looked up again.
 */
export interface ColumnCache {
  /** The column definition packets' payloads (copies). */
  packets: Uint8Array[];
  /** The columns they define. */
  columns: Column[];
  /** The row decoder for them. */
  decode: RowDecoder;
}

/** Whether `bytes[start, end)` holds the same bytes as `known`. */
function sameBytes(known: Uint8Array, bytes: Uint8Array, start: number, end: number): boolean {
  if (known.length !== end - start) return false;
  for (let i = 0; i < known.length; i++) {
    if (known[i] !== bytes[start + i]) return false;
  }
  return true;
}

/** The parts of a response, in the order they come. */
type Stage = "head" | "columns" | "columnsEof" | "rows" | "done";

/** The head of one result set: its columns (none for an OK) and, for an OK, what it reports. */
export interface ResultHead {
  /** The columns; empty when the statement returned no rows (an OK packet). */
  columns: Column[];
  /** The OK packet, when the statement returned no rows. */
  ok?: OkInfo;
}

/** Options of a {@linkcode ResponseReader}. */
export interface ResponseOptions {
  /** Whether `CLIENT_DEPRECATE_EOF` was agreed. */
  deprecateEof: boolean;
  /** Whether this is a `COM_STMT_EXECUTE` response (binary rows). */
  binary: boolean;
  /** The statement's column cache, read and updated (binary responses). */
  columnCache?: { current?: ColumnCache };
}

/**
 * Reads one command's response with a state that only moves once a packet
 * is whole. The packets already received are handled synchronously (a
 * result set's rows in one loop); it waits only when the next packet has
 * not arrived yet.
 *
 * @example
 * ```ts
 * import { StreamReader } from "../../mod.ts";
 * import { PacketReader } from "./framing.ts";
 * import { ResponseReader } from "./response.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const stream = new StreamReader();
 * stream.feedData(new Uint8Array([7, 0, 0, 1, 0, 1, 0, 2, 0, 0, 0])); // OK, 1 row affected
 * const packets = new PacketReader(stream);
 * packets.sequenceId = 1;
 * const response = new ResponseReader(packets, { deprecateEof: true, binary: false });
 * assertEquals((await response.nextSet())?.ok?.affectedRows, 1);
 * assertEquals(await response.nextSet(), null);
 * ```
 */
export class ResponseReader {
  readonly #packets: PacketReader;
  readonly #deprecateEof: boolean;
  readonly #binary: boolean;
  readonly #cache: { current?: ColumnCache } | undefined;
  #stage: Stage = "head";
  #columnCount = 0;
  #columns: Column[] = [];
  /** Whether a column definition differed from the cache's. */
  #fresh = false;
  /** Copies of the column definitions read, for the cache, when they differ from it. */
  #rawColumns: Uint8Array[] | undefined;
  #decode: RowDecoder | undefined;
  /** The OK that closed the last result set. */
  lastOk: OkInfo | undefined;

  /**
   * Starts reading a response.
   *
   * @param packets The connection's packet reader, its sequence id set.
   * @param options `deprecateEof` when `CLIENT_DEPRECATE_EOF` was agreed;
   *   `binary` for a `COM_STMT_EXECUTE` response, with the statement's
   *   `columnCache`.
   */
  constructor(packets: PacketReader, options: ResponseOptions) {
    this.#packets = packets;
    this.#deprecateEof = options.deprecateEof;
    this.#binary = options.binary;
    this.#cache = options.columnCache;
  }

  /** Whether the whole response has been read. */
  get done(): boolean {
    return this.#stage === "done";
  }

  /** The current result set's columns. */
  get columns(): Column[] {
    return this.#columns;
  }

  #endSet(status: number): void {
    this.#stage = (status & MORE_RESULTS) !== 0 ? "head" : "done";
  }

  #fail(payload: Uint8Array): never {
    this.#stage = "done";
    throw parseError(payload);
  }

  /**
   * Reads the head of the next result set (skipping the rest of the
   * current one), or returns `null` when the response is over.
   *
   * @param signal Cancels the read.
   * @returns The result set's columns, or its OK.
   * @throws {MysqlError} If the server answered with an ERR packet.
   */
  async nextSet(signal?: AbortSignal): Promise<ResultHead | null> {
    const options = signal === undefined ? undefined : { signal };
    const packets = this.#packets;
    while (this.#stage === "rows" || this.#stage === "columns" || this.#stage === "columnsEof") {
      if (this.#stage === "rows") {
        if (this.tryRow(false) === undefined) await packets.fill(options);
      } else {
        await this.#readColumns(options);
      }
    }
    if (this.#stage === "done") return null;
    while (!packets.next()) await packets.fill(options);
    const payload = packets.payload();
    const first = payload[0];
    if (first === 0x00) {
      const ok = parseOk(payload);
      this.lastOk = ok;
      this.#columns = [];
      this.#endSet(ok.status);
      return { columns: [], ok };
    }
    if (first === 0xff) this.#fail(payload);
    if (first === 0xfb) {
      this.#stage = "done";
      throw new MysqlProtocolError(
        "Cannot read result: the server asked for a LOCAL INFILE, which this client does not send",
      );
    }
    this.#columnCount = new PacketCursor(payload).lenencInt();
    this.#columns = [];
    this.#fresh = false;
    this.#rawColumns = undefined;
    this.#decode = undefined;
    this.#stage = "columns";
    await this.#readColumns(options);
    return { columns: this.#columns };
  }

  async #readColumns(options: { signal: AbortSignal } | undefined): Promise<void> {
    const packets = this.#packets;
    const cached = this.#cache?.current;
    const known = cached !== undefined && cached.columns.length === this.#columnCount
      ? cached
      : undefined;
    while (this.#stage === "columns" && this.#columns.length < this.#columnCount) {
      if (!packets.next()) {
        await packets.fill(options);
        continue;
      }
      const bytes = packets.bytes, start = packets.start, end = packets.end;
      if (bytes[start] === 0xff) this.#fail(packets.payload());
      const i = this.#columns.length;
      if (known !== undefined && !this.#fresh && sameBytes(known.packets[i], bytes, start, end)) {
        this.#columns.push(known.columns[i]);
      } else {
        this.#fresh = true;
        this.#columns.push(parseColumn(packets.payload()));
        if (this.#cache !== undefined) {
          // Keep a copy (a view would hold the whole chunk it came in).
          (this.#rawColumns ??= known?.packets.slice(0, i) ?? []).push(bytes.slice(start, end));
        }
      }
    }
    if (this.#stage === "columns") this.#stage = this.#deprecateEof ? "rows" : "columnsEof";
    if (this.#stage === "columnsEof") {
      while (!packets.next()) await packets.fill(options);
      const payload = packets.payload();
      if (payload[0] !== 0xfe) {
        this.#stage = "done";
        throw new MysqlProtocolError(
          `Cannot read result: the column definitions must end with an EOF packet (0xfe): ` +
            `current value is 0x${payload[0].toString(16)}`,
        );
      }
      this.#stage = "rows";
    }
    if (known !== undefined && !this.#fresh) {
      this.#decode = known.decode;
    } else {
      this.#decode = rowDecoder(this.#columns, this.#binary);
      if (this.#cache !== undefined && this.#rawColumns !== undefined) {
        this.#cache.current = {
          packets: this.#rawColumns,
          columns: this.#columns,
          decode: this.#decode,
        };
      }
    }
    this.#rawColumns = undefined;
  }

  /**
   * Reads the next row of the current result set if its packet has
   * arrived, without waiting.
   *
   * @param decode Whether to make the row (`false` to skip it).
   * @returns The row (`true` when skipped); `null` at the end of the
   *   result set; `undefined` when the packet has not arrived yet.
   * @throws {MysqlError} If the server sent an ERR instead of a row.
   */
  tryRow(decode: false): true | null | undefined;
  tryRow(decode?: true): Row | null | undefined;
  tryRow(decode = true): Row | true | null | undefined {
    if (this.#stage !== "rows") return null;
    const packets = this.#packets;
    if (!packets.next()) return undefined;
    if (!this.#isRow(packets)) return null;
    return decode ? this.#decode!(packets.bytes, packets.start, packets.end) : true;
  }

  /**
   * Whether the packet `next()` just served is a row: the one that ends
   * the rows (an EOF, or an OK with `CLIENT_DEPRECATE_EOF`) is handled
   * here, an ERR thrown.
   */
  #isRow(packets: PacketReader): boolean {
    const bytes = packets.bytes, start = packets.start;
    const first = bytes[start];
    if (first === 0xfe && packets.end - start < MAX_PACKET_PART) {
      this.#endRows(packets.payload());
      return false;
    }
    if (first === 0xff) this.#fail(packets.payload());
    return true;
  }

  /**
   * Reads the next row of the current result set, or returns `null` at its end.
   *
   * @param signal Cancels the read.
   * @returns The row, or `null`.
   * @throws {MysqlError} If the server sent an ERR instead of a row (e.g. the query was killed).
   */
  async nextRow(signal?: AbortSignal): Promise<Row | null> {
    for (;;) {
      const row = this.tryRow();
      if (row !== undefined) return row;
      await this.#packets.fill(signal === undefined ? undefined : { signal });
    }
  }

  /**
   * Reads the rest of the current result set into `rows`: every row that
   * has arrived in one synchronous loop, waiting only for more bytes.
   *
   * @param rows Where to append the rows.
   * @param signal Cancels the read; the rows read so far stay in `rows`.
   * @throws {MysqlError} If the server sent an ERR instead of a row.
   */
  async readRows(rows: Row[], signal?: AbortSignal): Promise<void> {
    const options = signal === undefined ? undefined : { signal };
    while (!this.takeRows(rows)) await this.#packets.fill(options);
  }

  /**
   * Reads the rows of the current result set that have arrived into
   * `rows`, without waiting: one synchronous loop over the packets
   * received.
   *
   * @param rows Where to append the rows.
   * @returns Whether the result set's rows are over.
   * @throws {MysqlError} If the server sent an ERR instead of a row.
   */
  takeRows(rows: Row[]): boolean {
    if (this.#stage !== "rows") return true;
    const packets = this.#packets, decode = this.#decode!;
    while (packets.next()) {
      if (!this.#isRow(packets)) return true;
      rows.push(decode(packets.bytes, packets.start, packets.end));
    }
    return false;
  }

  /** Handles the packet that ends a result set's rows (an EOF, or an OK with `CLIENT_DEPRECATE_EOF`). */
  #endRows(payload: Uint8Array): void {
    if (this.#deprecateEof) {
      const ok = parseOk(payload);
      this.lastOk = ok;
      this.#endSet(ok.status);
    } else {
      const c = new PacketCursor(payload, 1);
      const warningCount = c.remaining >= 2 ? c.u16() : 0;
      const status = c.remaining >= 2 ? c.u16() : 0;
      this.lastOk = { affectedRows: 0, insertId: 0, warningCount, status, info: "" };
      this.#endSet(status);
    }
  }

  /**
   * Reads and drops the rest of the response. An ERR ends it too (a killed
   * query answers with one), and is not thrown.
   *
   * @param signal Cancels the read.
   */
  async skipAll(signal?: AbortSignal): Promise<void> {
    const options = signal === undefined ? undefined : { signal };
    while (this.#stage !== "done") {
      try {
        if (this.#stage === "rows") {
          while (this.tryRow(false) === undefined) await this.#packets.fill(options);
        } else {
          await this.nextSet(signal);
        }
      } catch (e) {
        if (!(e instanceof MysqlError)) throw e;
      }
    }
  }
}
