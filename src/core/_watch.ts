/**
 * Watching awaitables settle without retrieving or linking them. Internal.
 *
 * @module
 */

import { Future } from "./future.ts";

/** How an awaitable ended. */
export type Outcome =
  | { ok: true; value: unknown }
  | { ok: false; error: unknown; cancelled: boolean };

/**
 * Calls `onDone` once `awaitable` settles. A future is watched through a
 * done-callback, so it is not linked to the caller's task (cancelling the
 * watcher does not cancel it); anything else through `then`. Returns an
 * unwatch function.
 */
export function watch(awaitable: unknown, onDone: (outcome: Outcome) => void): () => void {
  if (awaitable instanceof Future) {
    const cb = (f: Future<unknown>) => {
      let outcome: Outcome;
      try {
        outcome = { ok: true, value: f.result() };
      } catch (error) {
        outcome = { ok: false, error, cancelled: f.cancelled() };
      }
      onDone(outcome);
    };
    awaitable.addDoneCallback(cb);
    return () => void awaitable.removeDoneCallback(cb);
  }
  let active = true;
  Promise.resolve(awaitable).then(
    (value) => active && onDone({ ok: true, value }),
    (error) => active && onDone({ ok: false, error, cancelled: false }),
  );
  return () => {
    active = false;
  };
}
