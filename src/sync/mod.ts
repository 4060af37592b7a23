/**
 * The synchronisation layer, like asyncio's `locks` and `queues` modules:
 * {@linkcode Lock}, {@linkcode Event}, {@linkcode Condition},
 * {@linkcode Semaphore}, {@linkcode BoundedSemaphore}, {@linkcode Barrier}
 * and the queues. Every wait is fair and cancellable.
 *
 * @example
 * ```ts
 * import { Lock } from "@aio/asyncio/sync";
 * import { assert } from "@std/assert";
 *
 * const lock = new Lock();
 * {
 *   using _permit = await lock.acquire();
 *   assert(lock.locked());
 * }
 * assert(!lock.locked());
 * ```
 *
 * @module
 */
export type { Permit, SignalOptions } from "./permit.ts";
export { Lock } from "./lock.ts";
export { Event } from "./event.ts";
export { Condition } from "./condition.ts";
export { Semaphore } from "./semaphore.ts";
export { BoundedSemaphore } from "./bounded_semaphore.ts";
export { Barrier } from "./barrier.ts";
export {
  LifoQueue,
  PriorityQueue,
  type PriorityQueueOptions,
  Queue,
  type QueueOptions,
} from "./queues.ts";
