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

import { type PacketBuilder, PacketCursor, utf8 } from "./buffer.ts";
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

function bitValue(bytes: Uint8Array, start: number, end: number): bigint {
  let n = 0n;
  for (let i = start; i < end; i++) n = (n << 8n) | BigInt(bytes[i]);
  return n;
}

/** How a text-protocol value is decoded, by column. */
const Text = { STRING: 0, INT: 1, BIGINT: 2, FLOAT: 3, BYTES: 4, BIT: 5, NULL: 6 } as const;

function textKind(col: Column): number {
  if (isBytes(col)) return Text.BYTES;
  switch (col.type) {
    case ColumnType.TINY:
    case ColumnType.SHORT:
    case ColumnType.LONG:
    case ColumnType.INT24:
    case ColumnType.YEAR:
      return Text.INT;
    case ColumnType.LONGLONG:
      return Text.BIGINT;
    case ColumnType.FLOAT:
    case ColumnType.DOUBLE:
      return Text.FLOAT;
    case ColumnType.BIT:
      return Text.BIT;
    case ColumnType.NULL:
      return Text.NULL;
    default: // text, DECIMAL, dates and times, ENUM, SET, JSON: their text
      return Text.STRING;
  }
}

/**
 * A function making a row from its values in column order: the column
 * names as keys (a later column of the same name wins, in the place of the
 * first), own data properties even for `"__proto__"`.
 *
 * Each row is a copy of one template object made by `JSON.parse`, which
 * makes objects in V8's fast layout whatever their width, so every row of
 * a result set shares one layout with its fields inside the object (rows
 * grown key by key get an extra array for their fields past the fourth,
 * and turn into slow dictionaries past a dozen or so). The values then go
 * in through call sites of their own for the first columns, each of which
 * sees one key per result set.
 */
function rowMaker(names: readonly string[]): (values: readonly Value[]) => Row {
  const n = names.length;
  const template: Row = JSON.parse(
    `{${[...new Set(names)].map((name) => `${JSON.stringify(name)}:null`).join(",")}}`,
  );
  const [k0, k1, k2, k3, k4, k5, k6, k7] = names;
  return (v) => {
    const row: Row = { ...template };
    if (n > 0) row[k0] = v[0];
    if (n > 1) row[k1] = v[1];
    if (n > 2) row[k2] = v[2];
    if (n > 3) row[k3] = v[3];
    if (n > 4) row[k4] = v[4];
    if (n > 5) row[k5] = v[5];
    if (n > 6) row[k6] = v[6];
    if (n > 7) row[k7] = v[7];
    for (let i = 8; i < n; i++) row[names[i]] = v[i];
    return row;
  };
}

/**
 * The value of a DOUBLE or FLOAT written as text. With at most 15
 * significant digits and no exponent the digits are exact as a double and
 * one division by an exact power of ten rounds correctly, as `Number()`
 * does; anything else goes through `Number()`.
 */
function parseFloatText(b: Uint8Array, start: number, end: number): number {
  let i = start, sign = 1;
  if (b[i] === 0x2d) {
    sign = -1;
    i++;
  }
  let digits = 0, n = 0, scale = 1, point = false;
  for (; i < end; i++) {
    const c = b[i];
    if (c === 0x2e && !point) {
      point = true;
      continue;
    }
    const d = c - 0x30;
    if (d < 0 || d > 9 || ++digits > 15) return Number(utf8(b, start, end));
    n = n * 10 + d;
    if (point) scale *= 10;
  }
  if (digits === 0) return Number(utf8(b, start, end));
  return sign * (n / scale);
}

/**
 * Turns a row packet of a result set into a row. The payload is
 * `bytes[start, end)`, so that rows are decoded where the packet reader
 * holds them; nothing of `bytes` is kept.
 */
export interface RowDecoder {
  /** Decodes one row packet. */
  (bytes: Uint8Array, start: number, end: number): Row;
}

function short(column: Column, n: number, pos: number, end: number): never {
  throw new MysqlProtocolError(
    `Cannot read row: column ${JSON.stringify(column.name)} needs ${n} bytes at ` +
      `offset ${pos}, but the packet ends at offset ${end}`,
  );
}

/** The source of the value of a text field `p[pos, stop)` of each kind, in a generated decoder. */
const TEXT_VALUE: Record<number, string> = {
  [Text.STRING]: "utf8(p, pos, stop)",
  [Text.INT]: "parseIntText(p, pos, stop)",
  // Up to 15 characters a double holds the value exactly: skip the string.
  [Text.BIGINT]: "len <= 15 ? BigInt(parseIntText(p, pos, stop)) : BigInt(utf8(p, pos, stop))",
  [Text.FLOAT]: "parseFloatText(p, pos, stop)",
  [Text.BYTES]: "p.slice(pos, stop)",
  [Text.BIT]: "bitValue(p, pos, stop)",
  [Text.NULL]: "null",
};

/** What a generated text decoder calls. */
const textHelpers = { PacketCursor, parseIntText, parseFloatText, utf8, bitValue, short };

