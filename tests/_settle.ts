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

/**
 * Rejects if `promise` takes longer than `ms`: a hang fails the test instead
 * of stalling it.
 *
 * @param promise What to wait for.
 * @param ms How long it may take.
 * @param what What it is, for the error message.
 * @returns Its value.
 */
export async function noHang<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} hung for ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Resolves once `check()` holds, asking again every few milliseconds
 * (timers, not the library's `sleep`, so a broken loop cannot fool it);
 * rejects after `ms`.
 *
 * @param check The condition.
 * @param what What the condition means, for the error message.
 * @param ms How long to wait.
 */
export async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  ms = 10_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`gave up after ${ms} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
