/**
 * The import direction of `src/` (see ARCHITECTURE.md): every file's
 * imports are read from its source text and checked against the layer
 * rule, so a file that reaches against the direction fails here, naming the
 * file and the import.
 *
 * @module
 */

import { assert, assertEquals, assertMatch, assertStrictEquals } from "@std/assert";
import { dirname, fromFileUrl, join, normalize, relative, SEPARATOR } from "@std/path";

const ROOT = normalize(join(dirname(fromFileUrl(import.meta.url)), ".."));

/** The layers, each with the layers it may import (besides itself). */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  core: [],
  sync: ["core"],
  streams: ["core"],
  net: ["core", "streams"],
  executor: ["core"],
};

/** Modules of the runtime that `src/` may import, by exact specifier. */
const BUILTINS: ReadonlySet<string> = new Set(["node:async_hooks", "node:net", "node:tls"]);

/**
 * Checks one import of a file in `src/`. Paths are relative to the project
 * root, with `/` separators.
 *
 * @param file The importing file, e.g. `src/sync/lock.ts`.
 * @param specifier The import as written, e.g. `../core/errors.ts`.
 * @returns Why the import is not allowed, or `undefined` when it is.
 */
export function importViolation(file: string, specifier: string): string | undefined {
  const from = file.split("/");
  if (from[0] !== "src" || from.length !== 3) {
    return `${file} is not in a layer folder (src/<layer>/<file>.ts)`;
  }
  const layer = from[1];
  if (!(layer in ALLOWED)) return `${file} is in src/${layer}, which is not a layer`;
  if (!specifier.startsWith("./") && !specifier.startsWith("../")) {
    return BUILTINS.has(specifier)
      ? undefined
      : `${file} imports ${specifier}: src imports only its own files and ${[...BUILTINS]}`;
  }
  const target = normalize(join(dirname(file), specifier)).split(SEPARATOR).join("/");
  const to = target.split("/");
  if (to[0] !== "src" || to.length !== 3) {
    return `${file} imports ${specifier} (${target}): outside the layers of src`;
  }
  const other = to[1];
  if (other === layer || ALLOWED[layer].includes(other)) return undefined;
  return `${file} imports ${specifier}: ${layer} may import ${
    [layer, ...ALLOWED[layer]].join(", ")
  }, not ${other}`;
}

/**
 * The specifiers a module imports or re-exports, statically or with
 * `import()` / `new URL(…, import.meta.url)`; JSDoc examples are skipped.
 */
export function importsOf(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const found: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\s[^;]*?\sfrom\s*["']([^"']+)["']/gm,
    /^\s*import\s*["']([^"']+)["']/gm,
    /\bimport\(\s*["']([^"']+)["']\s*\)/g,
    // A module URL assigned or returned, not one quoted in a message.
    /(?:=|\breturn)\s*new URL\(\s*["']([^"']+)["']\s*,\s*import\.meta\.url\s*\)/g,
  ];
  for (const pattern of patterns) {
    for (const match of code.matchAll(pattern)) found.push(match[1]);
  }
  return found;
}

async function sourceFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) files.push(...await sourceFiles(path));
    else if (entry.name.endsWith(".ts")) files.push(path);
  }
  return files.sort();
}

