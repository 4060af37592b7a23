/**
 * The line of parked waits shared by the synchronisation primitives and the
 * queues, and the value formatting of their error messages. Internal.
 *
 * @module
 */

import { cancellable, throwIfCancelled } from "./cancellation.ts";

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

  /** Wakes every waiter, in order, with `value`; the line is left empty. */
  resolveAll(value: T): void {
    this.#takeAll((w) => w.resolve(value));
  }

  /** Fails every waiter, in order, each with a new error from `error`; the line is left empty. */
  rejectAll(error: () => unknown): void {
    this.#takeAll((w) => w.reject(error()));
  }

  /** Empties the line at once, then hands each former waiter to `wake`, in order. */
  #takeAll(wake: (w: Waiter<T>) => void): void {
    let w = this.#head;
    this.#head = this.#tail = undefined;
    this.size = 0;
    while (w) {
      const next = w.next;
      w.queued = false;
      w.prev = w.next = undefined;
      wake(w);
      w = next;
    }
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

/**
 * After a wait in a line that hands something over (the lock, a permit):
 * if the wait was cancelled since the hand-off, gives it on with `passOn`
 * instead of losing it, and throws the cancellation. Synchronous, so that
 * the waiter's own `await` is the only one.
 */
export function passOnIfCancelled(signal: AbortSignal | undefined, passOn: () => void): void {
  try {
    throwIfCancelled(signal);
  } catch (e) {
    passOn();
    throw e;
  }
}

/** Waits in `line` until woken, deaf to any cancellation. */
export function parkShielded(line: WaiterQueue<void>): Promise<void> {
  return new Promise<void>((resolve, reject) => void line.push(resolve, reject));
}
