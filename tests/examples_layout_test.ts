/**
 * The examples' layout: each example folder (`http/`, `downloader/`,
 * `redis/`, `mysql/`, `_shared/`...) is reached from outside only through
 * its `mod.ts`, and aio only through the root `mod.ts`.
 *
 * @module
 */
import { assertEquals } from "@std/assert";
import { dirname, fromFileUrl, join, relative, resolve } from "@std/path";

const ROOT = resolve(dirname(fromFileUrl(import.meta.url)), "..");
const EXAMPLES = join(ROOT, "examples");

/** Every `.ts` file below `dir`, as absolute paths. */
async function sources(dir: string): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) files.push(...await sources(path));
    else if (entry.name.endsWith(".ts")) files.push(path);
  }
  return files.sort();
}

/** The example folder a file belongs to (`""` for the programs at the top). */
function unitOf(path: string): string {
  const parts = relative(EXAMPLES, path).split(/[\\/]/);
  return parts.length > 1 ? parts[0] : "";
}

/** The relative module specifiers of `import`, `export ... from` and `import()`, doc examples included. */
function specifiers(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/(?:\bfrom|\bimport)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)) {
    found.push(m[1]);
  }
  return found;
}

/**
 * The imports in `file` that reach into another example folder past its
 * `mod.ts`, or into aio past the root `mod.ts`, as `file -> target`.
 */
export function violations(file: string, text: string): string[] {
  const bad: string[] = [];
  for (const spec of specifiers(text)) {
    const target = resolve(dirname(file), spec);
    const inExamples = !relative(EXAMPLES, target).startsWith("..");
    const allowed = inExamples
      ? unitOf(target) === unitOf(file) || (unitOf(target) !== "" &&
        target === join(EXAMPLES, unitOf(target), "mod.ts"))
      : target === join(ROOT, "mod.ts");
    if (!allowed) bad.push(`${relative(ROOT, file)} -> ${relative(ROOT, target)}`);
  }
  return bad;
}

Deno.test("examples reach other example folders and aio only through their mod.ts", async () => {
  const bad: string[] = [];
  for (const file of await sources(EXAMPLES)) {
    bad.push(...violations(file, await Deno.readTextFile(file)));
  }
  assertEquals(bad, []);
});

Deno.test("the layout check sees an import past a folder's mod.ts", () => {
  const file = join(EXAMPLES, "downloader", "retry.ts");
  assertEquals(
    violations(
      file,
      [
        'import { HttpClient } from "../http/mod.ts";',
        'import { BodyReader } from "../http/body.ts";',
        'export { checkNumber } from "../_shared/check.ts";',
        'import { StreamReader } from "../../src/stream_reader.ts";',
        'import { time } from "../../mod.ts";',
        'import { PartFile } from "./part_file.ts";',
      ].join("\n"),
    ),
    [
      "examples/downloader/retry.ts -> examples/http/body.ts",
      "examples/downloader/retry.ts -> examples/_shared/check.ts",
      "examples/downloader/retry.ts -> src/stream_reader.ts",
    ],
  );
});
