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

/**
 * Runs `deno run --no-lock <args...>` (the environment is inherited, so the
 * offline std mirror applies too) and waits for it to end.
 *
 * @param args Permission flags, the script and its arguments.
 * @returns Its exit code and output.
 */
export async function runDeno(args: string[]): Promise<RunResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-lock", ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}
