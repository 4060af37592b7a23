/**
 * Timers without `setTimeout`'s 2^31−1 ms ceiling. Internal.
 *
 * @module
 */

/** The longest delay `setTimeout` honours; longer ones fire at once. */
const MAX_DELAY = 2 ** 31 - 1;

/** A pending timer; `clear()` cancels it and is safe to call twice. */
export interface Delay {
  clear(): void;
}

const NEVER: Delay = { clear() {} };

/**
 * Calls `fn` after `ms` milliseconds (`Infinity`: never). The global
 * `setTimeout` is looked up at each call, so fake clocks apply.
 */
export function setDelay(fn: () => void, ms: number): Delay {
  if (ms === Infinity) return NEVER;
  if (ms <= MAX_DELAY) {
    const id = setTimeout(fn, ms);
    return { clear: () => clearTimeout(id) };
  }
  let id = setTimeout(function step() {
    ms -= MAX_DELAY;
    id = setTimeout(ms > MAX_DELAY ? step : fn, Math.min(ms, MAX_DELAY));
  }, MAX_DELAY);
  return { clear: () => clearTimeout(id) };
}

/**
 * aio's one clock: monotonic milliseconds since an arbitrary origin, with
 * sub-millisecond precision. `performance.now` is looked up at each call, so
 * a fake clock applies. Every deadline (`callAt`, `timeoutAt`, a `Timeout`)
 * is absolute on it; the wall clock (`Date.now()`) is never read.
 */
export function now(): number {
  return performance.now();
}

/**
 * How far below a whole millisecond a delay may be and still count as it:
 * `(t + 50) - t` can come out as 50.000000000007 in floating point, and
 * must arm a 50 ms timer, not 51.
 */
export const ROUNDING_NOISE = 1e-6;

/**
 * The delay until `when` on the {@linkcode now} clock, rounded up so that a
 * timer never fires before its deadline (beyond floating-point noise); 0
 * when it has passed.
 */
export function delayUntil(when: number): number {
  const ms = Math.ceil(when - now() - ROUNDING_NOISE);
  return ms > 0 ? ms : 0;
}

/**
 * Checks a delay in milliseconds: a number, not NaN. Negative delays count as
 * zero, as in asyncio. Returns the delay to use.
 */
export function checkDelay(ms: unknown, what: string, name = "ms"): number {
  if (typeof ms !== "number" || Number.isNaN(ms)) {
    throw new TypeError(
      `${what}: '${name}' must be a number of milliseconds: current value is ${String(ms)}`,
    );
  }
  return ms < 0 ? 0 : ms;
}
