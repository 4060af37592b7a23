/**
 * Test helpers: run a Deno program in a subprocess and capture its output,
 * or start one and watch its output.
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
 * output for its whole life (see {@linkcode watchOutput}) and waits for its
 * `status`.
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
 * Everything a stream says, read for its whole life. A child program whose
 * output nobody reads blocks once the pipe is full, and one whose reader was
 * cancelled dies of a broken pipe at its next write; so the watcher reads
 * until the stream ends, keeping all the text, and callers wait on the text
 * instead of reading the stream themselves.
 */
export class Watched {
  #text = "";
  #ended = false;
  #error: unknown = undefined;
  readonly #changed = new Set<() => void>();
  /** Settles (never rejects) once the stream has ended or failed. */
  readonly ended: Promise<void>;

  /**
   * Starts reading.
   *
   * @param stream A program's stdout or stderr.
   */
  constructor(stream: ReadableStream<Uint8Array>) {
    this.ended = this.#drain(stream);
  }

  async #drain(stream: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of stream) {
        this.#text += decoder.decode(chunk, { stream: true });
        this.#notify();
      }
      this.#text += decoder.decode();
    } catch (e) {
      this.#error = e;
    }
    this.#ended = true;
    this.#notify();
  }

  #notify(): void {
    for (const wake of [...this.#changed]) wake();
  }

  /** The text read so far (all of it, once {@linkcode ended} settled). */
  get text(): string {
    return this.#text;
  }

  /**
   * Waits until the text read so far satisfies `done`. Rejects, naming what
   * it waited for and what was read, if the stream ends first or `ms` pass:
   * a program that never prints the line fails its test instead of stalling
   * it. Reading goes on either way.
   *
   * @param done Whether the text so far is what the caller waits for.
   * @param ms How long to wait.
   * @returns The text read so far.
   */
  waitFor(done: (text: string) => boolean, ms = 30_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (done(this.#text)) {
          stop();
          resolve(this.#text);
        } else if (this.#ended) {
          stop();
          const why = this.#error === undefined
            ? "the stream ended"
            : `reading failed: ${this.#error}`;
          reject(
            new Error(
              `${why} before output satisfying ${done}; read ${JSON.stringify(this.#text)}`,
            ),
          );
        }
      };
      const timer = setTimeout(() => {
        stop();
        reject(
          new Error(
            `waited ${ms} ms for output satisfying ${done}; read ${JSON.stringify(this.#text)}`,
          ),
        );
      }, ms);
      const stop = () => {
        clearTimeout(timer);
        this.#changed.delete(check);
      };
      this.#changed.add(check);
      check();
    });
  }
}

/**
 * Watches both outputs of a child started with stdout and stderr piped
 * (see {@linkcode Watched}), from now until it ends.
 *
 * @param child The running program.
 * @returns Its stdout and stderr watchers.
 */
export function watchOutput(child: Deno.ChildProcess): { stdout: Watched; stderr: Watched } {
  return { stdout: new Watched(child.stdout), stderr: new Watched(child.stderr) };
}
