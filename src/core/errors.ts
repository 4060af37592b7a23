/**
 * The typed errors aio raises, one class for each failure a caller may
 * handle, named after asyncio's exceptions.
 *
 * @module
 */

/**
 * Raised at the `await` a task was parked on when the task is cancelled, and
 * by every aio awaitable whose signal aborts. Like asyncio's `CancelledError`.
 *
 * @example Recognising a cancelled task
 * ```ts
 * import { CancelledError, createTask, sleep } from "@aio/asyncio";
 * import { assertRejects } from "@std/assert";
 *
 * const task = createTask(() => sleep(10_000));
 * task.cancel("no longer needed");
 * await assertRejects(() => Promise.resolve(task), CancelledError, "no longer needed");
 * ```
 */
export class CancelledError extends Error {
  /**
   * Creates a cancellation error.
   *
   * @param message Why the work was cancelled.
   * @param options Standard error options (`cause`).
   */
  constructor(message = "The operation was cancelled", options?: ErrorOptions) {
    super(message, options);
    this.name = "CancelledError";
  }
}

/**
 * Raised when a deadline set by `timeout`, `timeoutAt`, `waitFor`, `wait`
 * or `asCompleted` passes. Like asyncio's `TimeoutError`.
 *
 * @example
 * ```ts
 * import { sleep, timeout, TimeoutError } from "@aio/asyncio";
 * import { assertRejects } from "@std/assert";
 *
 * await assertRejects(() => timeout(10, () => sleep(1_000)), TimeoutError);
 * ```
 */
export class TimeoutError extends Error {
  /**
   * Creates a timeout error.
   *
   * @param message What timed out, and after how long.
   * @param options Standard error options (`cause`).
   */
  constructor(message = "The operation timed out", options?: ErrorOptions) {
    super(message, options);
    this.name = "TimeoutError";
  }
}

/**
 * Raised when an operation is not allowed in the object's current state,
 * e.g. reading the result of a pending future or setting it twice.
 *
 * @example
 * ```ts
 * import { createFuture, InvalidStateError } from "@aio/asyncio";
 * import { assertThrows } from "@std/assert";
 *
 * const fut = createFuture<number>();
 * assertThrows(() => fut.result(), InvalidStateError);
 * ```
 */
export class InvalidStateError extends Error {
  /**
   * Creates an invalid-state error.
   *
   * @param message What was attempted and why it is not allowed now.
   * @param options Standard error options (`cause`).
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "InvalidStateError";
  }
}

/**
 * Raised when the stream ends before a read could be satisfied: `partial`
 * holds the bytes read before the end (they are consumed), `expected` the
 * number of bytes wanted, or `null` when a separator was wanted.
 *
 * @example
 * ```ts
 * import { IncompleteReadError } from "@aio/asyncio";
 * import { assertEquals } from "@std/assert";
 *
 * const err = new IncompleteReadError(new Uint8Array([1, 2]), 4);
 * assertEquals(err.partial.length, 2);
 * assertEquals(err.message, "2 bytes read on a total of 4 expected bytes");
 * ```
 */
export class IncompleteReadError extends Error {
  /** The bytes read before the end of the stream. */
  readonly partial: Uint8Array;
  /** How many bytes were wanted, or `null` when reading up to a separator. */
  readonly expected: number | null;

  /**
   * Creates an incomplete-read error.
   *
   * @param partial The bytes read before the end of the stream.
   * @param expected The number of bytes wanted, or `null` for a separator.
   */
  constructor(partial: Uint8Array, expected: number | null) {
    super(
      `${partial.length} bytes read on a total of ${
        expected === null ? "undefined" : expected
      } expected bytes`,
    );
    this.name = "IncompleteReadError";
    this.partial = partial;
    this.expected = expected;
  }
}

/**
 * Raised when a separator is not found within the reader's `limit`. The data
 * stays in the reader's buffer; `consumed` says how many bytes would have to
 * be consumed to make progress.
 *
 * @example
 * ```ts
 * import { LimitOverrunError } from "@aio/asyncio";
 * import { assertEquals } from "@std/assert";
 *
 * const err = new LimitOverrunError("Separator is not found, and chunk exceed the limit", 70_000);
 * assertEquals(err.consumed, 70_000);
 * ```
 */
export class LimitOverrunError extends Error {
  /** The number of bytes to consume before a read could succeed. */
  readonly consumed: number;

  /**
   * Creates a limit-overrun error.
   *
   * @param message What exceeded the limit.
   * @param consumed The number of bytes that would need to be consumed.
   */
  constructor(message: string, consumed: number) {
    super(message);
    this.name = "LimitOverrunError";
    this.consumed = consumed;
  }
}

/**
 * Raised by `Queue.getNowait()` when the queue is empty.
 *
 * @example
 * ```ts
 * import { QueueEmpty } from "@aio/asyncio";
 * import { assertInstanceOf } from "@std/assert";
 *
 * assertInstanceOf(new QueueEmpty(), Error);
 * ```
 */
export class QueueEmpty extends Error {
  /**
   * Creates a queue-empty error.
   *
   * @param message Details of the failed operation.
   */
  constructor(message = "The queue is empty") {
    super(message);
    this.name = "QueueEmpty";
  }
}

/**
 * Raised by `Queue.putNowait()` when the queue is at its `maxsize`.
 *
 * @example
 * ```ts
 * import { QueueFull } from "@aio/asyncio";
 * import { assertInstanceOf } from "@std/assert";
 *
 * assertInstanceOf(new QueueFull(), Error);
 * ```
 */
export class QueueFull extends Error {
  /**
   * Creates a queue-full error.
   *
   * @param message Details of the failed operation.
   */
  constructor(message = "The queue is full") {
    super(message);
    this.name = "QueueFull";
  }
}

/**
 * Raised by queue operations after `Queue.shutdown()`.
 *
 * @example
 * ```ts
 * import { QueueShutDown } from "@aio/asyncio";
 * import { assertInstanceOf } from "@std/assert";
 *
 * assertInstanceOf(new QueueShutDown(), Error);
 * ```
 */
export class QueueShutDown extends Error {
  /**
   * Creates a queue-shut-down error.
   *
   * @param message Details of the failed operation.
   */
  constructor(message = "The queue is shut down") {
    super(message);
    this.name = "QueueShutDown";
  }
}

/**
 * Raised by `Barrier.wait()` when the barrier is reset or aborted while
 * tasks wait on it.
 *
 * @example
 * ```ts
 * import { BrokenBarrierError } from "@aio/asyncio";
 * import { assertInstanceOf } from "@std/assert";
 *
 * assertInstanceOf(new BrokenBarrierError(), Error);
 * ```
 */
export class BrokenBarrierError extends Error {
  /**
   * Creates a broken-barrier error.
   *
   * @param message Details of how the barrier broke.
   */
  constructor(message = "The barrier is broken") {
    super(message);
    this.name = "BrokenBarrierError";
  }
}
