/**
 * Test helpers: run a Deno program in a subprocess and capture its output,
 * or start one and read its output up to a line.
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

/** `deno run --no-lock <args...>` with its output piped and colours off. */
function denoCommand(args: string[], options: Deno.CommandOptions = {}): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-lock", ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
    ...options,
  });
}

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
    const out = await denoCommand(args, { signal: controller.signal }).output();
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

/**
 * Starts `deno run --no-lock <args...>` as {@linkcode runDeno} does (stdout
 * and stderr piped, `NO_COLOR` set) and returns at once. The caller reads its
 * output (see {@linkcode readUntil}) and waits for its `status`.
 *
 * @param args Permission flags, the script and its arguments.
 * @param options `stdin: "piped"` to write to the program.
 * @returns The running program.
 */
export function spawnDeno(
  args: string[],
  options: { stdin?: "piped" | "inherit" | "null" } = {},
): Deno.ChildProcess {
  return denoCommand(args, options).spawn();
}

/**
 * Reads `reader` until the text read by this call satisfies `done`, or the
 * stream ends, and returns that text (UTF-8). If neither happens within
 * `ms`, the reader is cancelled and the call rejects, naming what it waited
 * for and what it read: a program that never prints the line fails its test
 * instead of stalling it.
 *
 * @param reader A reader of a program's stdout or stderr.
 * @param done Whether the text so far is what the caller waits for.
 * @param ms How long to wait.
 * @returns The text read, up to and including the chunk that satisfied
 *   `done`, or all of it when the stream ended first.
 */
export async function readUntil(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  done: (text: string) => boolean,
  ms = 30_000,
): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeUp = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(
        new Error(
          `waited ${ms} ms for output that satisfies ${done}; read only ${JSON.stringify(text)}`,
        ),
      );
      reader.cancel().catch(() => {});
    }, ms);
  });
  try {
    while (!done(text)) {
      const chunk = await Promise.race([reader.read(), timeUp]);
      if (chunk.done) return text + decoder.decode();
      text += decoder.decode(chunk.value, { stream: true });
    }
    return text;
  } finally {
    clearTimeout(timer);
  }
}
