/**
 * Text for a terminal: its width, and text cut to fit it.
 *
 * @module
 */
import { unicodeWidth } from "@std/cli/unicode-width";

/** The width of the terminal `stream` is, or 80 when it is not one. */
export function terminalColumns(stream: { isTerminal(): boolean }): number {
  try {
    if (stream.isTerminal()) return Deno.consoleSize().columns || 80;
  } catch {
    // Not a terminal after all.
  }
  return 80;
}

/**
 * `text` cut to at most `columns` terminal columns (wide characters count
 * two, marks none): at the end, or in the middle for names, whose ends tell
 * them apart; `…` marks the cut.
 *
 * @param text The text.
 * @param columns The most columns it may take (at least 1).
 * @param where `"end"` or `"middle"`.
 * @returns The text, cut when needed.
 */
export function fitWidth(text: string, columns: number, where: "end" | "middle"): string {
  if (unicodeWidth(text) <= columns) return text;
  const chars = [...text];
  const take = (from: string[], room: number) => {
    let out = "";
    for (const c of from) {
      const w = unicodeWidth(c);
      if (w > room) break;
      room -= w;
      out += c;
    }
    return out;
  };
  const room = Math.max(0, columns - 1);
  if (where === "end") return `${take(chars, room)}…`;
  const head = take(chars, Math.ceil(room / 2));
  const tail = [...take([...chars].reverse(), Math.floor(room / 2))].reverse().join("");
  return `${head}…${tail}`;
}
