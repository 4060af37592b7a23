/**
 * The line of parked waits shared by the synchronisation primitives and the
 * queues, and the value formatting of their error messages. Internal.
 *
 * @module
 */

import { cancellable } from "./cancellation.ts";

/** One parked wait: how to wake or fail it, and its place in the line. Internal. */
export interface Waiter<T> {
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
  prev: Waiter<T> | undefined;
  next: Waiter<T> | undefined;
  queued: boolean;
}

/**
 * A first-in first-out line of waiters, with O(1) removal from the middle
 * (a cancelled waiter leaves at once). Internal.
 */
export class WaiterQueue<T> {
  #head: Waiter<T> | undefined;
  #tail: Waiter<T> | undefined;
  size = 0;

  push(resolve: (value: T) => void, reject: (error: unknown) => void): Waiter<T> {
    const w: Waiter<T> = { resolve, reject, prev: this.#tail, next: undefined, queued: true };
    if (this.#tail) this.#tail.next = w;
    else this.#head = w;
    this.#tail = w;
    this.size++;
    return w;
  }

  shift(): Waiter<T> | undefined {
    const w = this.#head;
    if (w) this.delete(w);
    return w;
  }

  delete(w: Waiter<T>): void {
    if (!w.queued) return;
    w.queued = false;
    if (w.prev) w.prev.next = w.next;
    else this.#head = w.next;
    if (w.next) w.next.prev = w.prev;
    else this.#tail = w.prev;
    w.prev = w.next = undefined;
    this.size--;
  }
}

/** Waits in `line` until woken; cancellable; a cancelled wait leaves the line. */
export function park<T>(line: WaiterQueue<T>, signal: AbortSignal | undefined): Promise<T> {
  return cancellable<T>((resolve, reject) => {
    const w = line.push(resolve, reject);
    return () => line.delete(w);
  }, signal);
}

/** Waits in `line` until woken, deaf to any cancellation. */
export function parkShielded(line: WaiterQueue<void>): Promise<void> {
  return new Promise<void>((resolve, reject) => void line.push(resolve, reject));
}
