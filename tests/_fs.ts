/**
 * Test helper: what a directory holds.
 *
 * @module
 */

/** The names in `dir`, sorted. */
export async function list(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}
