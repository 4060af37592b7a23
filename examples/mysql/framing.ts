/**
 * MySQL packet framing: every packet is a 3-byte little-endian payload
 * length, a 1-byte sequence id, then the payload. A payload of 16 MiB - 1
 * bytes or more is sent as several packets, each full one (0xFFFFFF bytes)
 * followed by the next, the last one shorter (possibly empty).
 *
 * @module
 */

import { IncompleteReadError, type StreamReader, type StreamWriter } from "../../mod.ts";
import { PacketBuilder } from "./buffer.ts";
import { MysqlConnectionLostError, MysqlProtocolError, PacketTooLargeError } from "./errors.ts";

/** The largest payload of one physical packet; a payload this long continues in the next. */
export const MAX_PACKET_PART = 0xffffff;

/** Options of {@linkcode PacketReader.read} and {@linkcode PacketReader.fill}. */
export interface PacketReadOptions {
  /** Aborting it cancels the read; what was read so far is kept for the next call. */
  signal?: AbortSignal;
}

/** The most bytes taken from the stream reader at once: whatever it has buffered. */
const TAKE_ALL = 1 << 30;
const NO_BYTES = new Uint8Array(0);

/**
 * Reads whole MySQL packets from a {@linkcode StreamReader}, joining
 * payloads split over several packets and checking the sequence ids.
 *
 * It takes whatever the stream has buffered in one `read()` and cuts the
 * packets out of those bytes synchronously: {@linkcode PacketReader.next}
 * serves the next whole packet without waiting (a result set's rows are
 * decoded in a loop, without a promise per row), and
 * {@linkcode PacketReader.fill} waits for more bytes only when the next
 * packet is not whole yet. {@linkcode PacketReader.read} does both.
 *
 * A packet's payload is a view of bytes that are never written again, so
 * it stays valid after later reads. A cancelled read loses nothing: bytes
 * already taken stay here, and the next `read()` goes on from there.
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
  /**
   * Bytes taken from the stream: `#buf[#pos, #end)` are not consumed yet.
   * Bytes from `#end` to the buffer's length, in a buffer this reader made,
   * are free room; no other byte is ever written again.
   */
  #buf: Uint8Array = NO_BYTES;
  #pos = 0;
  #end = 0;
  /**
   * A chunk whose bytes from `#restPos` on come after `#buf`'s: when a
   * packet straddles two chunks, it alone is joined into `#buf`, and the
   * rest of the new chunk is read where it is.
   */
  #rest: Uint8Array | null = null;
  #restPos = 0;
  /** Full parts of a split payload consumed so far. */
  #parts: Uint8Array[] = [];
  #partsSize = 0;
  /** The last packet served by `next()`: `#packet[#start, #stop)`. */
  #packet: Uint8Array = NO_BYTES;
  #start = 0;
  #stop = 0;

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

  /** The bytes holding the payload of the packet the last `next()` served. */
  get bytes(): Uint8Array {
    return this.#packet;
  }

  /** Where that payload starts in {@linkcode PacketReader.bytes}. */
  get start(): number {
    return this.#start;
  }

  /** Where that payload ends in {@linkcode PacketReader.bytes}. */
  get end(): number {
    return this.#stop;
  }

  /** The payload of the packet the last `next()` served (a view). */
  payload(): Uint8Array {
    return this.#packet.subarray(this.#start, this.#stop);
  }

  /**
   * Consumes the next packet if it is whole in the bytes already taken
   * (a split payload once all its parts are), without waiting.
   *
   * @returns `true` when a packet was consumed: its payload is then
   *   `bytes[start, end)`; `false` when {@linkcode PacketReader.fill} must
   *   bring more bytes first.
   * @throws {MysqlProtocolError} If a packet is out of sequence.
   * @throws {PacketTooLargeError} If the payload is larger than `maxPacketSize`.
   */
  next(): boolean {
    for (;;) {
      const buf = this.#buf, pos = this.#pos;
      if (this.#end - pos < 4) {
        if (pos !== this.#end || this.#rest === null) return false;
        this.#buf = this.#rest;
        this.#pos = this.#restPos;
        this.#end = this.#rest.length;
        this.#rest = null;
        continue;
      }
      const length = buf[pos] | (buf[pos + 1] << 8) | (buf[pos + 2] << 16);
      const seq = buf[pos + 3];
      if (seq !== this.#sequenceId) {
        throw new MysqlProtocolError(
          `Cannot read packet: its sequence id must be ${this.#sequenceId}: ` +
            `current value is ${seq}`,
        );
      }
      if (this.#partsSize + length > this.#maxPacketSize) {
        throw new PacketTooLargeError(this.#partsSize + length, this.#maxPacketSize);
      }
      const stop = pos + 4 + length;
      if (stop > this.#end) return false;
      this.#sequenceId = (seq + 1) & 0xff;
      this.#pos = stop;
      if (length === MAX_PACKET_PART) {
        this.#parts.push(buf.subarray(pos + 4, stop));
        this.#partsSize += length;
        continue;
      }
      if (this.#parts.length === 0) {
        this.#packet = buf;
        this.#start = pos + 4;
        this.#stop = stop;
      } else {
        const joined = this.#join(buf.subarray(pos + 4, stop));
        this.#packet = joined;
        this.#start = 0;
        this.#stop = joined.length;
      }
      return true;
    }
  }

  /**
   * Waits for more bytes from the stream and takes all it has.
   *
   * @param options `signal` to cancel the wait (nothing is lost then).
   * @throws {MysqlConnectionLostError} If the stream ends (the packet being
   *   read is cut short), or fails.
   */
  async fill(options?: PacketReadOptions): Promise<void> {
    let chunk: Uint8Array;
    try {
      chunk = await this.#reader.read(TAKE_ALL, options);
    } catch (e) {
      throw lost(e);
    }
    if (chunk.length === 0) throw this.#ended();
    this.#append(chunk);
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
    while (!this.next()) await this.fill(opts);
    return this.payload();
  }

  #append(chunk: Uint8Array): void {
    if (this.#rest !== null) this.#joinRest();
    const live = this.#end - this.#pos;
    if (live === 0) {
      this.#buf = chunk;
      this.#pos = 0;
      this.#end = chunk.length;
      return;
    }
    const buf = this.#buf, pos = this.#pos;
    if (buf.length - this.#end >= chunk.length) {
      buf.set(chunk, this.#end);
      this.#end += chunk.length;
      return;
    }
    let size = live + chunk.length;
    if (size >= 4) {
      const at = (i: number) => i < live ? buf[pos + i] : chunk[i - live];
      const total = 4 + (at(0) | (at(1) << 8) | (at(2) << 16));
      if (total <= size) {
        // The packet that straddles the two is whole now: join it alone.
        const joined = new Uint8Array(total);
        joined.set(buf.subarray(pos, this.#end));
        const used = total - live;
        joined.set(chunk.subarray(0, used), live);
        this.#buf = joined;
        this.#pos = 0;
        this.#end = total;
        if (used < chunk.length) {
          this.#rest = chunk;
          this.#restPos = used;
        }
        return;
      }
      // Room for the whole packet, so that a large payload is copied once (a header over the
      // limit is refused by next() before its payload is waited for).
      if (total - 4 <= this.#maxPacketSize) size = total;
    }
    const grown = new Uint8Array(size);
    grown.set(buf.subarray(pos, this.#end));
    grown.set(chunk, live);
    this.#buf = grown;
    this.#pos = 0;
    this.#end = live + chunk.length;
  }

  /** Puts the unconsumed bytes of `#buf` and `#rest` in one buffer. */
  #joinRest(): void {
    const head = this.#buf.subarray(this.#pos, this.#end);
    const tail = this.#rest!.subarray(this.#restPos);
    const joined = new Uint8Array(head.length + tail.length);
    joined.set(head);
    joined.set(tail, head.length);
    this.#buf = joined;
    this.#pos = 0;
    this.#end = joined.length;
    this.#rest = null;
  }

  /** The error for a stream that ended where a packet, or the rest of one, was due. */
  #ended(): MysqlConnectionLostError {
    if (this.#rest !== null) this.#joinRest();
    const live = this.#buf.subarray(this.#pos, this.#end);
    let expected = 4, got = live.length;
    if (got >= 4) {
      expected = live[0] | (live[1] << 8) | (live[2] << 16);
      got -= 4;
    }
    return new MysqlConnectionLostError(
      `Cannot read packet: the connection ended after ${got} of ${expected} bytes`,
      { cause: new IncompleteReadError(live.slice(live.length - got), expected) },
    );
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

/**
 * `StreamWriter.write` copies a chunk shorter than this (a longer one is
 * kept by reference until written): below it, the bytes may be reused as
 * soon as `write` returns.
 */
const WRITER_COPIES_BELOW = 16 * 1024;
const BUILDER_SIZE = 256;

/**
 * Builds each command's payload right after room for its packet header, in
 * one buffer reused from command to command, and writes it as one packet
 * (or as {@linkcode writePacket} does when it is 16 MiB - 1 bytes or more).
 *
 * @example
 * ```ts
 * import { StreamWriter } from "../../mod.ts";
 * import { PacketWriter } from "./framing.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const chunks: Uint8Array[] = [];
 * const writer = new StreamWriter(new WritableStream({ write: (c) => void chunks.push(c) }));
 * const packets = new PacketWriter(writer);
 * packets.begin().u8(0x0e);
 * assertEquals(packets.send(0), 1);
 * await writer.drain();
 * assertEquals(chunks.flatMap((c) => [...c]), [1, 0, 0, 0, 0x0e]);
 * ```
 */
export class PacketWriter {
  readonly #writer: StreamWriter;
  #out = new PacketBuilder(BUILDER_SIZE);

  /**
   * Creates a packet writer.
   *
   * @param writer The connection's writer.
   */
  constructor(writer: StreamWriter) {
    this.#writer = writer;
  }

  /**
   * Starts a new payload.
   *
   * @returns The builder to append the payload to.
   */
  begin(): PacketBuilder {
    return this.#out.reset().zeros(4);
  }

  /**
   * Writes the payload built since {@linkcode PacketWriter.begin}. The
   * writer buffers; `drain()` to wait.
   *
   * @param sequenceId The first packet's sequence id.
   * @returns The sequence id the next packet must carry.
   */
  send(sequenceId: number): number {
    const framed = this.#out.finish();
    const length = framed.length - 4;
    if (framed.length >= WRITER_COPIES_BELOW) this.#out = new PacketBuilder(BUILDER_SIZE);
    if (length >= MAX_PACKET_PART) {
      return writePacket(this.#writer, framed.subarray(4), sequenceId);
    }
    framed[0] = length & 0xff;
    framed[1] = (length >> 8) & 0xff;
    framed[2] = length >> 16;
    framed[3] = sequenceId & 0xff;
    this.#writer.write(framed);
    return (sequenceId + 1) & 0xff;
  }
}
