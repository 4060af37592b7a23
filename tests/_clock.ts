/**
 * A fake clock for aio's deadlines: `FakeTime` fakes the timers and `Date`;
 * this also makes `performance.now()` (the clock behind aio's `time()`)
 * follow it, so deadlines read from `time()` and the timers that fire them
 * move together, and it can set the wall clock (`Date.now()`) apart from
 * both, as a user or NTP setting the system time would.
 *
 * @module
 */

import { FakeTime } from "@std/testing/time";

/** `FakeTime`, plus `performance.now()` driven by it, until disposed. */
export class FakeClock implements Disposable {
  readonly #time: FakeTime = new FakeTime();

  constructor() {
    const origin: number = this.#time.now;
    // A whole number, so that fake times stay exact: with a fractional start,
    // (start + 20) - start can read 19.999999999999886.
    const start = Math.round(performance.now());
    Object.defineProperty(performance, "now", {
      configurable: true,
      writable: true,
      value: () => start + (this.#time.now - origin),
    });
  }

  /** Advances the clock by `ms`, running the timers due, and the microtasks after each. */
  async tickAsync(ms: number): Promise<void> {
    await this.#time.tickAsync(ms);
  }

  /**
   * Moves `Date.now()` by `ms` (negative: back) without moving the timers or
   * `performance.now()`. Undone on dispose.
   */
  jumpWallClock(ms: number): void {
    const wall = globalThis.Date;
    globalThis.Date = new Proxy(wall, {
      get: (target, key, receiver) =>
        key === "now" ? () => wall.now() + ms : Reflect.get(target, key, receiver),
    });
  }

  /** Restores the real timers, `Date` and `performance.now()`. */
  [Symbol.dispose](): void {
    delete (performance as { now?: unknown }).now;
    this.#time.restore();
  }
}
