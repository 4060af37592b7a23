/**
 * The live progress line (files, bytes, the recent rate, the time left) on
 * a terminal, plain log lines otherwise.
 *
 * @module
 */
import { formatBytes, formatDuration } from "../_shared/mod.ts";
import { fitWidth, terminalColumns } from "./terminal.ts";
import type { DownloadEvent, DownloadResult } from "./types.ts";

const encoder = new TextEncoder();

/** How far back the rate shown looks: long enough to be steady, short enough to follow changes. */
const RATE_WINDOW_MS = 5000;

/**
 * Shows progress: on a terminal, one status line redrawn ten times a
 * second (files done/total, bytes, the rate over the last few seconds, the
 * time left at that rate, the active downloads), with retries and failures
 * printed above it; otherwise one plain line per event.
 */
export class ProgressReporter {
  readonly #results: readonly DownloadResult[];
  readonly #tty: boolean;
  readonly #quiet: boolean;
  readonly #out: (line: string) => void;
  readonly #now: () => number;
  /** `[time, bytes received]` samples of the last {@linkcode RATE_WINDOW_MS}. */
  readonly #samples: [number, number][] = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  #drawn = false;

  /**
   * Creates a reporter.
   *
   * @param results The downloads' live results.
   * @param options `tty`: draw a live line (default: whether stderr is a
   * terminal); `quiet`: print nothing; `out`: where lines go (default
   * stderr); `now`: the clock in ms (default `performance.now`), for tests.
   */
  constructor(
    results: readonly DownloadResult[],
    options: {
      tty?: boolean;
      quiet?: boolean;
      out?: (line: string) => void;
      now?: () => number;
    } = {},
  ) {
    this.#results = results;
    this.#tty = options.tty ?? Deno.stderr.isTerminal();
    this.#quiet = options.quiet ?? false;
    this.#out = options.out ?? ((line) => console.error(line));
    this.#now = options.now ?? (() => performance.now());
    this.sample();
  }

  /** Starts the live line (on a terminal). */
  start(): void {
    if (this.#tty && !this.#quiet) this.#timer = setInterval(() => this.#draw(), 100);
  }

  /** Stops the live line and erases it. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#clear();
  }

  /**
   * Reports one event.
   *
   * @param event What happened.
   */
  onEvent = (event: DownloadEvent): void => {
    if (this.#quiet) return;
    const r = event.result;
    let line: string | undefined;
    if (event.type === "retry") {
      line = `retry  ${r.name}: ${event.reason}; attempt ${r.attempts + 1} in ${
        formatDuration(event.delay)
      }`;
    } else if (event.type === "done" && r.state === "failed") {
      line = `FAILED ${r.name || r.url}: ${r.error}`;
    } else if (event.type === "done" && !this.#tty) {
      line = `done   ${r.name}  ${formatBytes(r.bytes)}  ${formatDuration(r.ms)}`;
    }
    if (line === undefined) return;
    this.#clear();
    this.#out(line);
    if (this.#timer !== undefined) this.#draw();
  };

  /** Records how many bytes have arrived by now, for the rate; the live line does it each redraw. */
  sample(): void {
    const now = this.#now();
    const received = this.#results.reduce((sum, r) => sum + r.received, 0);
    this.#samples.push([now, received]);
    while (this.#samples.length > 2 && now - this.#samples[1][0] >= RATE_WINDOW_MS) {
      this.#samples.shift();
    }
  }

  /** Bytes per second over the last few seconds (since the first sample when younger). */
  rate(): number {
    const [t0, b0] = this.#samples[0];
    const [t1, b1] = this.#samples[this.#samples.length - 1];
    return t1 > t0 ? ((b1 - b0) * 1000) / (t1 - t0) : 0;
  }

  /**
   * The status line: files done/total, bytes, the recent rate, the time
   * left at that rate (`?` while a size is unknown or nothing arrives),
   * then each active download's share, or its bytes when its size is
   * unknown.
   */
  statusLine(): string {
    const results = this.#results;
    let done = 0;
    let bytes = 0;
    let left = 0;
    let unknown = false;
    const active: string[] = [];
    for (const r of results) {
      const finished = r.state === "ok" || r.state === "failed" || r.state === "cancelled";
      if (finished) done++;
      bytes += r.bytes;
      if (!finished) {
        if (r.total === null) unknown = true;
        else left += Math.max(0, r.total - r.bytes);
      }
      if (r.state === "active") {
        active.push(
          r.total
            ? `${r.name} ${Math.floor((100 * r.bytes) / r.total)}%`
            : `${r.name} ${formatBytes(r.bytes)}`,
        );
      }
    }
    const rate = this.rate();
    // To the second: a countdown in milliseconds only flickers.
    const eta = unknown || rate <= 0 ? "?" : formatDuration(1000 * Math.ceil(left / rate));
    const width = String(results.length).length;
    return `[${String(done).padStart(width)}/${results.length}] ${formatBytes(bytes)}  ` +
      `${formatBytes(Math.round(rate))}/s  ETA ${eta}  ${active.join(", ")}`.trimEnd();
  }

  #draw(): void {
    this.sample();
    const text = fitWidth(this.statusLine(), terminalColumns(Deno.stderr) - 1, "end");
    Deno.stderr.writeSync(encoder.encode(`\r\x1b[2K${text}`));
    this.#drawn = true;
  }

  #clear(): void {
    if (!this.#drawn) return;
    Deno.stderr.writeSync(encoder.encode("\r\x1b[2K"));
    this.#drawn = false;
  }
}
