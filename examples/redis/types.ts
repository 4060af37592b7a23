/**
 * The values a Redis reply can hold (RESP2 and RESP3), and the two RESP3
 * types that need a class of their own: verbatim strings and push messages.
 *
 * @module
 */

import type { RedisError } from "./errors.ts";

/**
 * One reply: simple strings are `string`; bulk strings `Uint8Array` (or
 * `string` when decoding was asked for); integers `number` (`bigint` past
 * 2^53); doubles `number`; big numbers `bigint`; booleans `boolean`; nulls
 * `null`; arrays `RespValue[]`; maps `Map`; sets `Set`; an error inside an
 * aggregate (as `EXEC` returns) a {@linkcode RedisError}.
 */
export type RespValue =
  | string
  | Uint8Array
  | number
  | bigint
  | boolean
  | null
  | RespValue[]
  | Map<RespValue, RespValue>
  | Set<RespValue>
  | VerbatimString
  | RedisError;

/** A RESP3 verbatim string (`=`): text with its three-letter format (`txt`, `mkd`). */
export class VerbatimString {
  /** The format: `"txt"` or `"mkd"`. */
  readonly format: string;
  /** The text. */
  readonly text: string;

  /**
   * Creates a verbatim string.
   *
   * @param format The three-letter format.
   * @param text The text.
   */
  constructor(format: string, text: string) {
    this.format = format;
    this.text = text;
  }

  /** The text, so that a verbatim string prints as one. */
  toString(): string {
    return this.text;
  }
}

/** A RESP3 push message (`>`): out-of-band data such as a pub/sub message. */
export class RespPush {
  /** The push's kind, its first element: `"message"`, `"pmessage"`, `"subscribe"`... */
  readonly kind: string;
  /** The elements after the kind. */
  readonly data: RespValue[];

  /**
   * Creates a push message.
   *
   * @param kind Its first element, as text.
   * @param data The other elements.
   */
  constructor(kind: string, data: RespValue[]) {
    this.kind = kind;
    this.data = data;
  }
}

/** A command argument: text (sent as UTF-8), bytes (sent as they are) or a number. */
export type RedisArg = string | Uint8Array | number | bigint;
