/**
 * The free write buffers of every {@linkcode StreamWriter} over a conn, by
 * power-of-two size from 512 bytes to 64 KiB.
 *
 * Allocating an `ArrayBuffer` costs a microsecond or more (the backing store,
 * its accounting, and its share of the garbage collector's work), more than
 * a small write's whole syscall: a writer that allocated the buffer its small
 * writes are copied into for every flush paid it per request. A writer that
 * goes idle gives its buffer here instead of holding it (an idle connection
 * holds no write buffer), and the next writer that needs one takes it. The
 * pool holds at most {@linkcode CLASS_BYTES} per size, so what it keeps does
 * not grow with the number of connections. Only buffers no write is using
 * come here: the writer gives one back once the target's `write` has settled.
 *
 * @module
 */

const MIN_SHIFT = 9;
const MAX_SHIFT = 16;
/** The most bytes the pool keeps of each size. */
export const CLASS_BYTES = 128 * 1024;

const free: Uint8Array<ArrayBuffer>[][] = Array.from(
  { length: MAX_SHIFT - MIN_SHIFT + 1 },
  () => [],
);

/** The size class of a buffer of at least `size` bytes; `-1` above 64 KiB. */
function classOf(size: number): number {
  const shift = size <= 1 << MIN_SHIFT ? MIN_SHIFT : 32 - Math.clz32(size - 1);
  return shift > MAX_SHIFT ? -1 : shift - MIN_SHIFT;
}

/**
 * A buffer of at least `size` bytes that no one else uses: a free one of
 * the size class `size` rounds up to, or a new one. Its bytes are not zeroed.
 */
export function takeBuffer(size: number): Uint8Array<ArrayBuffer> {
  const k = classOf(size);
  if (k < 0) return new Uint8Array(size);
  return free[k].pop() ?? new Uint8Array(1 << (k + MIN_SHIFT));
}

/**
 * Gives back a buffer from {@linkcode takeBuffer} that nothing reads or
 * writes any more. Buffers of other sizes, or beyond what the pool keeps,
 * are left to the garbage collector.
 */
export function giveBuffer(buf: Uint8Array<ArrayBuffer>): void {
  const size = buf.length;
  if ((size & (size - 1)) !== 0 || buf.byteOffset !== 0 || buf.buffer.byteLength !== size) return;
  const k = classOf(size);
  if (k < 0) return;
  const list = free[k];
  if (list.length * size < CLASS_BYTES) list.push(buf);
}
