/**
 * The table printed when every download has ended.
 *
 * @module
 */
import { unicodeWidth } from "@std/cli/unicode-width";
import { formatBytes, formatDuration } from "../_shared/mod.ts";
import { fitWidth } from "./terminal.ts";
import type { DownloadResult } from "./types.ts";

/**
 * The final table: one row per URL (result, file, size, time, attempts,
 * and what went wrong), then the totals. Names longer than the room left
 * on a line of `columns` are shortened in the middle.
 *
 * @param results The downloads' results.
 * @param elapsed Milliseconds the whole run took.
 * @param columns The line width to fit the name column to; default 100.
 * @returns The table as text.
 */
export function summaryTable(
  results: readonly DownloadResult[],
  elapsed: number,
  columns = 100,
): string {
  const rows = results.map((r) => [
    String(r.index + 1),
    r.state === "ok" ? "ok" : r.state.toUpperCase(),
    r.name || "-",
    r.state === "ok" ? formatBytes(r.bytes) : "-",
    formatDuration(r.ms),
    String(r.attempts),
    [
      r.resumedFrom > 0 ? `resumed from ${formatBytes(r.resumedFrom)}` : "",
      r.kept > 0 ? `${formatBytes(r.kept)} kept in .part for --continue` : "",
      r.state === "ok"
        ? (r.problems.length ? `retried (${r.problems.join("; ")})` : "")
        : (r.error ?? ""),
    ].filter(Boolean).join("; "),
  ]);
  const header = ["#", "result", "file", "size", "time", "tries", "notes"];
  const widthOf = (i: number) =>
    Math.max(header[i].length, ...rows.map((row) => unicodeWidth(row[i])));
  // The name column gets what the other columns leave (of the notes, their
  // header), at least 12.
  const others = [0, 1, 3, 4, 5].reduce((sum, i) => sum + widthOf(i) + 2, 0);
  const nameRoom = Math.max(12, columns - others - 2 - header[6].length);
  for (const row of rows) row[2] = fitWidth(row[2], nameRoom, "middle");
  const widths = header.map((_, i) => widthOf(i));
  const right = new Set([0, 3, 4, 5]);
  const pad = (cell: string, i: number) => {
    const fill = " ".repeat(Math.max(0, widths[i] - unicodeWidth(cell)));
    return right.has(i) ? fill + cell : cell + fill;
  };
  const format = (row: string[]) => row.map(pad).join("  ").trimEnd();
  const ok = results.filter((r) => r.state === "ok");
  const failed = results.filter((r) => r.state === "failed").length;
  const cancelled = results.length - ok.length - failed;
  const bytes = ok.reduce((sum, r) => sum + r.bytes, 0);
  // The rate of what this run fetched: resumed bytes came earlier.
  const fetched = ok.reduce((sum, r) => sum + r.received, 0);
  const rate = elapsed > 0 ? formatBytes(Math.round((fetched * 1000) / elapsed)) : "?";
  const totals = [
    `${ok.length} of ${results.length} files downloaded`,
    failed ? `${failed} failed` : "",
    cancelled ? `${cancelled} cancelled` : "",
  ].filter(Boolean).join(", ");
  return [
    format(header),
    ...rows.map(format),
    `${totals}: ${formatBytes(bytes)} in ${formatDuration(elapsed)} (${rate}/s)`,
  ].join("\n");
}
