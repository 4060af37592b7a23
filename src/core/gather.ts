/**
 * `gather`: run awaitables concurrently and collect their results in input
 * order, like `asyncio.gather`.
 *
 * @module
 */

import { CancelledError } from "./errors.ts";
import { defineLabel, Future, settleFuture, STATES } from "./future.ts";
import { watch } from "./_watch.ts";

/** Options for {@linkcode gather}. */
export interface GatherOptions {
  /**
   * Put failures in the results instead of rejecting with the first one
   * (cancellations appear as `CancelledError`s).
   */
  returnExceptions?: boolean;
}

/** The results of {@linkcode gather}, in input order. */
export type GatherResults<T extends readonly unknown[]> = {
  -readonly [K in keyof T]: Awaited<T[K]>;
};

/** The results of {@linkcode gather} with `returnExceptions`. */
export type GatherSettled<T extends readonly unknown[]> = {
  -readonly [K in keyof T]: Awaited<T[K]> | unknown;
};

/** Gives a new gathering its children; set by `GatheringFuture`. */
let startGathering: (gathering: GatheringFuture<unknown>, children: unknown[]) => void;
/** Whether `cancel()` was called; set by `GatheringFuture`. */
let cancelRequested: (gathering: GatheringFuture<unknown>) => boolean;
/** A child that is not a future has settled; set by `GatheringFuture`. */
let plainSettled: (gathering: GatheringFuture<unknown>) => void;

/**
 * The future {@linkcode gather} returns: cancelling it cancels every child
 * task or future still running; it then rejects with `CancelledError` once
 * they have all ended.
 *
 * @typeParam T The results' type.
 *
 * @example
 * ```ts
 * import { gather, GatheringFuture } from "@aio/asyncio";
 * import { assertInstanceOf } from "@std/assert";
 *
 * const all = gather([1, 2]);
 * assertInstanceOf(all, GatheringFuture);
 * await all;
 * ```
 */
export class GatheringFuture<T> extends Future<T> {
  #children: unknown[] = [];
  #cancelRequested = false;
  /** How many children that are not futures are still running. */
  #plainRunning = 0;

  static {
    startGathering = (gathering, children) => {
      gathering.#children = children;
      for (const child of children) if (!(child instanceof Future)) gathering.#plainRunning++;
    };
    cancelRequested = (gathering) => gathering.#cancelRequested;
    plainSettled = (gathering) => void gathering.#plainRunning--;
  }

  /**
   * Cancels every child that is a task or future and still running. When
   * every child has finished already, nothing is cancelled and the gather
   * keeps its results (asyncio's rule).
   *
   * @param message Passed on to the children.
   * @returns `true` if a child was cancelled, or if only plain promises are
   * left running (they cannot be stopped, so the gather itself is
   * cancelled); `false` if the gather or all its children are done.
   *
   * @example
   * ```ts
   * import { createTask, gather, sleep } from "@aio/asyncio";
   * import { assert } from "@std/assert";
   *
   * const a = createTask(() => sleep(60_000));
   * const all = gather([a]);
   * all.cancel();
   * await all.then(() => {}, () => {});
   * assert(a.cancelled() && all.cancelled());
   * ```
   */
  override cancel(message?: string): boolean {
    if (this.done()) return false;
    let any = false;
    for (const child of this.#children) {
      if (child instanceof Future && child.cancel(message)) any = true;
    }
    // `cancel()` is false only for a child already done. With every child
    // done, the gather keeps its outcome (asyncio); with only plain promises
    // left, which cannot be stopped, it settles as cancelled now; else it
    // ends as cancelled once the cancelled children have.
    if (!any) return this.#plainRunning > 0 && super.cancel(message);
    this.#cancelRequested = true;
    return true;
  }
}

defineLabel(GatheringFuture.prototype, () => "gather()");

/**
 * {@linkcode gather} with `returnExceptions: true`: failures (and
 * cancellations, as `CancelledError`) are put in the results instead of
 * rejecting.
 *
 * @typeParam T The awaitables' types.
 * @param awaitables The tasks, futures or promises.
 * @param options `{ returnExceptions: true }`.
 * @returns A {@linkcode GatheringFuture} for the results and failures.
 *
 * @example
 * ```ts
 * import { gather } from "@aio/asyncio";
 * import { assertEquals } from "@std/assert";
 *
 * const [ok, failed] = await gather([1, Promise.reject(new Error("no"))], {
 *   returnExceptions: true,
 * });
 * assertEquals(ok, 1);
 * assertEquals((failed as Error).message, "no");
 * ```
 */
export function gather<const T extends readonly unknown[]>(
  awaitables: T,
  options: GatherOptions & { returnExceptions: true },
): GatheringFuture<GatherSettled<T>>;
/**
 * Runs tasks, futures or promises concurrently and collects their results in
 * input order; asyncio's `asyncio.gather`. The first failure rejects the
 * gather (the others keep running), unless `returnExceptions` is set, which
 * puts failures in the results. The returned future links to the caller:
 * cancelling the gather, or the task awaiting it, cancels every child.
 *
 * @typeParam T The awaitables' types.
 * @param awaitables The tasks, futures or promises.
 * @param options `returnExceptions`.
 * @returns A {@linkcode GatheringFuture} for the results.
 *
 * @example
 * ```ts
 * import { createTask, gather, sleep } from "@aio/asyncio";
 * import { assertEquals } from "@std/assert";
 *
 * const [a, b] = await gather([
 *   createTask(() => sleep(20, { value: "a" })),
 *   sleep(5, { value: 2 }),
 * ]);
 * assertEquals([a, b], ["a", 2]);
 *
 * const settled = await gather([Promise.reject(new Error("x")), 1], { returnExceptions: true });
 * assertEquals((settled[0] as Error).message, "x");
 * ```
 */
export function gather<const T extends readonly unknown[]>(
  awaitables: T,
  options?: GatherOptions,
): GatheringFuture<GatherResults<T>>;
export function gather<const T extends readonly unknown[]>(
  awaitables: T,
  options?: GatherOptions,
): GatheringFuture<unknown[]> {
  const children = [...awaitables];
  const outer = new GatheringFuture<unknown[]>();
  startGathering(outer, children);
  const results = new Array<unknown>(children.length);
  let remaining = children.length;
  if (remaining === 0) {
    outer.setResult(results);
    return outer;
  }
  const returnExceptions = options?.returnExceptions ?? false;
  children.forEach((child, i) => {
    const plain = !(child instanceof Future);
    watch(child, (outcome) => {
      remaining--;
      if (plain) plainSettled(outer);
      if (outer.done()) return;
      if (outcome.ok) {
        results[i] = outcome.value;
      } else if (returnExceptions) {
        results[i] = outcome.error;
      } else if (!outcome.cancelled || !cancelRequested(outer)) {
        // The first failure (or a child cancelled by someone else) ends it.
        // asyncio: a child cancelled by someone else fails the gather with
        // CancelledError, without the gather itself counting as cancelled.
        settleFuture(outer, STATES.REJECTED, outcome.error);
        return;
      }
      if (remaining === 0) {
        if (cancelRequested(outer)) {
          settleFuture(outer, STATES.CANCELLED, new CancelledError("gather() was cancelled"));
        } else {
          settleFuture(outer, STATES.FULFILLED, results);
        }
      }
    });
  });
  return outer;
}
