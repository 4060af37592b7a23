/**
 * Column definitions and values: how each column type of a result set is
 * decoded from the text protocol (`COM_QUERY`) and the binary protocol
 * (`COM_STMT_EXECUTE`), and how parameters are encoded for the latter.
 *
 * Values: `null` for NULL; `number` for integers up to 32 bits, YEAR, FLOAT
 * and DOUBLE; `bigint` for BIGINT (signed or unsigned) and BIT; `string`
 * for DECIMAL (exact), dates and times (as the server writes them, no time
 * zone guessed), text, ENUM, SET and JSON; `Uint8Array` for binary strings
 * and BLOBs (the `binary` character set) and geometry.
 *
 * @module
 */

import { PacketBuilder, PacketCursor, utf8 } from "./buffer.ts";
import { MysqlProtocolError } from "./errors.ts";

/** A value read from a result set. */
export type Value = null | number | bigint | string | Uint8Array;

/** A value a prepared statement's parameter may take. */
export type Param = Value | boolean;

/** A row: the columns' values by column name (a later column of the same name wins). */
export type Row = Record<string, Value>;

/** The MySQL column type codes. */
export const ColumnType = {
  DECIMAL: 0x00,
  TINY: 0x01,
  SHORT: 0x02,
  LONG: 0x03,
  FLOAT: 0x04,
  DOUBLE: 0x05,
  NULL: 0x06,
  TIMESTAMP: 0x07,
  LONGLONG: 0x08,
  INT24: 0x09,
  DATE: 0x0a,
  TIME: 0x0b,
  DATETIME: 0x0c,
  YEAR: 0x0d,
  NEWDATE: 0x0e,
  VARCHAR: 0x0f,
  BIT: 0x10,
  JSON: 0xf5,
  NEWDECIMAL: 0xf6,
  ENUM: 0xf7,
  SET: 0xf8,
  TINY_BLOB: 0xf9,
  MEDIUM_BLOB: 0xfa,
  LONG_BLOB: 0xfb,
  BLOB: 0xfc,
  VAR_STRING: 0xfd,
  STRING: 0xfe,
  GEOMETRY: 0xff,
} as const;

const UNSIGNED_FLAG = 0x20;
const BINARY_CHARSET = 63;

/** A column of a result set, as its definition packet describes it. */
export interface Column {
  /** The column's name (or alias) in the result. */
  name: string;
  /** The table (or alias) it comes from, if any. */
  table: string;
  /** The database it comes from, if any. */
  schema: string;
  /** The type code, one of {@linkcode ColumnType}. */
  type: number;
  /** The column flags (`0x20` unsigned, `0x80` binary, ...). */
  flags: number;
  /** The character set number (63 is `binary`). */
  charset: number;
  /** The maximum display length. */
  length: number;
  /** The digits after the point (decimals, fractional seconds). */
  decimals: number;
}

/**
 * Reads a column definition packet (protocol 4.1).
 *
 * @param payload The packet.
 * @returns The column.
 *
 * @example
 * ```ts
 * import { parseColumn } from "./types.ts";
 * import { PacketBuilder } from "./buffer.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const payload = new PacketBuilder()
 *   .lenencString("def").lenencString("db").lenencString("t").lenencString("t")
 *   .lenencString("id").lenencString("id").u8(0x0c).u16(63).u32(20).u8(8).u16(0).u8(0).u16(0)
 *   .finish();
 * assertEquals(parseColumn(payload).name, "id");
 * ```
 */
export function parseColumn(payload: Uint8Array): Column {
  const c = new PacketCursor(payload);
  c.lenencString(); // catalog, always "def"
  const schema = c.lenencString();
  const table = c.lenencString();
  c.lenencString(); // org_table
  const name = c.lenencString();
  c.lenencString(); // org_name
  c.lenencInt(); // length of the fixed fields, 0x0c
  const charset = c.u16();
  const length = c.u32();
  const type = c.u8();
  const flags = c.u16();
  const decimals = c.u8();
  return { name, table, schema, type, flags, charset, length, decimals };
}

const STRING_TYPES: ReadonlySet<number> = new Set([
  ColumnType.TINY_BLOB,
  ColumnType.MEDIUM_BLOB,
  ColumnType.LONG_BLOB,
  ColumnType.BLOB,
  ColumnType.VAR_STRING,
  ColumnType.VARCHAR,
  ColumnType.STRING,
]);

