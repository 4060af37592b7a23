/**
 * Flake hunter, run on demand: the whole test task N times in a row,
 * optionally with a CPU hog busy on one core, and what failed in each run.
 *
 *     deno task flake [--runs N] [--hog] [--task NAME]
 *
 * Defaults: 5 runs of `deno task test`, no hog. `--hog` starts one child
 * process that spins on one core for as long as the runs last (a 2-core
 * machine then has one core left for the suite, as on a busy CI runner);
 * it is stopped when the hunt ends, however it ends (Ctrl-C and SIGTERM included).
 *
 * For each run it prints the wall time and the summary line; for a failed
 * run, each failed test's name and location and the first lines of its
 * error. It ends with "N runs, K failed" and exits with 1 if any run failed.
 *
 * @module
 */

interface Options {
  runs: number;
  hog: boolean;
  task: string;
}

/** Lines of each failure's error to print. */
const ERROR_LINES = 8;

function parseArgs(args: string[]): Options {
  const options: Options = { runs: 5, hog: false, task: "test" };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--hog") options.hog = true;
    else if (arg === "--runs") {
      const value = args[++i];
      const runs = Number(value);
      if (!Number.isSafeInteger(runs) || runs < 1) {
        throw new RangeError(
          `Cannot hunt: '--runs' must be a positive integer: current value is ${value}`,
        );
      }
      options.runs = runs;
    } else if (arg === "--task") {
      const value = args[++i];
      if (value === undefined || value === "") {
        throw new TypeError("Cannot hunt: '--task' must name a deno task: current value is empty");
      }
      options.task = value;
    } else if (arg === "--help" || arg === "-h") {
      console.log("Usage: deno task flake [--runs N] [--hog] [--task NAME]");
      Deno.exit(0);
    } else throw new TypeError(`Cannot hunt: unknown argument '${arg}'`);
  }
  return options;
}

/** One failed test: its name and location, and the first lines of its error. */
export interface Failure {
  test: string;
  error: string[];
}

/**
 * The failures a `deno test` report lists (colours off): each entry of its
 * ERRORS section is a "name => file:line:col" line and the error under it.
 *
 * @param report The whole output of `deno test`.
 * @returns The failures, in report order.
 */
export function failuresOf(report: string): Failure[] {
  const lines = report.split("\n");
  const start = lines.findIndex((l) => l.trim() === "ERRORS");
  if (start < 0) return [];
  const failures: Failure[] = [];
  for (let i = start + 1; i < lines.length; i++) {
    const line = lines[i];
    if (line.trim() === "FAILURES") break;
    if (/ => \S+:\d+:\d+$|^\S+ \(uncaught error\)$/.test(line)) {
      failures.push({ test: line, error: [] });
    } else if (failures.length > 0 && line.trim() !== "") {
      const error = failures[failures.length - 1].error;
      if (error.length < ERROR_LINES) error.push(line);
    }
  }
  return failures;
}

/** Deno's closing line ("ok | 651 passed | 0 failed (2m35s)"), if any. */
function summaryOf(report: string): string | undefined {
  return report.split("\n").findLast((l) => /^(ok|FAILED) \| \d+ passed/.test(l));
}

/** A process spinning on one core until it is killed. */
function startHog(): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["eval", "for (;;) {}"],
    detached: true,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
}

/**
 * Kills a child and everything it started: each child runs in a process
 * group of its own (`detached`), and the whole group is killed, so a test
 * run's `deno test` grandchild is not left running.
 */
async function stop(child: Deno.ChildProcess | undefined): Promise<void> {
  if (child === undefined) return;
  try {
    Deno.kill(-child.pid, "SIGKILL");
  } catch {
    // The group has already ended.
  }
  await child.status;
}

interface Run {
  ok: boolean;
  seconds: number;
  summary: string;
  failures: Failure[];
}

async function runOnce(task: string, running: Set<Deno.ChildProcess>): Promise<Run> {
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", task],
    detached: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  running.add(child);
  try {
    // Both pipes are read to the end while the suite runs.
    const [out, err, status] = await Promise.all([
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
      child.status,
    ]);
    const report = `${out}\n${err}`;
    const failures = failuresOf(report);
    const ok = status.success;
    const summary = summaryOf(report) ??
      `no test summary (exit code ${status.code}); last lines:\n${
        report.trimEnd().split("\n").slice(-ERROR_LINES).join("\n")
      }`;
    return { ok, seconds: (performance.now() - started) / 1000, summary, failures };
  } finally {
    running.delete(child);
  }
}

async function main(): Promise<number> {
  const options = parseArgs(Deno.args);
  const running = new Set<Deno.ChildProcess>();
  let hog: Deno.ChildProcess | undefined;
  // Ctrl-C or a kill stops the current run and the hog too: neither may be
  // left spinning after the hunt.
  const signals = ["SIGINT", "SIGTERM"] as const;
  const interrupted = async () => {
    console.log("interrupted: stopping the runs and the hog");
    await Promise.all([...running, hog].map(stop));
    Deno.exit(130);
  };
  for (const signal of signals) Deno.addSignalListener(signal, interrupted);
  try {
    if (options.hog) {
      hog = startHog();
      console.log(`hog: pid ${hog.pid} spins on one core until the hunt ends`);
    }
    let failed = 0;
    const times: number[] = [];
    for (let i = 1; i <= options.runs; i++) {
      const run = await runOnce(options.task, running);
      times.push(run.seconds);
      if (!run.ok) failed++;
      console.log(
        `run ${i}/${options.runs}: ${run.ok ? "ok" : "FAILED"} in ${
          run.seconds.toFixed(1)
        } s | ${run.summary}`,
      );
      for (const failure of run.failures) {
        console.log(`  failed: ${failure.test}`);
        for (const line of failure.error) console.log(`    ${line}`);
      }
    }
    const mean = times.reduce((a, b) => a + b, 0) / times.length;
    console.log(
      `wall time per run: ${times.map((t) => t.toFixed(1)).join(", ")} s ` +
        `(mean ${mean.toFixed(1)} s)${options.hog ? ", with the hog on one core" : ""}`,
    );
    console.log(`${options.runs} runs, ${failed} failed`);
    return failed === 0 ? 0 : 1;
  } finally {
    for (const signal of signals) Deno.removeSignalListener(signal, interrupted);
    await stop(hog);
  }
}

if (import.meta.main) Deno.exit(await main());
