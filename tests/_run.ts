/**
 * Test helper: run a Deno program in a subprocess and capture its output.
 *
 * @module
 */

/** The exit code and decoded output of a finished program. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** How long a program may run before it is killed and the test fails. */
const TIME_LIMIT_MS = 120_000;

/**
 * Runs `deno run --no-lock <args...>` (the environment is inherited, so the
 * offline std mirror applies too) and waits for it to end. A program still
 * running after `timeLimitMs` is killed, and the call throws with what it
 * printed: a hang fails its test instead of stalling the suite.
 *
 * @param args Permission flags, the script and its arguments.
 * @param timeLimitMs How long the program may run.
 * @returns Its exit code and output.
 */
export async function runDeno(args: string[], timeLimitMs = TIME_LIMIT_MS): Promise<RunResult> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeLimitMs);
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-lock", ...args],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
      signal: controller.signal,
    }).output();
    const dec = new TextDecoder();
    const result = {
      code: out.code,
      stdout: dec.decode(out.stdout),
      stderr: dec.decode(out.stderr),
    };
    if (controller.signal.aborted) {
      throw new Error(
        `deno run ${args.join(" ")} was still running after ${timeLimitMs} ms and was killed; ` +
          `it printed:\n${result.stdout}${result.stderr}`,
      );
    }
    return result;
  } finally {
    clearTimeout(timer);
  }
}
