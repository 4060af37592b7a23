/**
 * MySQL packet framing: every packet is a 3-byte little-endian payload
 * length, a 1-byte sequence id, then the payload. A payload of 16 MiB - 1
 * bytes or more is sent as several packets, each full one (0xFFFFFF bytes)
 * followed by the next, the last one shorter (possibly empty).
 *
 * @module
 */

import { IncompleteReadError, type StreamReader, type StreamWriter } from "../../mod.ts";
import { MysqlConnectionLostError, MysqlProtocolError, PacketTooLargeError } from "./errors.ts";

/** The largest payload of one physical packet; a payload this long continues in the next. */
export const MAX_PACKET_PART = 0xffffff;

/** Options of {@linkcode PacketReader.read}. */
export interface PacketReadOptions {
  /** Aborting it cancels the read; what was read so far is kept for the next call. */
  signal?: AbortSignal;
}

/**
 * Reads whole MySQL packets from a {@linkcode StreamReader} with
 * `readExactly`, joining payloads split over several packets and checking
 * the sequence ids.
 *
 * A cancelled read loses nothing: a header or part already read is kept,
 * and the next `read()` goes on from there.
 *
 * @example
 * ```ts
 * import { StreamReader } from "../../mod.ts";
 * import { PacketReader } from "./framing.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const stream = new StreamReader();
 * stream.feedData(new Uint8Array([2, 0, 0, 0, 0x0e, 0x01]));
 * const packets = new PacketReader(stream);
 * assertEquals(await packets.read(), new Uint8Array([0x0e, 0x01]));
 * ```
 */
export class PacketReader {
  readonly #reader: StreamReader;
  readonly #maxPacketSize: number;
  #sequenceId = 0;
  /** The payload length of the header read whose payload is not yet read, or -1. */
  #pending = -1;
  /** Full parts of a split payload read so far. */
  #parts: Uint8Array[] = [];
  #partsSize = 0;

  /**
   * Creates a packet reader.
   *
   * @param reader The connection's reader.
   * @param maxPacketSize The largest (joined) payload accepted, in bytes.
   */
  constructor(reader: StreamReader, maxPacketSize = 1 << 30) {
    if (!Number.isInteger(maxPacketSize) || maxPacketSize < 0) {
      throw new RangeError(
        `Cannot create packet reader: 'maxPacketSize' must be a non-negative integer: ` +
          `current value is ${maxPacketSize}`,
      );
    }
    this.#reader = reader;
    this.#maxPacketSize = maxPacketSize;
  }

  /** The sequence id the next packet must carry. */
  get sequenceId(): number {
    return this.#sequenceId;
  }

  /** Sets the sequence id expected next (0 at the start of every command). */
  set sequenceId(id: number) {
    this.#sequenceId = id & 0xff;
  }

  /**
   * Reads the next packet's payload (a split payload is joined).
   *
   * @param options `signal` to cancel the wait.
   * @returns The payload.
   * @throws {MysqlProtocolError} If a packet is out of sequence.
   * @throws {PacketTooLargeError} If the payload is larger than `maxPacketSize`.
   * @throws {MysqlConnectionLostError} If the stream ends in the middle of a packet, or fails.
   */
  async read(options?: PacketReadOptions): Promise<Uint8Array> {
    const opts = options?.signal === undefined ? undefined : options;
    try {
      for (;;) {
        if (this.#pending < 0) {
          const header = await this.#reader.readExactly(4, opts);
          const length = header[0] | (header[1] << 8) | (header[2] << 16);
          const seq = header[3];
          if (seq !== this.#sequenceId) {
            throw new MysqlProtocolError(
              `Cannot read packet: its sequence id must be ${this.#sequenceId}: ` +
                `current value is ${seq}`,
            );
          }
          this.#sequenceId = (seq + 1) & 0xff;
          if (this.#partsSize + length > this.#maxPacketSize) {
            throw new PacketTooLargeError(this.#partsSize + length, this.#maxPacketSize);
          }
          this.#pending = length;
        }
        const length = this.#pending;
        const payload = await this.#reader.readExactly(length, opts);
        this.#pending = -1;
        if (length === MAX_PACKET_PART) {
          this.#parts.push(payload);
          this.#partsSize += length;
          continue;
        }
        if (this.#parts.length === 0) return payload;
        return this.#join(payload);
      }
    } catch (e) {
      throw lost(e);
    }
  }

  #join(last: Uint8Array): Uint8Array {
    const joined = new Uint8Array(this.#partsSize + last.length);
    let at = 0;
    for (const part of this.#parts) {
      joined.set(part, at);
      at += part.length;
    }
    joined.set(last, at);
    this.#parts = [];
    this.#partsSize = 0;
    return joined;
  }
}

/**
 * The error a failed read becomes: the end of the stream or a socket error
 * in the middle of a packet is a lost connection; cancellations, protocol
 * errors and misuse pass through.
 */
function lost(e: unknown): unknown {
  if (e instanceof IncompleteReadError) {
    return new MysqlConnectionLostError(
      `Cannot read packet: the connection ended after ${e.partial.length} of ${e.expected} bytes`,
      { cause: e },
    );
  }
  if (!(e instanceof Error) || e instanceof MysqlProtocolError) return e;
  if (["CancelledError", "AbortError", "InvalidStateError", "RangeError"].includes(e.name)) {
    return e;
  }
  return new MysqlConnectionLostError(`Cannot read packet: ${e.message}`, { cause: e });
}

/**
 * Writes one payload as MySQL packets (split in parts of 16 MiB - 1 bytes,
 * with an empty last part when the payload is an exact multiple), starting
 * with sequence id `sequenceId`. The writer buffers; `drain()` to wait.
 *
 * @param writer The connection's writer.
 * @param payload The payload.
 * @param sequenceId The first packet's sequence id.
 * @returns The sequence id the next packet must carry.
 *
 * @example
 * ```ts
 * import { StreamWriter } from "../../mod.ts";
 * import { writePacket } from "./framing.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const chunks: Uint8Array[] = [];
 * const writer = new StreamWriter(new WritableStream({ write: (c) => void chunks.push(c) }));
 * assertEquals(writePacket(writer, new Uint8Array([0x0e]), 0), 1);
 * await writer.drain();
 * assertEquals(chunks.flatMap((c) => [...c]), [1, 0, 0, 0, 0x0e]);
 * ```
 */
export function writePacket(writer: StreamWriter, payload: Uint8Array, sequenceId: number): number {
  let seq = sequenceId & 0xff;
  let at = 0;
  for (;;) {
    const length = Math.min(MAX_PACKET_PART, payload.length - at);
    const packet = new Uint8Array(4 + length);
    packet[0] = length & 0xff;
    packet[1] = (length >> 8) & 0xff;
    packet[2] = length >> 16;
    packet[3] = seq;
    packet.set(payload.subarray(at, at + length), 4);
    writer.write(packet);
    seq = (seq + 1) & 0xff;
    at += length;
    if (length < MAX_PACKET_PART) return seq;
  }
}