/** Whether the column's values are bytes: geometry, and strings and BLOBs in the `binary` charset. */
const isBytes = (col: Column) =>
  col.type === ColumnType.GEOMETRY ||
  (STRING_TYPES.has(col.type) && col.charset === BINARY_CHARSET);

function parseIntText(b: Uint8Array, start: number, end: number): number {
  let i = start, sign = 1, n = 0;
  if (b[i] === 0x2d) {
    sign = -1;
    i++;
  }
  for (; i < end; i++) n = n * 10 + (b[i] - 0x30);
  return sign * n;
}

function bitValue(bytes: Uint8Array): bigint {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

type TextDecoderFn = (b: Uint8Array, start: number, end: number) => Value;

function textDecoderFor(col: Column): TextDecoderFn {
  if (isBytes(col)) return (b, s, e) => b.slice(s, e);
  switch (col.type) {
    case ColumnType.TINY:
    case ColumnType.SHORT:
    case ColumnType.LONG:
    case ColumnType.INT24:
    case ColumnType.YEAR:
      return parseIntText;
    case ColumnType.LONGLONG:
      // Up to 15 digits a double holds the value exactly: skip the string.
      return (b, s, e) => e - s <= 15 ? BigInt(parseIntText(b, s, e)) : BigInt(utf8(b, s, e));
    case ColumnType.FLOAT:
    case ColumnType.DOUBLE:
      return (b, s, e) => Number(utf8(b, s, e));
    case ColumnType.BIT:
      return (b, s, e) => bitValue(b.subarray(s, e));
    case ColumnType.NULL:
      return () => null;
    default: // text, DECIMAL, dates and times, ENUM, SET, JSON: their text
      return utf8;
  }
}

/**
 * The fields of an object literal making a row: column names as keys (a
 * later column of the same name wins), `value(i)` as the values. Every row
 * of a result set then shares one shape, cheaper to make, hold and collect
 * than objects grown key by key.
 */
function rowFields(names: readonly string[], value: (i: number) => string): string {
  const seen = new Map<string, number>();
  names.forEach((name, i) => seen.set(name, i));
  // A computed key, unlike a literal one, never sets the prototype ("__proto__").
  const key = (name: string) => name === "__proto__" ? `["__proto__"]` : JSON.stringify(name);
  return [...seen].map(([name, i]) => `${key(name)}: ${value(i)}`).join(", ");
}

/** A function making a row from its values in column order. */
function rowFactory(names: readonly string[]): (values: Value[]) => Row {
  return new Function("v", `return { ${rowFields(names, (i) => `v[${i}]`)} };`) as (
    values: Value[],
  ) => Row;
}

/** Turns a result set's row packets into rows. */
export interface RowDecoder {
  /** Decodes one row packet. */
  (payload: Uint8Array): Row;
}

/**
 * A decoder of text-protocol rows (`COM_QUERY`) for these columns.
 *
 * @param columns The result set's columns.
 * @returns The row decoder.
 *
 * @example
 * ```ts
 * import { textRowDecoder, type Column, ColumnType } from "./types.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const col = (name: string, type: number): Column =>
 *   ({ name, type, table: "", schema: "", flags: 0, charset: 45, length: 0, decimals: 0 });
 * const decode = textRowDecoder([col("n", ColumnType.LONGLONG), col("s", ColumnType.VAR_STRING)]);
 * assertEquals(decode(new Uint8Array([2, 52, 50, 0xfb])), { n: 42n, s: null });
 * ```
 */
export function textRowDecoder(columns: readonly Column[]): RowDecoder {
  // One function per result set, with a call site per column (each stays
  // monomorphic) and the row made as one object literal.
  const count = columns.length;
  const lines = ["let pos = 0, len = 0;"];
  for (let i = 0; i < count; i++) {
    lines.push(
      `let v${i} = null;`,
      `len = p[pos++];`,
      `if (len !== 0xfb) {`,
      `  if (len > 0xfa || len === undefined) { const c = cursor(p, pos - 1); len = c.lenencInt(); pos = c.pos; }`,
      `  if (pos + len > p.length) short(${i}, len, pos, p.length);`,
      `  v${i} = d[${i}](p, pos, pos + len);`,
      `  pos += len;`,
      `}`,
    );
  }
  lines.push(`return { ${rowFields(columns.map((c) => c.name), (i) => `v${i}`)} };`);
  const decoders = columns.map(textDecoderFor);
  const short = (i: number, len: number, pos: number, size: number): never => {
    throw new MysqlProtocolError(
      `Cannot read row: column ${JSON.stringify(columns[i].name)} needs ${len} bytes at ` +
        `offset ${pos}, but the packet has ${size} bytes`,
    );
  };
  const cursor = (p: Uint8Array, pos: number) => new PacketCursor(p, pos);
  const make = new Function("d", "cursor", "short", `return (p) => {\n${lines.join("\n")}\n};`);
  return make(decoders, cursor, short) as RowDecoder;
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

function fraction(micros: number, decimals: number): string {
  if (decimals <= 0 || decimals > 6) return micros === 0 ? "" : `.${pad(micros, 6)}`;
  return `.${pad(micros, 6).slice(0, decimals)}`;
}

type BinaryDecoderFn = (c: PacketCursor) => Value;

function binaryDecoderFor(col: Column): BinaryDecoderFn {
  if (isBytes(col)) return (c) => c.lenencBytes().slice();
  const unsigned = (col.flags & UNSIGNED_FLAG) !== 0;
  switch (col.type) {
    case ColumnType.TINY:
      return unsigned ? (c) => c.u8() : (c) => (c.u8() << 24) >> 24;
    case ColumnType.SHORT:
    case ColumnType.YEAR:
      return unsigned ? (c) => c.u16() : (c) => (c.u16() << 16) >> 16;
    case ColumnType.LONG:
    case ColumnType.INT24:
      return unsigned ? (c) => c.u32() : (c) => c.u32() | 0;
    case ColumnType.LONGLONG:
      return unsigned ? (c) => c.u64() : (c) => c.i64();
    case ColumnType.FLOAT:
      return (c) => {
        const b = c.bytesN(4);
        const f = new DataView(b.buffer, b.byteOffset, 4).getFloat32(0, true);
        return Number(f.toPrecision(7)); // what the text protocol shows for FLOAT
      };
    case ColumnType.DOUBLE:
      return (c) => {
        const b = c.bytesN(8);
        return new DataView(b.buffer, b.byteOffset, 8).getFloat64(0, true);
      };
    case ColumnType.DATE:
    case ColumnType.NEWDATE:
    case ColumnType.DATETIME:
    case ColumnType.TIMESTAMP:
      return (c) => {
        const n = c.u8();
        c.need(n, "a date");
        const y = n >= 4 ? c.u16() : 0, mo = n >= 4 ? c.u8() : 0, d = n >= 4 ? c.u8() : 0;
        const date = `${pad(y, 4)}-${pad(mo)}-${pad(d)}`;
        if (col.type === ColumnType.DATE || col.type === ColumnType.NEWDATE) return date;
        const h = n >= 7 ? c.u8() : 0, mi = n >= 7 ? c.u8() : 0, s = n >= 7 ? c.u8() : 0;
        const micros = n >= 11 ? c.u32() : 0;
        return `${date} ${pad(h)}:${pad(mi)}:${pad(s)}${fraction(micros, col.decimals)}`;
      };
    case ColumnType.TIME:
      return (c) => {
        const n = c.u8();
        c.need(n, "a time");
        const negative = n >= 8 && c.u8() === 1;
        const days = n >= 8 ? c.u32() : 0;
        const h = n >= 8 ? c.u8() : 0, mi = n >= 8 ? c.u8() : 0, s = n >= 8 ? c.u8() : 0;
        const micros = n >= 12 ? c.u32() : 0;
        const text = `${pad(days * 24 + h)}:${pad(mi)}:${pad(s)}${fraction(micros, col.decimals)}`;
        return negative ? `-${text}` : text;
      };
    case ColumnType.BIT:
      return (c) => bitValue(c.lenencBytes());
    case ColumnType.NULL:
      return () => null;
    default: // text, DECIMAL, ENUM, SET, JSON: a length-encoded string
      return (c) => c.lenencString();
  }
}

/**
 * A decoder of binary-protocol rows (`COM_STMT_EXECUTE`) for these columns.
 *
 * @param columns The result set's columns.
 * @returns The row decoder.
 *
 * @example
 * ```ts
 * import { binaryRowDecoder, type Column, ColumnType } from "./types.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const col = (name: string, type: number): Column =>
 *   ({ name, type, table: "", schema: "", flags: 0, charset: 45, length: 0, decimals: 0 });
 * const decode = binaryRowDecoder([col("n", ColumnType.LONG), col("s", ColumnType.VAR_STRING)]);
 * // header 0x00, NULL bitmap (offset 2: column 1 is bit 3), then 42 as 4 bytes
 * assertEquals(decode(new Uint8Array([0, 0b1000, 42, 0, 0, 0])), { n: 42, s: null });
 * ```
 */
export function binaryRowDecoder(columns: readonly Column[]): RowDecoder {
  const decoders = columns.map(binaryDecoderFor);
  const count = columns.length;
  const bitmapSize = (count + 7 + 2) >> 3;
  const make = rowFactory(columns.map((c) => c.name));
  return (payload) => {
    const c = new PacketCursor(payload, 1);
    const bitmap = c.bytesN(bitmapSize);
    const values: Value[] = new Array(count);
    for (let i = 0; i < count; i++) {
      const bit = i + 2;
      values[i] = (bitmap[bit >> 3] & (1 << (bit & 7))) !== 0 ? null : decoders[i](c);
    }
    return make(values);
  };
}

const MAX_U64 = (1n << 64n) - 1n;
const MIN_I64 = -(1n << 63n);
const MAX_I64 = (1n << 63n) - 1n;

function describe(value: unknown): string {
  if (typeof value === "object") {
    return value === null ? "null" : `an instance of ${value.constructor?.name ?? "Object"}`;
  }
  return `${typeof value} ${String(value)}`;
}

/**
 * Writes the parameter part of a `COM_STMT_EXECUTE` payload: the NULL
 * bitmap, the "types follow" flag, each parameter's type, then the values.
 *
 * @param out The payload so far.
 * @param params The parameters.
 * @throws {TypeError} If a parameter is not a {@linkcode Param}.
 * @throws {RangeError} If a bigint does not fit in 64 bits.
 *
 * @example
 * ```ts
 * import { encodeParams } from "./types.ts";
 * import { PacketBuilder } from "./buffer.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const out = new PacketBuilder();
 * encodeParams(out, [null, "a"]);
 * assertEquals(out.finish(), new Uint8Array([0b01, 1, 0x06, 0, 0xfd, 0, 1, 97]));
 * ```
 */
export function encodeParams(out: PacketBuilder, params: readonly Param[]): void {
  const bitmap = new Uint8Array((params.length + 7) >> 3);
  params.forEach((p, i) => {
    if (p === null) bitmap[i >> 3] |= 1 << (i & 7);
  });
  out.bytes(bitmap).u8(1);
  const values = new PacketBuilder();
  params.forEach((p, i) => {
    if (p === null) {
      out.u8(ColumnType.NULL).u8(0);
    } else if (typeof p === "boolean") {
      out.u8(ColumnType.TINY).u8(0);
      values.u8(p ? 1 : 0);
    } else if (typeof p === "number") {
      if (Number.isSafeInteger(p)) {
        out.u8(ColumnType.LONGLONG).u8(0);
        values.u64(BigInt(p));
      } else {
        out.u8(ColumnType.DOUBLE).u8(0);
        values.f64(p);
      }
    } else if (typeof p === "bigint") {
      if (p < MIN_I64 || p > MAX_U64) {
        throw new RangeError(
          `Cannot encode parameter ${i}: a bigint must fit in 64 bits: current value is ${p}`,
        );
      }
      out.u8(ColumnType.LONGLONG).u8(p > MAX_I64 ? 0x80 : 0);
      values.u64(p);
    } else if (typeof p === "string") {
      out.u8(ColumnType.VAR_STRING).u8(0);
      values.lenencString(p);
    } else if (p instanceof Uint8Array) {
      out.u8(ColumnType.BLOB).u8(0);
      values.lenencBytes(p);
    } else {
      throw new TypeError(
        `Cannot encode parameter ${i}: it must be null, a boolean, number, bigint, string ` +
          `or Uint8Array: current value is ${describe(p)}`,
      );
    }
  });
  out.bytes(values.finish());
}