/**
 * A decoder of text-protocol rows (`COM_QUERY`) for these columns. Its
 * code is generated once per set of columns: a straight run of fields,
 * each with its own parse call (no per-field dispatch), then the row as
 * one object literal, the column names as keys (a later column of the same
 * name wins, in the place of the first; `"__proto__"` an own property).
 * Column names only enter the code as JSON string literals.
 *
 * V8 gives a literal's fields a place inside the object whatever its
 * width, and a literal is an allocation site: when the rows it makes
 * outlive young collections (a result read whole into an array), V8
 * allocates them in the old generation directly rather than copying each
 * row there collection after collection.
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
 * assertEquals(decode(new Uint8Array([2, 52, 50, 0xfb]), 0, 4), { n: 42n, s: null });
 * ```
 */
export function textRowDecoder(columns: readonly Column[]): RowDecoder {
  const fields = columns.map((column, i) => `
    if (pos >= end) short(columns[${i}], 1, pos, end);
    len = p[pos++];
    if (len === 0xfb) {
      v${i} = null;
    } else {
      if (len > 0xfa) {
        const c = new PacketCursor(p, pos - 1, end);
        len = c.lenencInt();
        pos = c.pos;
      }
      stop = pos + len;
      if (stop > end) short(columns[${i}], len, pos, end);
      v${i} = ${TEXT_VALUE[textKind(column)]};
      pos = stop;
    }`);
  const last = new Map<string, number>();
  columns.forEach((column, i) => last.set(column.name, i));
  const props = [...last].map(([name, i]) =>
    name === "__proto__" ? `["__proto__"]: v${i}` : `${JSON.stringify(name)}: v${i}`
  );
  const body = `"use strict";
const { PacketCursor, parseIntText, parseFloatText, utf8, bitValue, short } = helpers;
return function decodeTextRow(p, start, end) {
  let pos = start, len = 0, stop = 0;
  let ${columns.map((_, i) => `v${i} = null`).join(", ") || "none = null"};
  ${fields.join("")}
  return { ${props.join(", ")} };
};`;
  return new Function("helpers", "columns", body)(textHelpers, columns) as RowDecoder;
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
      return (c) => {
        const b = c.lenencBytes();
        return bitValue(b, 0, b.length);
      };
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
 * assertEquals(decode(new Uint8Array([0, 0b1000, 42, 0, 0, 0]), 0, 6), { n: 42, s: null });
 * ```
 */
export function binaryRowDecoder(columns: readonly Column[]): RowDecoder {
  const decoders = columns.map(binaryDecoderFor);
  const count = columns.length;
  const bitmapSize = (count + 7 + 2) >> 3;
  const values: Value[] = new Array(count).fill(null);
  const make = rowMaker(columns.map((c) => c.name));
  return (p, start, end) => {
    const c = new PacketCursor(p, start + 1, end);
    c.need(bitmapSize, "a row's NULL bitmap");
    const bitmap = c.pos;
    c.pos += bitmapSize;
    for (let i = 0; i < count; i++) {
      const bit = i + 2;
      values[i] = (p[bitmap + (bit >> 3)] & (1 << (bit & 7))) !== 0 ? null : decoders[i](c);
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
  const n = params.length;
  const bitmap = out.length;
  out.zeros((n + 7) >> 3).u8(1);
  let nulls = 0;
  for (let i = 0; i < n; i++) {
    const p = params[i];
    if (p === null) {
      nulls |= 1 << (i & 7);
      out.u8(ColumnType.NULL).u8(0);
    } else if (typeof p === "number") {
      out.u8(Number.isSafeInteger(p) ? ColumnType.LONGLONG : ColumnType.DOUBLE).u8(0);
    } else if (typeof p === "string") {
      out.u8(ColumnType.VAR_STRING).u8(0);
    } else if (typeof p === "bigint") {
      if (p < MIN_I64 || p > MAX_U64) {
        throw new RangeError(
          `Cannot encode parameter ${i}: a bigint must fit in 64 bits: current value is ${p}`,
        );
      }
      out.u8(ColumnType.LONGLONG).u8(p > MAX_I64 ? 0x80 : 0);
    } else if (typeof p === "boolean") {
      out.u8(ColumnType.TINY).u8(0);
    } else if (p instanceof Uint8Array) {
      out.u8(ColumnType.BLOB).u8(0);
    } else {
      throw new TypeError(
        `Cannot encode parameter ${i}: it must be null, a boolean, number, bigint, string ` +
          `or Uint8Array: current value is ${describe(p)}`,
      );
    }
    if ((i & 7) === 7 || i === n - 1) {
      out.setU8(bitmap + (i >> 3), nulls);
      nulls = 0;
    }
  }
  // The values, after all the types; NULLs have none.
  for (let i = 0; i < n; i++) {
    const p = params[i];
    if (p === null) continue;
    if (typeof p === "number") {
      if (Number.isSafeInteger(p)) out.i64(p);
      else out.f64(p);
    } else if (typeof p === "string") {
      out.lenencString(p);
    } else if (typeof p === "bigint") {
      out.u64(p);
    } else if (typeof p === "boolean") {
      out.u8(p ? 1 : 0);
    } else {
      out.lenencBytes(p as Uint8Array);
    }
  }
}