Deno.test("the rule refuses imports against the direction", () => {
  assertStrictEquals(importViolation("src/sync/lock.ts", "../core/errors.ts"), undefined);
  assertStrictEquals(
    importViolation("src/net/server.ts", "../streams/stream_reader.ts"),
    undefined,
  );
  assertStrictEquals(importViolation("src/net/connection.ts", "node:net"), undefined);
  assertStrictEquals(importViolation("src/core/task.ts", "./future.ts"), undefined);
  const refused: [string, string, RegExp][] = [
    ["src/core/task.ts", "../sync/lock.ts", /core may import core, not sync/],
    [
      "src/sync/queues.ts",
      "../streams/stream_reader.ts",
      /sync may import sync, core, not streams/,
    ],
    ["src/streams/stream_writer.ts", "../net/connection.ts", /not net/],
    ["src/streams/stream_reader.ts", "../executor/worker_pool.ts", /not executor/],
    ["src/executor/worker_pool.ts", "../streams/stream_writer.ts", /not streams/],
    ["src/net/server.ts", "../../examples/http/client.ts", /outside the layers of src/],
    ["src/core/errors.ts", "../../mod.ts", /outside the layers of src/],
    ["src/core/loop.ts", "jsr:@std/async@^1", /src imports only its own files/],
    ["src/core/loop.ts", "@std/async", /src imports only its own files/],
    ["src/helpers.ts", "./core/errors.ts", /not in a layer folder/],
    ["src/util/x.ts", "../core/errors.ts", /not a layer/],
  ];
  for (const [file, specifier, message] of refused) {
    assertMatch(importViolation(file, specifier) ?? "allowed", message, `${file} → ${specifier}`);
  }
});

Deno.test("importsOf finds every import form and skips JSDoc examples", () => {
  const source = [
    "/**",
    " * ```ts",
    ' * import { Lock } from "@aio/asyncio";',
    " * ```",
    " */",
    'import { a } from "./a.ts";',
    "import {",
    "  b,",
    "  type C,",
    '} from "../core/b.ts";',
    'import type { D } from "./d.ts";',
    'export { e } from "./e.ts";',
    'export * from "./f.ts";',
    'import "./g.ts";',
    'const h = await import("./h.ts");',
    'const i = new URL("./i.ts", import.meta.url);',
  ].join("\n");
  assertEquals(importsOf(source).sort(), [
    "../core/b.ts",
    "./a.ts",
    "./d.ts",
    "./e.ts",
    "./f.ts",
    "./g.ts",
    "./h.ts",
    "./i.ts",
  ]);
});

Deno.test("every file of src imports along the direction of the layers", async () => {
  const files = await sourceFiles(join(ROOT, "src"));
  const violations: string[] = [];
  let imports = 0;
  for (const path of files) {
    const file = relative(ROOT, path).split(SEPARATOR).join("/");
    for (const specifier of importsOf(await Deno.readTextFile(path))) {
      imports++;
      const violation = importViolation(file, specifier);
      if (violation) violations.push(violation);
    }
  }
  assertEquals(violations, []);
  // The scan saw the tree: every layer and a plausible number of imports.
  const layers = new Set(files.map((f) => relative(join(ROOT, "src"), f).split(SEPARATOR)[0]));
  assertEquals([...layers].sort(), Object.keys(ALLOWED).sort());
  assert(imports > 100, `only ${imports} imports found`);
});

Deno.test("mod.ts files only re-export, and a layer's mod.ts names what it re-exports", async () => {
  const mods = [
    join(ROOT, "mod.ts"),
    ...Object.keys(ALLOWED).map((l) => join(ROOT, "src", l, "mod.ts")),
  ];
  for (const path of mods) {
    const code = (await Deno.readTextFile(path)).replace(/\/\*[\s\S]*?\*\//g, "");
    const statements = code.split(";").map((s) => s.trim()).filter((s) => s !== "");
    for (const statement of statements) {
      assertMatch(
        statement,
        /^export\s[\s\S]*\sfrom\s*"[^"]+"$/,
        `${relative(ROOT, path)}: ${statement}`,
      );
    }
  }
  for (const layer of Object.keys(ALLOWED)) {
    const code = await Deno.readTextFile(join(ROOT, "src", layer, "mod.ts"));
    assert(!/^export \*/m.test(code), `src/${layer}/mod.ts re-exports a whole file`);
  }
});

Deno.test("no member of src is hidden from the docs by a tag: internals are off the public face", async () => {
  for (const path of await sourceFiles(join(ROOT, "src"))) {
    const code = await Deno.readTextFile(path);
    assert(!/@ignore\b/.test(code), `${relative(ROOT, path)} hides a member with @ignore`);
  }
});
