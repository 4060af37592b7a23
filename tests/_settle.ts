/**
 * Test helpers for code that parks tasks: let them reach their waits, and
 * read how they ended.
 *
 * @module
 */

/** Lets started tasks run up to their first real wait (one timer turn). */
export const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/** How a task ended: its value, or the name of what it threw. */
export const outcome = (
  task: PromiseLike<unknown>,
): Promise<{ value: unknown } | { error: string }> =>
  Promise.resolve(task).then(
    (value) => ({ value }),
    (e) => ({ error: e instanceof Error ? e.name : String(e) }),
  );
